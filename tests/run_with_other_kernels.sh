#!/bin/sh
# Runs one test executable again under other CPU kernels than the environment's, so that a
# float compared too tightly fails here, not on a user's machine with another CPU.
#   OpenBLAS: Sandybridge kernels (AVX, no FMA) unless those are already chosen, then Haswell
#             (AVX2 + FMA). Never unset: some environments set OPENBLAS_CORETYPE because the
#             library's own detection is wrong on their CPU.
#   LibTorch: ATEN_CPU_CAPABILITY=avx2 on CPUs that would use AVX-512, else default (no SIMD).
# Both choices run on every x86-64 CPU with AVX.
set -eu
flags=$(grep -m1 '^flags' /proc/cpuinfo || true)
has() { case " $flags " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }

current_blas=$(printf '%s' "${OPENBLAS_CORETYPE:-detected}" | tr 'A-Z' 'a-z')
if [ "$current_blas" = sandybridge ] && has avx2; then
  OPENBLAS_CORETYPE=Haswell
elif has avx; then
  OPENBLAS_CORETYPE=Sandybridge
else
  OPENBLAS_CORETYPE=Nehalem
fi

current_aten=$(printf '%s' "${ATEN_CPU_CAPABILITY:-detected}" | tr 'A-Z' 'a-z')
if has avx512f && [ "$current_aten" != avx2 ]; then
  ATEN_CPU_CAPABILITY=avx2
else
  ATEN_CPU_CAPABILITY=default
fi
export OPENBLAS_CORETYPE ATEN_CPU_CAPABILITY
echo "kernels: OPENBLAS_CORETYPE=$OPENBLAS_CORETYPE (was $current_blas), ATEN_CPU_CAPABILITY=$ATEN_CPU_CAPABILITY (was $current_aten)"
exec "$@"
