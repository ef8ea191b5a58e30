#!/usr/bin/env bash
# demo.sh - the README's first command: installs what is missing, builds, then runs the
# broker with the plugin fed by the local simulator and prints live notifications.
#   scripts/demo.sh                 until Ctrl-C
#   scripts/demo.sh --duration 30   for 30 seconds
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/install-deps.sh"
"$root/scripts/build.sh" "$root/build" >/dev/null
export RC_PLUGIN="$root/build/mosquitto_ringcentral.so" RC_SOURCE_DIR="$root"
exec /usr/bin/python3 "$root/scripts/demo.py" "$@"
