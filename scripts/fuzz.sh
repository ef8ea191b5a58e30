#!/usr/bin/env bash
# fuzz.sh [SECONDS] - builds the libFuzzer targets with clang + ASan + UBSan in build-fuzz/
# and runs each for SECONDS (default 60) on a copy of its seed corpus in tests/fuzz/corpus/.
# A crash, leak or sanitizer report fails the script and leaves the reproducer in
# build-fuzz/artifacts/. Longer runs: scripts/fuzz.sh 3600.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
secs=${1:-60}
build=$root/build-fuzz
"$root/scripts/install-deps.sh"
CC=clang cmake -S "$root" -B "$build" -DCMAKE_C_COMPILER=clang -DRC_FUZZ=ON \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j "$(nproc)" --target fuzz_pipeline fuzz_topic fuzz_config fuzz_pubnub fuzz_rest fuzz_wsg
mkdir -p "$build/artifacts"
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
export ASAN_OPTIONS=detect_leaks=1
for t in pipeline topic config pubnub rest wsg; do
  work=$build/corpus-$t
  mkdir -p "$work"
  cp -n "$root/tests/fuzz/corpus/$t/"* "$work/" 2>/dev/null || true
  echo "== fuzz_$t for ${secs}s"
  "$build/tests/fuzz_$t" -max_total_time="$secs" -max_len=70000 -timeout=10 -rss_limit_mb=2048 \
    -artifact_prefix="$build/artifacts/$t-" -print_final_stats=1 "$work" 2>"$build/fuzz_$t.log" \
    || { tail -n 60 "$build/fuzz_$t.log"; exit 1; }
  grep -E '^(stat::number_of_executed_units|#[0-9]+.*DONE)' "$build/fuzz_$t.log" | tail -n 2 || true
done
echo "fuzzing: 6 passed, 0 failed"
