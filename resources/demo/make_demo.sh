#!/usr/bin/env bash
# Regenerates the built-in demo from nothing but LayerScope itself:
#   train.txt   the demo corpus, 300,000 words (seed 1)        -- not committed, regenerated here
#   eval.txt    a held-out demo corpus, 20,000 words (seed 2)  + eval_labels.npy (one label per word)
#   model/      a GPT-2-layout model trained on train.txt with a word-level tokenizer
# Usage: resources/demo/make_demo.sh [path/to/layerscope-cli]   (about 20 minutes on 2 cores)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cli="${1:-$here/../../build/app/cli/layerscope-cli}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

"$cli" demo-corpus --out "$work/train.txt" --words 300000 --seed 1
"$cli" demo-corpus --out "$here/eval.txt" --words 20000 --seed 2 --labels "$here/eval_labels.npy"
# One thread: for a model this small, OpenMP's second thread costs more than it gives.
"$cli" train --data "$work/train.txt" --out "$work/model" --layout gpt2 \
  --dim 64 --heads 4 --ffn-dim 256 --layers 4 --seq-len 128 \
  --batch-size 32 --lr 3e-3 --epochs 100 --patience 5 --seed 0 --threads 1
rm -rf "$here/model"
mv "$work/model" "$here/model"
"$cli" eval --model "$here/model" --data "$here/eval.txt"
