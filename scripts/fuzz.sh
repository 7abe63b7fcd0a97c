#!/usr/bin/env bash
# Fuzzes every loader with libFuzzer (clang, ASan + UBSan) for a bounded time and prints,
# per target: executions, coverage (edges), corpus size and findings.
#   scripts/fuzz.sh [SECONDS_PER_TARGET=60] [TARGET ...]      (default: every target)
# Targets: tests/fuzz/fuzz_<target>.cpp. The build goes to build-fuzz/, the growing corpus
# to build-fuzz/corpus/<target>/ (seeded from tests/fuzz/corpus/), findings (crash-*,
# leak-*, timeout-*, oom-*) to build-fuzz/findings/<target>/. Every run's figures are
# appended to build-fuzz/fuzz-log.tsv, and the totals per target are printed at the end.
# A finding becomes a regression test by copying it to tests/fuzz/regressions/<target>/
# (replayed by the CTest tests labelled "fuzz").
# Exit status: 1 if this run found anything, else 0.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
seconds="${1:-60}"
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(safetensors config tokenizer_json vocab_merges dataset_text dataset_alpaca dataset_tokens run_file run_file_sealed)

"$here/scripts/setup.sh" --deps
for p in clang libclang-rt-14-dev; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    echo "fuzz: installing $p"
    if [ "$(id -u)" -eq 0 ]; then apt-get install -y -qq --no-install-recommends "$p"; else sudo apt-get install -y -qq --no-install-recommends "$p"; fi
  fi
done

out="$here/build-fuzz"
cmake -S "$here" -B "$out" -G Ninja -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
      -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLAYERSCOPE_FUZZ=ON >/dev/null
ninja -C "$out" >/dev/null

# Leaks inside libraries LayerScope uses, not in its code (see the file).
export LSAN_OPTIONS="suppressions=$here/tests/sanitizer/lsan.supp:print_suppressions=0"
log="$out/fuzz-log.tsv"
[ -f "$log" ] || printf 'date\ttarget\tseconds\texecutions\tcoverage\tcorpus\tfindings\n' > "$log"
found=0
printf '%-16s %8s %12s %10s %8s %9s\n' target seconds executions exec/s edges findings
for t in "${targets[@]}"; do
  corpus="$out/corpus/$t" findings="$out/findings/$t"
  mkdir -p "$corpus" "$findings"
  before=$(ls "$findings" | wc -l)
  # -rss_limit_mb / -malloc_limit_mb: a file must not make a loader allocate without bound;
  # -timeout: nor hang. Seeds are read but only new inputs are added to the corpus.
  # run_file_sealed feeds crafted metadata to libhdf5, which then asks for absurd blocks
  # (2 TB) and handles the refusal: malloc returns NULL there, as it does outside ASan.
  malloc_limit=1024
  if [ "$t" = run_file_sealed ]; then malloc_limit=1000000; export ASAN_OPTIONS=allocator_may_return_null=1; fi
  "$out/tests/fuzz/fuzz_$t" -max_total_time="$seconds" -rss_limit_mb=2048 -malloc_limit_mb=$malloc_limit -timeout=60 \
      -print_final_stats=1 -artifact_prefix="$findings/" "$corpus" "$here/tests/fuzz/corpus/$t" \
      > "$out/fuzz-$t.log" 2>&1 || true
  unset ASAN_OPTIONS
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$out/fuzz-$t.log" | tail -1)
  cov=$(grep -oE 'cov: [0-9]+' "$out/fuzz-$t.log" | tail -1 | cut -d' ' -f2)
  after=$(ls "$findings" | wc -l)
  new=$((after - before))
  [ "$new" -eq 0 ] || found=1
  printf '%-16s %8s %12s %10s %8s %9s\n' "$t" "$seconds" "${execs:-0}" "$(( ${execs:-0} / seconds ))" "${cov:-?}" "$new"
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$(date -u +%FT%TZ)" "$t" "$seconds" "${execs:-0}" "${cov:-0}" \
      "$(ls "$corpus" | wc -l)" "$new" >> "$log"
  [ "$new" -eq 0 ] || { echo "  findings: $findings (log: $out/fuzz-$t.log)"; ls "$findings" | tail -n "$new" | sed 's/^/    /'; }
done
echo
echo "totals over every run logged in build-fuzz/fuzz-log.tsv:"
printf '%-16s %10s %14s %8s %9s\n' target seconds executions edges findings
awk -F'\t' 'NR > 1 { e[$2] += $4; s[$2] += $3; f[$2] += $7; if ($5 > c[$2]) c[$2] = $5 }
  END { for (t in e) printf "%-16s %10d %14d %8d %9d\n", t, s[t], e[t], c[t], f[t] }' "$log" | sort
exit "$found"
