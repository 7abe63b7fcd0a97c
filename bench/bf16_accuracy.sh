#!/bin/sh
# How much half-precision weights change the numbers (--weights-dtype): per-token losses of
# `eval --per-token` with the weights as float32, as bfloat16 multiplied in bfloat16 (oneDNN, on
# CPUs with AVX512-BF16 or AMX) and as bfloat16 converted matrix by matrix (exact to the stored
# weights), on (1) the demo model (trained; a float32 checkpoint, so bfloat16 also rounds its
# weights) and (2) a SmolLM2-1.7B-shaped bfloat16 checkpoint with random weights (made once into
# WORK_DIR by bench/make_big_checkpoint.py; float32 needs 6.8 GB). Prints max and mean |dloss|,
# and the mean losses.
#   bench/bf16_accuracy.sh [BUILD_DIR] [WORK_DIR]
set -eu
here="$(cd "$(dirname "$0")/.." && pwd)"
build="$(cd "${1:-$here/build}" && pwd)"
work="${2:-/tmp/layerscope-bf16-bench}"
cli="$build/app/cli/layerscope-cli"
mkdir -p "$work"
[ -f "$work/smollm2/model.safetensors" ] ||
  /usr/bin/python3 "$here/bench/make_big_checkpoint.py" "$work/smollm2" --shape smollm2-1.7b --tokens 2049 > /dev/null

compare() {  # NAME MODEL DATA ARGS...
  name="$1" model="$2" data="$3"; shift 3
  "$cli" eval --model "$model" --data "$data" "$@" --weights-dtype float32 --per-token "$work/$name-f32.csv" > /dev/null
  "$cli" eval --model "$model" --data "$data" "$@" --weights-dtype bfloat16 --per-token "$work/$name-bf16.csv" > /dev/null
  LAYERSCOPE_BF16_MATMUL=convert "$cli" eval --model "$model" --data "$data" "$@" --weights-dtype bfloat16 \
    --per-token "$work/$name-convert.csv" > /dev/null
  /usr/bin/python3 - "$work" "$name" <<'PY'
import csv, sys
work, name = sys.argv[1], sys.argv[2]
def losses(kind):
    with open(f"{work}/{name}-{kind}.csv") as f:
        return [float(r["loss"]) for r in csv.DictReader(f)]
f32 = losses("f32")
print(f"{name}: {len(f32)} tokens, float32 mean loss {sum(f32) / len(f32):.5f}")
for kind, label in (("bf16", "bfloat16 matmuls"), ("convert", "bfloat16 weights, converted")):
    other = losses(kind)
    d = [abs(a - b) for a, b in zip(f32, other)]
    print(f"  {label:<28} mean loss {sum(other) / len(other):.5f}   |dloss| max {max(d):.2e} mean {sum(d) / len(d):.2e} "
          f"p99 {sorted(d)[int(0.99 * len(d))]:.2e}")
PY
}

compare demo "$here/resources/demo/model" "$here/resources/demo/eval.txt"
compare smollm2-1.7b "$work/smollm2" "$work/smollm2/ids.npy" --seq-len 1024
