#!/bin/sh
# A Llama-3-8B-shaped checkpoint (16 GB of random bfloat16 weights, bench/make_big_checkpoint.py)
# evaluated and analysed on this machine: eval of 256 tokens, and a capture run whose lens covers
# every layer at the 128K vocabulary; wall time and peak resident memory of each (/usr/bin/time).
# Needs about 17 GB of memory and 16 GB of disk in WORK_DIR (made once).
#   bench/big_model.sh [BUILD_DIR] [WORK_DIR]
set -eu
here="$(cd "$(dirname "$0")/.." && pwd)"
build="$(cd "${1:-$here/build}" && pwd)"
work="${2:-/tmp/llama3-8b-shaped}"
cli="$build/app/cli/layerscope-cli"
[ -f "$work/model.safetensors" ] || /usr/bin/python3 "$here/bench/make_big_checkpoint.py" "$work" --shape llama3-8b

measure() {  # LABEL ARGS...
  label="$1"; shift
  /usr/bin/time -f "%e %M" -o "$work/time.txt" "$cli" "$@" > "$work/out.txt" 2> /dev/null
  read -r wall rss < "$work/time.txt"
  printf '%-44s wall %7.1f s   peak RSS %5.1f GB\n' "$label" "$wall" "$(echo "$rss" | awk '{print $1 * 1024 / 1e9}')"
  grep -E "^(mean loss|time|memory) " "$work/out.txt" | sed 's/^/    /' || true
}
measure "eval, 256 tokens (bfloat16 matmuls)" eval --model "$work" --data "$work/ids.npy" --seq-len 257
LAYERSCOPE_BF16_MATMUL=convert measure "eval, 256 tokens (converted matrices)" eval --model "$work" --data "$work/ids.npy" --seq-len 257
measure "run cossim,saturation,inspect (certified lens)" run cossim,saturation,inspect --model "$work" --data "$work/ids.npy" --seq-len 257 --quiet --out "$work/run-lens.h5"
measure "run lensdiv,losssep (every layer's logits)" run lensdiv,losssep --no-probes --model "$work" --data "$work/ids.npy" --seq-len 257 --quiet --out "$work/run-full.h5"
