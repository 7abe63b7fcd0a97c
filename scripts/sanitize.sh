#!/usr/bin/env bash
# Builds LayerScope and its tests with AddressSanitizer + UndefinedBehaviorSanitizer (GCC)
# into build-asan/ and runs them under CTest: every loader, analysis and widget test, and
# the fuzz regression corpus (label "fuzz"). A sanitizer report fails the test that made it.
#   scripts/sanitize.sh                 every test of the core, the CLI and the fuzz corpus
#   scripts/sanitize.sh -L 'io|fuzz'    only some (arguments go to ctest)
#   SANITIZE_GUI=1 scripts/sanitize.sh  the widgets and the GUI and their tests too
# -O1 with line tables only: a sanitized build of everything takes long on 2 cores.
# LeakSanitizer runs too; tests/sanitizer/lsan.supp lists the leaks of libraries outside
# LayerScope (fontconfig, Qt's plugin loading, LibTorch's thread pools) that it ignores.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$here/scripts/setup.sh" --deps
out="$here/build-asan"
gui=OFF
[ "${SANITIZE_GUI:-0}" = 1 ] && gui=ON
cmake -S "$here" -B "$out" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1" \
      -DLAYERSCOPE_SANITIZE=ON -DLAYERSCOPE_BUILD_BENCH=OFF -DLAYERSCOPE_BUILD_GUI=$gui >/dev/null
ninja -C "$out"
# allocator_may_return_null: an absurd request (libhdf5 on a crafted run file asks for 2 TB)
# gets NULL, as outside ASan, and the code under test handles it.
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:strict_string_checks=1:detect_stack_use_after_return=0:allocator_may_return_null=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
export LSAN_OPTIONS="suppressions=$here/tests/sanitizer/lsan.supp:print_suppressions=0"
cd "$out"
ctest --output-on-failure --timeout 3600 "$@"
