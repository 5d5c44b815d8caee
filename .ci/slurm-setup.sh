#!/usr/bin/env bash
# CI: start (or stop) the single-node SLURM cluster that tests/test_slurm.py runs the workflow on.
#
#   .ci/slurm-setup.sh         install munge/slurm with apt-get if needed, start the daemons,
#                              wait until `sinfo` shows the node idle
#   .ci/slurm-setup.sh stop    stop the daemons again
#
# Exit 0 also where the cluster cannot exist (no apt-get, not root): the reason is printed and
# tests/test_slurm.py then skips with the same reason. Any other failure exits non-zero.
set -uo pipefail
cd "$(dirname "$0")/.."

if [[ ${1:-start} == stop ]]; then
    exec bash tests/slurm/cluster.sh stop
fi
bash tests/slurm/cluster.sh start
rc=$?
if [[ $rc -eq 3 ]]; then
    echo "slurm-setup: SLURM cluster not started (reason above); tests/test_slurm.py will be skipped" >&2
    exit 0
fi
exit $rc
