#!/usr/bin/env bash
# Submit a hyperparameter scan to SLURM: an array of workers, then the report after them.
#
#   scripts/slurm/submit_scan.sh RUNCARD TRIALS WORKERS [OUT] [-- SBATCH OPTIONS...]
#
# TRIALS is the scan's total number of trials, shared by WORKERS workers (array tasks) that run
# at the same time, each on its own GPU when asked for (-- --gres=gpu:1). OUT defaults to
# ./output; the scan goes to OUT/<runcard name>/ and every job's log to
# OUT/slurm-<job>_<task>.out. SBATCH OPTIONS after `--` go to the worker array (e.g.
# -- --gres=gpu:1 --time=12:00:00 --partition=gpu). The report job runs once every worker has
# ended, whether it succeeded or not. The jobs run in this shell's environment (sbatch's default
# --export=ALL): run this where `hyperscan` works. Prints the two job ids. Submitting again
# (more TRIALS, more workers) continues the same scan. Options for every worker's `hyperscan`
# go in $HYPERSCAN_OPTIONS, e.g. HYPERSCAN_OPTIONS="--trials-per-model 8".
set -euo pipefail

die() {
    echo "error: $*" >&2
    exit 2
}
usage() {
    echo "usage: $0 RUNCARD TRIALS WORKERS [OUT] [-- SBATCH OPTIONS]" >&2
    exit 2
}
args=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do
    args+=("$1")
    shift
done
[ $# -eq 0 ] || shift
if [ ${#args[@]} -lt 3 ] || [ ${#args[@]} -gt 4 ]; then usage; fi
runcard=${args[0]} trials=${args[1]} workers=${args[2]} out=${args[3]:-output}

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
[ -f "$runcard" ] || die "no runcard $runcard"
for value in "$trials" "$workers"; do
    [[ $value =~ ^[1-9][0-9]*$ ]] || die "TRIALS and WORKERS must be positive integers: '$value'"
done
command -v sbatch >/dev/null || die "no sbatch: run this on a SLURM login node"
command -v hyperscan >/dev/null || echo "warning: no 'hyperscan' on PATH: the jobs will fail" >&2

runcard=$(realpath "$runcard")
mkdir -p "$out"
out=$(realpath "$out")
folder=$out/$(basename "${runcard%.*}")

array=$(sbatch --parsable --array="0-$((workers - 1))" --output="$out/slurm-%A_%a.out" "$@" \
    "$here/scan_worker.sbatch" "$runcard" "$trials" "$out")
array=${array%%;*}
report=$(sbatch --parsable --dependency="afterany:$array" --output="$out/slurm-%j.out" \
    "$here/scan_report.sbatch" "$folder") ||
    die "array job $array submitted, but not the report job: sbatch --dependency=afterany:$array" \
        "--output=$out/slurm-%j.out $here/scan_report.sbatch $folder"
report=${report%%;*}
echo "array job: $array ($workers workers, $trials trials in all)"
echo "report job: $report (starts when every worker has ended)"
echo "logs: $out/slurm-${array}_<task>.out, $out/slurm-$report.out"
echo "scan: $folder/"
