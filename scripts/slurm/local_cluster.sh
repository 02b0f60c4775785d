#!/usr/bin/env bash
# A one-node SLURM on this machine, to try the job scripts in this folder and to test them.
#
#   scripts/slurm/local_cluster.sh start [DIR]    # munged, slurmctld, slurmd; prints SLURM_CONF
#   scripts/slurm/local_cluster.sh status [DIR]   # exit 0 when all three run and the node is up
#   scripts/slurm/local_cluster.sh stop [DIR]     # cancels its jobs, stops the three daemons
#
# Needs the Debian/Ubuntu packages slurm-wlm and munge (`apt-get install slurm-wlm munge`) and
# root: slurmd starts jobs as the user who submitted them. Everything the cluster writes (munge
# key and socket, slurm.conf, state, daemon logs) lives in DIR (default $LOCAL_SLURM_DIR or
# /tmp/n3fit-slurm); nothing in /etc is touched, and any system munged or SLURM is left alone.
# `start` is idempotent: it starts only what is not running. Each start of slurmctld begins
# with an empty job list. The SLURM commands (sbatch, squeue, scancel, sinfo) find this cluster
# through the SLURM_CONF variable that `start` prints:
#
#   export SLURM_CONF=/tmp/n3fit-slurm/slurm.conf
#
# Environment: LOCAL_SLURM_DIR (DIR), LOCAL_SLURM_PORT (slurmctld port, default 6817; slurmd
# uses the next one), LOCAL_SLURM_CPUS (CPUs the node offers, default: this machine's; more than
# the machine has lets more jobs share it).
set -euo pipefail

usage() {
    echo "usage: $0 start|stop|status [DIR]" >&2
    exit 2
}

if [ $# -lt 1 ] || [ $# -gt 2 ]; then usage; fi
action=$1
dir=${2:-${LOCAL_SLURM_DIR:-/tmp/n3fit-slurm}}
port=${LOCAL_SLURM_PORT:-6817}
conf=$dir/slurm.conf
socket=$dir/munge/munge.socket.2
export SLURM_CONF=$conf

die() {
    echo "local_cluster.sh: error: $*" >&2
    exit 1
}

# The pid recorded in DIR for a daemon, if that process still runs that program.
running_pid() {
    local pidfile=$dir/$1.pid pid
    [ -s "$pidfile" ] || return 1
    pid=$(cat "$pidfile")
    [ -d "/proc/$pid" ] && grep -q "$1" "/proc/$pid/comm" 2>/dev/null || return 1
    echo "$pid"
}

node_state() {
    sinfo -h -n localhost -o %T 2>/dev/null | head -n 1
}

require_tools() {
    local missing=() tool
    for tool in munged mungekey slurmctld slurmd sbatch squeue sinfo scontrol scancel; do
        command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
    done
    [ ${#missing[@]} -eq 0 ] ||
        die "not installed: ${missing[*]}; install them with: apt-get install -y slurm-wlm munge"
    [ "$(id -u)" -eq 0 ] ||
        die "must run as root (slurmd starts each job as the user who submitted it)"
}

write_config() {
    local cpus mem
    cpus=${LOCAL_SLURM_CPUS:-$(slurmd -C | sed -n 's/.* CPUs=\([0-9]*\).*/\1/p')}
    mem=$(slurmd -C | sed -n 's/.* RealMemory=\([0-9]*\).*/\1/p')
    cat >"$conf" <<CONF
# Written by scripts/slurm/local_cluster.sh: a one-node cluster for trying and testing jobs.
ClusterName=localcluster
SlurmctldHost=localhost
SlurmctldPort=$port
SlurmdPort=$((port + 1))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$socket
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SlurmdParameters=config_overrides
ReturnToService=2
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd.log
NodeName=localhost NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
CONF
}

start_munged() {
    running_pid munged >/dev/null && return
    mkdir -p "$dir/munge"
    chmod 755 "$dir" "$dir/munge" # every user may reach the socket; the key stays root's (600)
    [ -s "$dir/munge/munge.key" ] || mungekey --create --keyfile="$dir/munge/munge.key"
    chmod 600 "$dir/munge/munge.key"
    munged --force --socket="$socket" --key-file="$dir/munge/munge.key" \
        --pid-file="$dir/munged.pid" --log-file="$dir/munged.log" \
        --seed-file="$dir/munge/munged.seed" ||
        die "munged did not start; see $dir/munged.log"
}

start_slurmctld() {
    running_pid slurmctld >/dev/null && return
    mkdir -p "$dir/state"
    slurmctld -c -f "$conf" || die "slurmctld did not start; see $dir/slurmctld.log"
}

start_slurmd() {
    running_pid slurmd >/dev/null && return
    mkdir -p "$dir/spool"
    slurmd -N localhost -f "$conf" || die "slurmd did not start; see $dir/slurmd.log"
}

wait_for_node() {
    local state deadline=$((SECONDS + 60))
    while [ $SECONDS -lt $deadline ]; do
        state=$(node_state)
        case $state in
            idle* | mixed* | allocated*) return ;;
            down* | drain*) scontrol update nodename=localhost state=resume 2>/dev/null || true ;;
        esac
        sleep 1
    done
    echo "--- $dir/slurmctld.log (end)" >&2
    tail -n 20 "$dir/slurmctld.log" >&2 || true
    echo "--- $dir/slurmd.log (end)" >&2
    tail -n 20 "$dir/slurmd.log" >&2 || true
    die "the node did not come up within 60 s (state: '${state:-unknown}')"
}

start() {
    require_tools
    mkdir -p "$dir"
    if ! running_pid slurmctld >/dev/null || [ ! -s "$conf" ]; then
        write_config
    fi
    start_munged
    start_slurmctld
    start_slurmd
    wait_for_node
    echo "local SLURM cluster running in $dir; to use it:"
    echo "export SLURM_CONF=$conf"
}

stop() {
    local daemon pid stopped=0
    if running_pid slurmctld >/dev/null; then
        scancel --full --quiet --partition=debug 2>/dev/null || true
    fi
    for daemon in slurmd slurmctld munged; do
        if pid=$(running_pid "$daemon"); then
            kill "$pid"
            for _ in $(seq 50); do
                [ -d "/proc/$pid" ] || break
                sleep 0.2
            done
            [ ! -d "/proc/$pid" ] || die "$daemon (pid $pid) did not stop"
            stopped=$((stopped + 1))
        fi
    done
    if [ $stopped -eq 0 ]; then
        echo "no local SLURM cluster was running in $dir"
    else
        echo "local SLURM cluster in $dir stopped"
    fi
}

status() {
    local daemon pid ok=0
    for daemon in munged slurmctld slurmd; do
        if pid=$(running_pid "$daemon"); then
            echo "$daemon: running (pid $pid)"
        else
            echo "$daemon: not running"
            ok=1
        fi
    done
    if [ $ok -eq 0 ]; then
        echo "node localhost: $(node_state)"
        echo "export SLURM_CONF=$conf"
    fi
    return $ok
}

case $action in
    start) start ;;
    stop) stop ;;
    status) status ;;
    *) usage ;;
esac
