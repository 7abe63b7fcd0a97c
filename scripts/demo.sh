#!/usr/bin/env bash
# The main job on a fresh Debian machine: set up and build, run the CLI on the built-in
# demo (model summary, perplexity, then the layer analyses into build/demo-run.h5), then
# open the GUI on the demo with perplexity and the layer analyses run. Without a display
# the GUI runs under Xvfb and saves screenshots: build/demo-screenshot.png (the window
# after the run) and build/demo-screenshot-<tab>.png, one per result tab, from the run file.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$here/scripts/setup.sh"

cli="$here/build/app/cli/layerscope-cli"
gui="$here/build/app/gui/layerscope"
demo="$here/resources/demo"
analyses="cossim,saturation,lowrank,inspect"
# The CLI also runs loss separation, early exit, the head-ablation scan, ReLU linearisation
# and the context-length sweep (about a minute more;
# the probes are left out here: they train for minutes on 2 cores).
all_analyses="$analyses,losssep,exit,ablation,linearize,context"
run_file="$here/build/demo-run.h5"

echo "== layerscope-cli info --model resources/demo/model"
"$cli" info --model "$demo/model"
echo
echo "== layerscope-cli eval --model resources/demo/model --data resources/demo/eval.txt"
"$cli" eval --model "$demo/model" --data "$demo/eval.txt" --per-token "$here/build/demo-per-token.csv"
echo "per-token losses: build/demo-per-token.csv"
echo
echo "== layerscope-cli run $all_analyses --no-probes --context-lengths 32,64,128 --model resources/demo/model --data resources/demo/eval.txt --out build/demo-run.h5"
"$cli" run "$all_analyses" --no-probes --context-lengths 32,64,128 --model "$demo/model" --data "$demo/eval.txt" --out "$run_file" --csv "$here/build/demo-csv"
echo "tables as CSV: build/demo-csv/"
echo

if [ -n "${DISPLAY:-}" ] || [ -n "${WAYLAND_DISPLAY:-}" ]; then
  echo "== layerscope (GUI, opens on the demo and runs perplexity and the layer analyses)"
  exec "$gui" --run --analyses "$analyses"
else
  echo "== layerscope (GUI under Xvfb: no display here)"
  xvf() { xvfb-run -a -s "-screen 0 1600x1000x24" "$gui" "$@"; }
  xvf --run --analyses "$analyses" --tab cossim --screenshot "$here/build/demo-screenshot.png"
  echo "screenshot: build/demo-screenshot.png"
  # One per result tab, from the run file the CLI wrote (no model needed: quick).
  for tab in cossim saturation lowrank inspect losssep exit ablation; do
    xvf --open-run "$run_file" --tab "$tab" --screenshot "$here/build/demo-screenshot-$tab.png"
    echo "screenshot: build/demo-screenshot-$tab.png"
  done
fi
