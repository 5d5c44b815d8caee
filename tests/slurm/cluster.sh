#!/usr/bin/env bash
# A real single-node SLURM cluster on this (Debian) machine, for the SLURM integration test.
#
#   tests/slurm/cluster.sh install   apt-get install munge slurmctld slurmd slurm-client
#   tests/slurm/cluster.sh start     install if needed, write slurm.conf, start munged,
#                                    slurmctld and slurmd, wait until `sinfo` shows the node idle
#   tests/slurm/cluster.sh status    exit 0 when the node answers idle/mixed/allocated
#   tests/slurm/cluster.sh stop      cancel jobs, stop the daemons this script started
#
# Needs root (apt-get, daemons). Exit codes: 0 ok; 1 failure (message says what);
# 3 "cannot run here" (no apt-get or not root): callers skip with the printed reason.
#
# The cluster: one node named after `hostname -s` on 127.0.0.1, CPUs=2, RealMemory from
# `slurmd -C`, no cgroups (ProctrackType=proctrack/linuxproc, TaskPlugin=task/none: VMs and
# containers often lack a writable cgroup tree), select/cons_tres with CPU+memory as consumables,
# no accounting database (so `sacct` is disabled: the Snakemake SLURM plugin must query with
# squeue, which sees finished jobs for MinJobAge=600 s). slurmctld runs as the `slurm` user the
# Debian package creates; slurmd runs as root (it must, to start jobs as the submitting user).
#
# Files: /etc/slurm/slurm.conf (only written when absent or written by this script),
# state in /var/lib/slurm, logs in /var/log/slurm, pid files in /run/slurm.
# Environment: SLURM_CPUS (default 2), SLURM_WAIT (seconds to wait for idle, default 60).
set -euo pipefail

CONF=/etc/slurm/slurm.conf
MARK="# written by tastemap tests/slurm/cluster.sh"
RUN=/run/slurm
LOGDIR=/var/log/slurm
CPUS=${SLURM_CPUS:-2}
WAIT=${SLURM_WAIT:-60}
PACKAGES=(munge slurmctld slurmd slurm-client)

say() { echo "slurm-cluster: $*" >&2; }
die() { say "ERROR: $*"; exit 1; }
cannot() { say "SKIP: $*"; exit 3; }

need_root() {
    [[ $(id -u) -eq 0 ]] || cannot "must run as root to install packages and start daemons (uid $(id -u))"
}

installed() {
    command -v slurmctld >/dev/null && command -v slurmd >/dev/null \
        && command -v sbatch >/dev/null && command -v munged >/dev/null
}

do_install() {
    installed && return 0
    need_root
    command -v apt-get >/dev/null || cannot "apt-get not available: cannot install ${PACKAGES[*]}"
    say "installing ${PACKAGES[*]} with apt-get"
    export DEBIAN_FRONTEND=noninteractive
    # Keep the packages' postinst scripts from starting daemons without a config: a
    # policy-rc.d that denies, only for the time of the install (and only if none exists).
    local policy=/usr/sbin/policy-rc.d ours=0
    if [[ ! -e $policy ]]; then
        printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && ours=1
    fi
    local rc=0
    if ! apt-get install -y --no-install-recommends "${PACKAGES[@]}" >/tmp/tastemap-slurm-apt.log 2>&1; then
        say "apt-get install failed; running apt-get update and retrying"
        apt-get update >>/tmp/tastemap-slurm-apt.log 2>&1 || true
        apt-get install -y --no-install-recommends "${PACKAGES[@]}" >>/tmp/tastemap-slurm-apt.log 2>&1 || rc=$?
    fi
    [[ $ours -eq 1 ]] && rm -f "$policy"
    if [[ $rc -ne 0 ]]; then
        tail -n 20 /tmp/tastemap-slurm-apt.log >&2
        die "apt-get install ${PACKAGES[*]} failed (rc $rc; full log /tmp/tastemap-slurm-apt.log)"
    fi
    installed || die "packages installed but slurmctld/slurmd/sbatch/munged not on PATH"
}

write_conf() {
    if [[ -e $CONF ]] && ! grep -qF "$MARK" "$CONF"; then
        die "$CONF exists and was not written by this script; refusing to overwrite a site config"
    fi
    local host mem
    host=$(hostname -s)
    # RealMemory as slurmd itself measures it: a larger value would drain the node.
    mem=$(slurmd -C | sed -n 's/.*RealMemory=\([0-9]*\).*/\1/p')
    [[ -n $mem ]] || mem=$(awk '/MemTotal/ {print int($2 / 1024)}' /proc/meminfo)
    mkdir -p /etc/slurm "$RUN" "$LOGDIR" /var/lib/slurm/slurmctld /var/lib/slurm/slurmd
    chown slurm:slurm "$RUN" "$LOGDIR" /var/lib/slurm/slurmctld
    cat >"$CONF" <<EOF
$MARK
# A single-node test cluster (node $host on 127.0.0.1); see tests/slurm/cluster.sh.
ClusterName=tastemap
SlurmctldHost=$host(127.0.0.1)
SlurmUser=slurm
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU_Memory
SchedulerType=sched/backfill
ReturnToService=2
# Finished jobs stay visible to squeue for MinJobAge seconds; the Snakemake plugin's squeue
# status checks need this to be >= 3 x its first status-check interval.
MinJobAge=600
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/filetxt
JobCompLoc=$LOGDIR/jobcomp.log
StateSaveLocation=/var/lib/slurm/slurmctld
SlurmdSpoolDir=/var/lib/slurm/slurmd
SlurmctldPidFile=$RUN/slurmctld.pid
SlurmdPidFile=$RUN/slurmd.pid
SlurmctldLogFile=$LOGDIR/slurmctld.log
SlurmdLogFile=$LOGDIR/slurmd.log
SlurmctldPort=6817
SlurmdPort=6818
SlurmctldTimeout=30
SlurmdTimeout=60
NodeName=$host NodeAddr=127.0.0.1 CPUs=$CPUS RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
    say "wrote $CONF (node $host, CPUs=$CPUS, RealMemory=$mem)"
}

pid_alive() { [[ -s $1 ]] && kill -0 "$(cat "$1")" 2>/dev/null; }

start_munge() {
    if munge -n </dev/null 2>/dev/null | unmunge >/dev/null 2>&1; then
        return 0
    fi
    [[ -s /etc/munge/munge.key ]] || { mungekey --create --keyfile=/etc/munge/munge.key \
        && chown munge:munge /etc/munge/munge.key && chmod 600 /etc/munge/munge.key; }
    mkdir -p /run/munge && chown munge:munge /run/munge && chmod 755 /run/munge
    runuser -u munge -- /usr/sbin/munged
    for _ in $(seq 20); do
        munge -n </dev/null 2>/dev/null | unmunge >/dev/null 2>&1 && return 0
        sleep 0.5
    done
    die "munged does not answer (see /var/log/munge/munged.log)"
}

node_state() { sinfo --noheader --format=%T 2>/dev/null | head -n 1; }

do_status() {
    local state
    state=$(node_state) || true
    case $state in
        idle*|mixed*|allocated*|completing*) echo "$state"; return 0 ;;
        *) echo "${state:-down (no answer)}"; return 1 ;;
    esac
}

do_start() {
    need_root
    do_install
    if do_status >/dev/null; then
        say "cluster already up: $(node_state)"
        return 0
    fi
    write_conf
    start_munge
    pid_alive "$RUN/slurmctld.pid" || /usr/sbin/slurmctld
    pid_alive "$RUN/slurmd.pid" || /usr/sbin/slurmd
    local state=""
    for _ in $(seq $((WAIT * 2))); do
        state=$(node_state) || true
        case $state in
            idle*) say "node $(hostname -s) is idle"; sinfo >&2; return 0 ;;
            down*|drain*) scontrol update nodename="$(hostname -s)" state=resume 2>/dev/null || true ;;
        esac
        sleep 0.5
    done
    tail -n 20 "$LOGDIR/slurmctld.log" "$LOGDIR/slurmd.log" >&2 || true
    die "node not idle after ${WAIT}s (state: ${state:-no answer})"
}

stop_pidfile() {
    local file=$1 name=$2
    if pid_alive "$file"; then
        local pid
        pid=$(cat "$file")
        kill "$pid"
        for _ in $(seq 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
        kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
        say "stopped $name (pid $pid)"
    fi
    rm -f "$file"
}

do_stop() {
    need_root
    command -v scancel >/dev/null && scancel --full --quiet --user=root 2>/dev/null || true
    stop_pidfile "$RUN/slurmd.pid" slurmd
    stop_pidfile "$RUN/slurmctld.pid" slurmctld
    stop_pidfile /run/munge/munged.pid munged
}

case ${1:-} in
    install) need_root; do_install ;;
    start) do_start ;;
    status) do_status ;;
    stop) do_stop ;;
    *) echo "usage: $0 install|start|status|stop" >&2; exit 2 ;;
esac
