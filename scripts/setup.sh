#!/usr/bin/env bash
# Installs every Debian package LayerScope needs to build, test and run, then
# configures and builds the project (Release, Ninja) into ./build.
#   scripts/setup.sh            install + build
#   scripts/setup.sh --deps     install only
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

packages=(
  build-essential cmake ninja-build ccache pkg-config
  qt6-base-dev qt6-base-dev-tools qt6-svg-dev qt6-qpa-plugins libgl-dev
  libqcustomplot-dev libqcustomplot2.1-qt6
  libtorch-dev libopenblas0-pthread libdnnl-dev
  libhdf5-dev zlib1g-dev libeigen3-dev nlohmann-json3-dev
  xvfb xauth
  python3 python3-torch python3-numpy python3-h5py
  libicu-dev
  munge slurmctld slurmd slurm-client   # tests/slurm_test.sh: a Slurm with a configuration of its own
)

sudo_if_needed() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# Node.js (for the independent tokenizer references) may come from another apt source
# that bundles npm; install Debian's only when the commands are missing.
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  sudo_if_needed apt-get update -qq
  DEBIAN_FRONTEND=noninteractive sudo_if_needed apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# Node tools used only as independent tokenizer references in tests.
if [ ! -d "$here/tests/reference/node_modules/@huggingface/tokenizers" ] || \
   [ ! -d "$here/tests/reference/node_modules/js-tiktoken" ]; then
  (cd "$here/tests/reference" && npm ci --no-audit --no-fund --loglevel=error)
fi

[ "${1:-}" = "--deps" ] && exit 0

cmake -S "$here" -B "$here/build" -G Ninja -DCMAKE_BUILD_TYPE=Release
cmake --build "$here/build" -j"$(nproc)"
