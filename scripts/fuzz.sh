#!/usr/bin/env bash
# fuzz.sh [SECONDS] - builds the libFuzzer targets with clang + ASan + UBSan in build-fuzz/
# and runs each for SECONDS (default 60) on a copy of its seed corpus in tests/fuzz/corpus/.
# The targets are whatever tests/fuzz/fuzz_*.c exist: tests/CMakeLists.txt makes one per
# file, builds them all as `fuzzers` and lists them in build-fuzz/tests/fuzz_targets.txt,
# which this script reads (no list of its own).
# A crash, leak or sanitizer report fails the script and leaves the reproducer in
# build-fuzz/artifacts/. Longer runs: scripts/fuzz.sh 3600.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
secs=${1:-60}
build=$root/build-fuzz
"$root/scripts/install-deps.sh"
CC=clang cmake -S "$root" -B "$build" -DCMAKE_C_COMPILER=clang -DRC_FUZZ=ON \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j "$(nproc)" --target fuzzers
mapfile -t targets < "$build/tests/fuzz_targets.txt"
[ "${#targets[@]}" -gt 0 ] || { echo "no fuzz targets in $build/tests/fuzz_targets.txt"; exit 1; }
mkdir -p "$build/artifacts"
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
export ASAN_OPTIONS=detect_leaks=1
for target in "${targets[@]}"; do
  t=${target#fuzz_}
  [ -d "$root/tests/fuzz/corpus/$t" ] || { echo "$target has no seed corpus tests/fuzz/corpus/$t/"; exit 1; }
  work=$build/corpus-$t
  mkdir -p "$work"
  cp -n "$root/tests/fuzz/corpus/$t/"* "$work/" 2>/dev/null || true
  echo "== $target for ${secs}s"
  "$build/tests/$target" -max_total_time="$secs" -max_len=70000 -timeout=10 -rss_limit_mb=2048 \
    -artifact_prefix="$build/artifacts/$t-" -print_final_stats=1 "$work" 2>"$build/$target.log" \
    || { tail -n 60 "$build/$target.log"; exit 1; }
  grep -E '^(stat::number_of_executed_units|#[0-9]+.*DONE)' "$build/$target.log" | tail -n 2 || true
done
echo "fuzzing: ${#targets[@]} passed, 0 failed"
