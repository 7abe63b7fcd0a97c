#!/bin/sh
# Submits a LayerScope run as N shards on Slurm: a job array of N tasks (run-shard.sbatch, one
# shard each) and a merge job that starts when every task succeeded (--dependency=afterok).
#   scripts/slurm/submit.sh N OUT_DIR ANALYSES [run options...] 
# e.g. scripts/slurm/submit.sh 16 runs/wt2 ablation --model /models/gpt2 --data wiki.test.raw
# Prints both job ids. Extra sbatch options (partition, time, memory from 'run --plan') go in
# SBATCH_* environment variables or LAYERSCOPE_SBATCH_OPTIONS, e.g.
#   LAYERSCOPE_SBATCH_OPTIONS="--partition=cpu --time=02:00:00 --mem=8G --cpus-per-task=8"
# OUT_DIR/logs holds every job's output. LAYERSCOPE_CLI names the layerscope-cli to run.
set -eu
here="$(cd "$(dirname "$0")" && pwd)"
n="$1"
out_dir="$(mkdir -p "$2" && cd "$2" && pwd)"
shift 2
mkdir -p "$out_dir/logs"
# shellcheck disable=SC2086  # the options are words
array=$(sbatch --parsable ${LAYERSCOPE_SBATCH_OPTIONS:-} --array="0-$((n - 1))" \
  --output="$out_dir/logs/shard-%a.out" --export=ALL "$here/run-shard.sbatch" "$out_dir" "$@")
array="${array%%;*}"  # "id;cluster" on a federation
# shellcheck disable=SC2086
merge=$(sbatch --parsable ${LAYERSCOPE_SBATCH_OPTIONS:-} --dependency="afterok:$array" \
  --output="$out_dir/logs/merge.out" --export=ALL "$here/merge.sbatch" "$out_dir" "$n")
echo "shards: job array $array ($n tasks); merge: job ${merge%%;*} -> $out_dir/run.h5"
