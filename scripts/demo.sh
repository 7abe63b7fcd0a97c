#!/usr/bin/env bash
# The main job on a fresh Debian machine: set up and build, run the CLI on the built-in
# demo (model summary + perplexity), then open the GUI on the demo. Without a display the
# GUI runs under Xvfb, evaluates, and saves a screenshot to build/demo-screenshot.png.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$here/scripts/setup.sh"

cli="$here/build/app/cli/layerscope-cli"
gui="$here/build/app/gui/layerscope"
demo="$here/resources/demo"

echo "== layerscope-cli info --model resources/demo/model"
"$cli" info --model "$demo/model"
echo
echo "== layerscope-cli eval --model resources/demo/model --data resources/demo/eval.txt"
"$cli" eval --model "$demo/model" --data "$demo/eval.txt" --per-token "$here/build/demo-per-token.csv"
echo "per-token losses: build/demo-per-token.csv"
echo

if [ -n "${DISPLAY:-}" ] || [ -n "${WAYLAND_DISPLAY:-}" ]; then
  echo "== layerscope (GUI, opens on the demo)"
  exec "$gui" --run
else
  echo "== layerscope (GUI under Xvfb: no display here)"
  xvfb-run -a -s "-screen 0 1600x1000x24" "$gui" --run --screenshot "$here/build/demo-screenshot.png"
  echo "screenshot: build/demo-screenshot.png"
fi
