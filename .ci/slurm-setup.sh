#!/usr/bin/env bash
# CI: the single-node SLURM cluster that tests/test_slurm.py runs the workflow on. The tests
# never install or start it; without it they skip, saying to run this script.
#
#   .ci/slurm-setup.sh            install munge/slurm with apt-get if needed, start the daemons,
#                                 wait until `sinfo` shows the node idle
#   .ci/slurm-setup.sh stop       stop the daemons again (the packages stay installed: every
#                                 snakemake command then waits ~9 s, docs/cluster.md)
#   .ci/slurm-setup.sh teardown   stop the daemons, purge the packages if this script installed
#                                 them (recorded in /var/lib/tastemap-ci/slurm-installed) and
#                                 remove the files it created: the machine is as it was found
#
# Runs tests/slurm/cluster.sh start|stop|teardown. Exit 0 also where the cluster cannot exist
# (no apt-get, not root): the reason is printed and tests/test_slurm.py then skips. Any other
# failure exits non-zero.
set -uo pipefail
cd "$(dirname "$0")/.."

case ${1:-start} in
    start|stop|teardown) cmd=${1:-start} ;;
    *) echo "usage: $0 [start|stop|teardown]" >&2; exit 2 ;;
esac
bash tests/slurm/cluster.sh "$cmd"
rc=$?
if [[ $rc -eq 3 ]]; then
    if [[ $cmd == start ]]; then
        echo "slurm-setup: SLURM cluster not started (reason above); tests/test_slurm.py will be skipped" >&2
    else
        echo "slurm-setup: nothing to $cmd here (reason above)" >&2
    fi
    exit 0
fi
exit $rc
