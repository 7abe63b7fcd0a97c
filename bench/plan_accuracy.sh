#!/bin/sh
# How close `run --plan` comes: three runs of different size, each planned and then run on this
# machine; prints the planned time, peak memory and run-file size beside the measured ones (the
# run's own phases: set-up + passes + summaries; its process's peak RSS; its file).
# Models: the demo, and a GPT-2-small-shaped checkpoint with random weights (made once into
# WORK_DIR; tokens are random ids, which costs the same as text).
#   bench/plan_accuracy.sh [BUILD_DIR] [WORK_DIR]
set -eu
here="$(cd "$(dirname "$0")/.." && pwd)"
build="$(cd "${1:-$here/build}" && pwd)"
work="${2:-/tmp/layerscope-plan-bench}"
cli="$build/app/cli/layerscope-cli"
mkdir -p "$work"
if [ ! -f "$work/gpt2s/model.safetensors" ]; then
  echo "making a GPT-2-small-shaped checkpoint in $work/gpt2s ..."
  /usr/bin/python3 "$here/tests/reference/make_model.py" --arch gpt2 --out "$work/gpt2s" --layers 12 --dim 768 \
    --heads 12 --vocab 50257 --ctx 1024 --tokens 8 > /dev/null
  /usr/bin/python3 -c "import numpy as np; np.save('$work/ids.npy', np.random.default_rng(0).integers(0, 50257, 40000).astype(np.int32))"
fi

measure() {  # NAME ANALYSES ARGS...
  name="$1"; shift
  "$cli" run "$@" --plan --json 2> /dev/null > "$work/$name.plan.json"
  /usr/bin/time -f "%M" -o "$work/$name.rss" "$cli" run "$@" --out "$work/$name.h5" --json > "$work/$name.run.json" 2> /dev/null
  /usr/bin/python3 - "$work" "$name" <<'PY'
import json, os, sys
work, name = sys.argv[1], sys.argv[2]
plan = json.load(open(f"{work}/{name}.plan.json"))
run = json.load(open(f"{work}/{name}.run.json"))
phases = run["phases"]
seconds = phases["setup"] + phases["capture"] + phases["summaries"]
rss = int(open(f"{work}/{name}.rss").read().split()[-1]) * 1024
size = os.path.getsize(f"{work}/{name}.h5")
def row(what, planned, measured, unit, scale):
    print(f"  {what:<12} planned {planned / scale:9.2f} {unit:<3} measured {measured / scale:9.2f} {unit:<3} "
          f"ratio {planned / measured:5.2f}")
print(f"{name}: {plan['analyses']}, {plan['tokens']} tokens ({plan['windows']} windows), "
      f"calibrated on {plan['calibration_tokens']} in {plan['calibration_seconds']:.1f} s")
row("time", plan["seconds"], seconds, "s", 1)
if plan["probe_seconds"] > 0:
    print(f"    of which probes planned {plan['probe_seconds']:.1f} s")
row("peak memory", plan["peak_bytes"], rss, "MB", 1e6)
row("run file", plan["file_bytes"], size, "MB", 1e6)
PY
}

measure demo cossim,saturation,ablation,losssep --model "$here/resources/demo/model" --data "$here/resources/demo/eval.txt"
measure gpt2s-lens cossim,saturation,lensdiv --model "$work/gpt2s" --data "$work/ids.npy" --seq-len 1024 --max-windows 12
measure gpt2s-ablation ablation --model "$work/gpt2s" --data "$work/ids.npy" --seq-len 512 --max-windows 16 --heads L0,L11
