#!/bin/sh
# The .deb as a user gets it: built with CPack from this build folder, installed with apt-get
# (its dependencies resolved from the machine's packages), run from /usr (the CLI on the
# installed demo, on OpenBLAS; the GUI's --help), then removed again, leaving nothing behind.
#   tests/package_test.sh BUILD_DIR
# Exit 77 (CTest: skipped) without root or apt-get, or when a layerscope package is installed
# already: the test never touches an installation it did not make. apt waits up to 5 min
# for a package manager that holds the lock (unattended upgrades).
set -eu
build=$(cd "$1" && pwd)
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "SKIP: installing a package needs root and apt-get"
  exit 77
fi
if dpkg-query -W -f='${Status}' layerscope 2>/dev/null | grep -q "install ok installed"; then
  echo "SKIP: a layerscope package is installed on this machine already"
  exit 77
fi
fail() { echo "FAIL: $*" >&2; exit 1; }

out=$(mktemp -d)
installed=no
cleanup() {
  if [ "$installed" = yes ]; then DEBIAN_FRONTEND=noninteractive apt-get remove -y -qq layerscope >/dev/null 2>&1 || true; fi
  rm -rf "$out"
}
trap cleanup EXIT

# cpack installs the built programs into its staging folder and packs them.
cpack --config "$build/CPackConfig.cmake" -G DEB -B "$out" >"$out/cpack.log" 2>&1 || { cat "$out/cpack.log"; fail "cpack"; }
deb=$(ls "$out"/layerscope_*_amd64.deb 2>/dev/null | head -n 1)
[ -n "$deb" ] || fail "cpack wrote no layerscope_*_amd64.deb: $(ls "$out")"
depends=$(dpkg-deb -f "$deb" Depends)
echo "Depends: $depends"
for needed in libopenblas0-pthread qt6-qpa-plugins libtorch libhdf5; do
  echo "$depends" | grep -q "$needed" || fail "the package does not depend on $needed"
done
description=$(dpkg-deb -f "$deb" Description)
echo "$description" | grep -q "transformer language models" || fail "description: $description"
echo "$description" | grep -qi "built using cmake" && fail "CMake's placeholder description: $description"
[ "$(dpkg-deb -f "$deb" Version)" != "" ] || fail "no version"

installed=yes  # from here on the cleanup removes it, also after a half-done install
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=300 --no-install-recommends "$deb" >"$out/apt.log" 2>&1 \
  || { cat "$out/apt.log"; fail "apt-get install $deb"; }
[ -x /usr/bin/layerscope-cli ] && [ -x /usr/bin/layerscope ] || fail "the programs are not in /usr/bin"
demo=/usr/share/layerscope/demo
[ -f "$demo/model/model.safetensors" ] && [ -f "$demo/eval.txt" ] || fail "the demo is not in $demo"

system=$(/usr/bin/layerscope-cli info --system --json) || fail "layerscope-cli info --system"
echo "$system" | grep -q '"blas": "OpenBLAS' || fail "the installed CLI does not run on OpenBLAS: $system"
eval_out=$(/usr/bin/layerscope-cli eval --model "$demo/model" --data "$demo/eval.txt" --seq-len 128 --json) \
  || fail "layerscope-cli eval on the installed demo"
echo "$eval_out" | grep -q '"ppl"' || fail "eval printed no PPL: $eval_out"
/usr/bin/layerscope --help >/dev/null || fail "layerscope --help"
/usr/bin/layerscope --version | grep -q "LayerScope" || fail "layerscope --version"

DEBIAN_FRONTEND=noninteractive apt-get remove -y -qq -o DPkg::Lock::Timeout=300 layerscope >"$out/remove.log" 2>&1 \
  || { cat "$out/remove.log"; fail "apt-get remove layerscope"; }
installed=no
[ ! -e /usr/bin/layerscope-cli ] && [ ! -e /usr/bin/layerscope ] && [ ! -e "$demo" ] \
  || fail "files left after removal"
echo "PASS: built, installed, ran on OpenBLAS and removed $(basename "$deb")"
