#!/usr/bin/env bash
# The tuned lens against the logit lens (docs/tuned-lens.md), measured:
#   1. held-out KL to the final layer per layer, both lenses (the lens's own tuned_lens.json);
#   2. on data the lens never saw: how much earlier tokens saturate (mean saturation layer) and
#      how much more compute early exit saves at equal top-1 agreement (bench/tuned_lens_gain.py);
#   3. training time per layer and step on a GPT-2-small-shaped model (random weights: the time
#      does not depend on them).
# Usage: bench/tuned_lens.sh [OUT_DIR]   (env: MODEL, TRAIN_DATA, EVAL_DATA, STEPS, SKIP_GPT2=1)
# Defaults: the demo model, a demo corpus of another seed to train on, the demo's eval.txt to
# measure on. Prints figures; asserts nothing.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cli="$here/build/app/cli/layerscope-cli"
out="${1:-/tmp/layerscope-tuned-lens-bench}"
mkdir -p "$out"
model="${MODEL:-$here/resources/demo/model}"
train="${TRAIN_DATA:-$out/train-corpus.txt}"
eval="${EVAL_DATA:-$here/resources/demo/eval.txt}"
[ -f "$train" ] || "$cli" demo-corpus --out "$train" --seed 2 --words 60000 >/dev/null
seq=(--seq-len "${SEQ_LEN:-128}")

echo "== training the lens on $train"
"$cli" lens train --model "$model" --data "$train" "${seq[@]}" --steps "${STEPS:-200}" --overwrite \
  --out "$out/lens" | tail -n +2
echo
echo "== logit against tuned lens on $eval (never trained on)"
for lens in logit "tuned:$out/lens"; do
  name="${lens%%:*}"
  "$cli" run saturation,lensdiv,exit --model "$model" --data "$eval" "${seq[@]}" --lens "$lens" \
    --csv "$out/$name" --out "$out/$name.h5" --quiet
done
/usr/bin/python3 "$here/bench/tuned_lens_gain.py" "$out/logit" "$out/tuned"

if [ "${SKIP_GPT2:-0}" != 1 ]; then
  echo
  echo "== training time on a GPT-2-small shape (12 layers, dim 768, vocab 50257)"
  g="$out/gpt2-small"
  [ -f "$g/config.json" ] || /usr/bin/python3 "$here/tests/reference/make_model.py" --arch gpt2 --layers 12 --dim 768 \
    --heads 12 --vocab 50257 --ctx 1024 --tokens 16 --out "$g" >/dev/null
  [ -f "$g/ids.npy" ] || /usr/bin/python3 -c 'import numpy as np, sys; np.save(sys.argv[1], np.random.default_rng(0).integers(0, 50257, 12288).astype(np.int32))' "$g/ids.npy"
  "$cli" lens train --model "$g" --data "$g/ids.npy" --seq-len 1024 --steps 2 --batch-tokens 2048 \
    --eval-every 100 --overwrite --out "$out/gpt2-lens" --json |
    /usr/bin/python3 -c 'import json,sys; j=json.load(sys.stdin); print("steps %d of %d tokens: model forwards %.1f s, translators %.1f s = %.2f s per layer per step; whole run %.1f s (with 3 held-out scorings)" % (j["steps"], j["batch_tokens"], j["model_seconds"], j["translator_seconds"], j["seconds_per_layer_step"], j["seconds"]))'
fi
