#!/usr/bin/env bash
# test.sh - installs what is missing, builds from scratch and runs every test.
#   scripts/test.sh              unit + integration tests in build/ (what CI runs first)
#   scripts/test.sh --sanitize   the same suite with ASan + UBSan in build-asan/ (the plugin
#                                is loaded into the stock broker with the runtimes preloaded)
#   scripts/test.sh -L unit      any other arguments pass through to ctest
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=$root/build
cmake_args=()
if [ "${1:-}" = "--sanitize" ]; then
  shift
  build=$root/build-asan
  cmake_args+=(-DRC_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug)
  export RC_BROKER_PRELOAD="$(gcc -print-file-name=libasan.so):$(gcc -print-file-name=libubsan.so)"
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:strict_string_checks=1
  export LSAN_OPTIONS="suppressions=$root/tests/sanitizers/lsan.supp:print_suppressions=0"
  export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
fi
"$root/scripts/install-deps.sh"
"$root/scripts/build.sh" "$build" "${cmake_args[@]}"
cd "$build"
if [ "$build" = "$root/build-asan" ]; then
  # valgrind cannot run a process that carries the ASan runtime: that check is the plain run's.
  ctest --output-on-failure --timeout 600 -E valgrind "$@"
else
  ctest --output-on-failure --timeout 600 "$@"
fi
