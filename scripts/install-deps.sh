#!/usr/bin/env bash
# install-deps.sh - installs the Debian 12 packages needed to build, run and test the plugin.
# Skips apt when everything is already there, so repeated runs are fast.
set -euo pipefail

packages=(
  build-essential cmake pkg-config ca-certificates openssl
  mosquitto mosquitto-dev libmosquitto-dev mosquitto-clients
  libcurl4-openssl-dev libjson-c-dev libssl-dev libcunit1-dev libwebsockets-dev
  python3 python3-paho-mqtt python3-cryptography python3-websockets python3-jinja2
  clang libclang-rt-14-dev valgrind procps
  dpkg-dev file debootstrap   # cpack -G DEB (dpkg-shlibdeps, file); the package test's chroot
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "installing: ${missing[*]}"
SUDO=
[ "$(id -u)" -eq 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
