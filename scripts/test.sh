#!/usr/bin/env bash
# Sets up a fresh Debian machine (packages, npm references, build) and runs the whole
# test suite through CTest. This is the README's test command and what CI runs.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$here/scripts/setup.sh"
cd "$here/build"
ctest --output-on-failure --timeout 1500 "$@"
