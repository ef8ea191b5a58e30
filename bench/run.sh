#!/usr/bin/env bash
# run.sh [--quick] [--plugin PATH] [other bench.py options] - the benchmark, in one command
# (bench/README.md). Without --plugin it first builds the plugin into build/ with
# scripts/build.sh (incremental: nothing to do when it is up to date). Everything it
# starts listens on 127.0.0.1 and is stopped by bench.py, also on Ctrl-C or failure.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
plugin=
args=()
while [ $# -gt 0 ]; do
	case $1 in
	--plugin) plugin=${2:?--plugin needs a path}; shift 2 ;;
	--plugin=*) plugin=${1#--plugin=}; shift ;;
	*) args+=("$1"); shift ;;
	esac
done
if [ -z "$plugin" ]; then
	"$root/scripts/build.sh" "$root/build"
	plugin=$root/build/mosquitto_ringcentral.so
fi
exec /usr/bin/python3 "$root/bench/bench.py" --plugin "$plugin" "${args[@]}"
