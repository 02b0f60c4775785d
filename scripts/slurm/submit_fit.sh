#!/usr/bin/env bash
# Submit a fit to SLURM as an array of replica blocks, then the collect step after it.
#
#   scripts/slurm/submit_fit.sh RUNCARD REPLICAS BLOCK [OUT] [-- SBATCH OPTIONS...]
#
# REPLICAS is N (replicas 1..N) or A-B; BLOCK is how many replicas one array task fits stacked
# (on a GPU, hundreds; on a CPU core, a few). OUT defaults to ./output; the fit goes to
# OUT/<runcard name>/ and every job's log to OUT/slurm-<job>_<task>.out. SBATCH OPTIONS after
# `--` go to the array job (e.g. -- --gres=gpu:1 --time=1:00:00 --partition=gpu). The jobs run
# in this shell's environment (sbatch's default --export=ALL): run this where `fit` works.
# Prints the two job ids. Resubmitting the same command fits only the replicas still missing.
set -euo pipefail

die() {
    echo "error: $*" >&2
    exit 2
}
usage() {
    echo "usage: $0 RUNCARD REPLICAS BLOCK [OUT] [-- SBATCH OPTIONS]" >&2
    exit 2
}
args=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do
    args+=("$1")
    shift
done
[ $# -eq 0 ] || shift
if [ ${#args[@]} -lt 3 ] || [ ${#args[@]} -gt 4 ]; then usage; fi
runcard=${args[0]} replicas=${args[1]} block=${args[2]} out=${args[3]:-output}

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
[ -f "$runcard" ] || die "no runcard $runcard"
[[ $block =~ ^[1-9][0-9]*$ ]] || die "BLOCK must be a positive integer; got '$block'"
if [[ $replicas =~ ^([1-9][0-9]*)-([1-9][0-9]*)$ ]]; then
    first=${BASH_REMATCH[1]} last=${BASH_REMATCH[2]}
elif [[ $replicas =~ ^[1-9][0-9]*$ ]]; then
    first=1 last=$replicas
else
    die "REPLICAS must be N or A-B (e.g. 100 or 101-200); got '$replicas'"
fi
[ "$first" -le "$last" ] || die "REPLICAS $replicas: A must be ≤ B"
command -v sbatch >/dev/null || die "no sbatch: run this on a SLURM login node"
command -v fit >/dev/null || echo "warning: no 'fit' on PATH: the jobs will fail" >&2

runcard=$(realpath "$runcard")
mkdir -p "$out"
out=$(realpath "$out")
tasks=$(((last - first) / block + 1))

array=$(sbatch --parsable --array="0-$((tasks - 1))" --output="$out/slurm-%A_%a.out" "$@" \
    "$here/fit_array.sbatch" "$runcard" "$out" "$block" "$first-$last")
array=${array%%;*}
collect=$(sbatch --parsable --dependency="afterok:$array" --kill-on-invalid-dep=yes \
    --output="$out/slurm-%j.out" "$here/fit_collect.sbatch" "$runcard" "$out" "$first-$last") ||
    die "array job $array submitted, but not the collect job: sbatch --dependency=afterok:$array" \
        "--output=$out/slurm-%j.out $here/fit_collect.sbatch $runcard $out $first-$last"
collect=${collect%%;*}
echo "array job: $array ($tasks tasks: replicas $first-$last, $block per task)"
echo "collect job: $collect (starts when every array task has succeeded)"
echo "logs: $out/slurm-${array}_<task>.out, $out/slurm-$collect.out"
echo "fit: $out/$(basename "${runcard%.*}")/"
