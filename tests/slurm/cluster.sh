#!/usr/bin/env bash
# A real single-node SLURM cluster on this (Debian) machine, for the SLURM integration test.
# The tests never run this script: `.ci/slurm-setup.sh` (CI, or by hand as root) does.
#
#   tests/slurm/cluster.sh install   apt-get install munge slurmctld slurmd slurm-client
#   tests/slurm/cluster.sh start     install if needed, write slurm.conf, start munged,
#                                    slurmctld and slurmd, wait until `sinfo` shows the node idle
#   tests/slurm/cluster.sh status    exit 0 when the node answers idle/mixed/allocated
#   tests/slurm/cluster.sh stop      cancel jobs, stop the daemons this script started
#   tests/slurm/cluster.sh teardown  stop, then undo what this script did: purge the packages
#                                    its install added (only those, and only if it installed
#                                    them), remove the files, directories and system users it
#                                    or that install created; the machine is as it was found
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
# What to undo is recorded in /var/lib/tastemap-ci: slurm-installed (the packages the install
# added, one a line; written only when this script installed them) and slurm-created (`path P`,
# `user U`, `group G`: what did not exist before this script or its install made it).
# Environment: SLURM_CPUS (default 2), SLURM_WAIT (seconds to wait for idle, default 60).
set -euo pipefail

CONF=/etc/slurm/slurm.conf
MARK="# written by tastemap tests/slurm/cluster.sh"
RUN=/run/slurm
LOGDIR=/var/log/slurm
CPUS=${SLURM_CPUS:-2}
WAIT=${SLURM_WAIT:-60}
PACKAGES=(munge slurmctld slurmd slurm-client)
STATE=/var/lib/tastemap-ci
INSTALLED=$STATE/slurm-installed
CREATED=$STATE/slurm-created
APTLOG=/tmp/tastemap-slurm-apt.log
# what the packages and the daemons create (teardown removes those that were absent before)
PATHS=(/etc/slurm /var/lib/slurm /var/log/slurm /run/slurm /var/spool/slurmd
       /etc/munge /var/lib/munge /var/log/munge /run/munge)
USERS=(slurm munge)

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

# Record what does not exist yet (paths, or `user NAME` / `group NAME`), for teardown.
note_absent() {
    mkdir -p "$STATE"
    local p
    for p in "$@"; do [[ -e $p ]] || echo "path $p" >>"$CREATED"; done
}

source "$(dirname "$0")/../../.ci/recorded-packages.sh"

# Run apt-get with a policy-rc.d that denies: the packages' maintainer scripts must not start
# or stop daemons on their own (only for the time of the call, and only if none exists).
apt_quiet() {
    local policy=/usr/sbin/policy-rc.d ours=0 rc=0
    if [[ ! -e $policy ]]; then
        printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && ours=1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get "$@" >>"$APTLOG" 2>&1 || rc=$?
    [[ $ours -eq 1 ]] && rm -f "$policy"
    return $rc
}

do_install() {
    installed && return 0
    need_root
    command -v apt-get >/dev/null || cannot "apt-get not available: cannot install ${PACKAGES[*]}"
    say "installing ${PACKAGES[*]} with apt-get"
    note_absent "${PATHS[@]}"
    local u before rc=0
    for u in "${USERS[@]}"; do
        getent passwd "$u" >/dev/null || echo "user $u" >>"$CREATED"
        getent group "$u" >/dev/null || echo "group $u" >>"$CREATED"
    done
    before=$(installed_packages)
    : >"$APTLOG"
    if ! apt_quiet install -y --no-install-recommends "${PACKAGES[@]}"; then
        say "apt-get install failed; running apt-get update and retrying"
        apt_quiet update || true
        apt_quiet install -y --no-install-recommends "${PACKAGES[@]}" || rc=$?
    fi
    record_added "$before" "$INSTALLED"
    if [[ $rc -ne 0 ]]; then
        tail -n 20 "$APTLOG" >&2
        die "apt-get install ${PACKAGES[*]} failed (rc $rc; full log $APTLOG)"
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
    note_absent /etc/slurm "$CONF" "$RUN" "$LOGDIR" /var/lib/slurm /var/lib/slurm/slurmctld \
        /var/lib/slurm/slurmd
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
    note_absent /etc/munge/munge.key /run/munge
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

do_teardown() {
    need_root
    do_stop
    purge_recorded "$INSTALLED" apt_quiet || { tail -n 20 "$APTLOG" >&2; die "teardown: purge failed"; }
    if [[ -s $CREATED ]]; then
        local kind name
        # paths first (rm -rf of a directory takes what the daemons wrote in it), then users
        while read -r kind name; do
            if [[ $kind == path && -n $name ]]; then rm -rf -- "$name"; fi
        done < <(sort -u "$CREATED")
        while read -r kind name; do
            if [[ $kind == user ]] && getent passwd "$name" >/dev/null; then
                userdel "$name" || say "could not remove user $name"
            fi
        done < <(sort -u "$CREATED")
        while read -r kind name; do
            if [[ $kind == group ]] && getent group "$name" >/dev/null; then
                groupdel "$name" || say "could not remove group $name"
            fi
        done < <(sort -u "$CREATED")
    fi
    # a slurm.conf of this script's, left by a run before it recorded what it created
    if [[ -e $CONF ]] && grep -qF "$MARK" "$CONF"; then rm -f "$CONF"; fi
    rm -f "$CREATED" "$APTLOG"
    rmdir "$STATE" 2>/dev/null || true
    if installed; then
        say "SLURM stays installed (it was there before this script installed anything)"
    fi
    say "teardown done"
}

case ${1:-} in
    install) need_root; do_install ;;
    start) do_start ;;
    status) do_status ;;
    stop) do_stop ;;
    teardown) do_teardown ;;
    *) echo "usage: $0 install|start|status|stop|teardown" >&2; exit 2 ;;
esac
