#!/usr/bin/env bash
# test.sh - installs what is missing, builds from scratch in build/, runs every test.
#   scripts/test.sh            unit + integration tests (what CI runs)
#   scripts/test.sh -L unit    any ctest arguments pass through
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/install-deps.sh"
"$root/scripts/build.sh" "$root/build"
cd "$root/build"
ctest --output-on-failure --timeout 600 "$@"
