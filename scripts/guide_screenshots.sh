#!/usr/bin/env bash
# Regenerates the screenshots of docs/guide.md under Xvfb, from the built-in demo: the run the
# guide walks through (layerscope-cli run ... --out), then the GUI on each step and tab.
# Needs a build (scripts/setup.sh or scripts/test.sh); writes docs/guide/*.png and
# docs/guide/compare.txt. Takes about a minute on 2 cores.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cli="$here/build/app/cli/layerscope-cli"
gui="$here/build/app/gui/layerscope"
demo="$here/resources/demo"
out="$here/docs/guide"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$out"
export XDG_CONFIG_HOME="$work/config"  # the user's export settings stay out of it

shot() {  # shot NAME [layerscope options...]
  local name="$1"
  shift
  xvfb-run -a -s "-screen 0 1600x1000x24" "$gui" "$@" --screenshot "$out/$name.png" 2>/dev/null
  echo "docs/guide/$name.png"
}

# The run of the guide: every analysis on the demo, and a second run on its first 2 windows
# (paths relative to the checkout, as the guide gives them).
cd "$here"
"$cli" run cossim,saturation,lensdiv,lowrank,inspect,losssep,exit,ablation,linearize,context \
  --model resources/demo/model --data resources/demo/eval.txt --context-lengths 32,64,128 --out "$work/demo.h5" --quiet
"$cli" run cossim,saturation,lensdiv,ablation --model resources/demo/model --data resources/demo/eval.txt \
  --max-windows 2 --out "$work/first2.h5" --quiet
(cd "$work" && "$cli" compare demo.h5 first2.h5) > "$out/compare.txt"
echo "docs/guide/compare.txt"

shot 01-dataset-preview --tab preview
shot 02-per-token-loss --run --tab loss
for tab in cossim saturation lensdiv lowrank inspect losssep exit ablation; do
  shot "03-$tab" --open-run "$work/demo.h5" --tab "$tab"
done
shot 04-compare --compare "$work/demo.h5,$work/first2.h5" --tab compare
# A tuned lens for the demo, trained on a demo corpus of another seed, against the logit lens.
"$cli" demo-corpus --out "$work/lens-corpus.txt" --seed 2 --words 60000 >/dev/null
"$cli" lens train --model resources/demo/model --data "$work/lens-corpus.txt" --seq-len 128 --out "$work/lens" >/dev/null
shot 04-compare-lenses --lens "tuned:$work/lens" --analyses saturation,lensdiv,exit --compare-lenses --tab compare
# One prompt under the microscope, and the copy pairs patched (docs/microscope.md).
shot 05-prompt --prompt "copy sami sape tope runu again sami sape" --tab prompt
shot 05-patching --pairs resources/demo/copy_pairs.jsonl --tab patch
