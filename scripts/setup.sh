#!/usr/bin/env bash
# Installs what building and testing pvmkit needs on Debian 12 (as root, or with sudo).
set -euo pipefail

packages=(
  cmake ninja-build g++ clang-14 libclang-rt-14-dev ccache pkg-config git
  libhwloc-dev hwloc librange-v3-dev doctest-dev libcli11-dev libbenchmark-dev libxen-dev libvirt-dev
  libvirt-daemon libvirt-daemon-driver-qemu libvirt-clients qemu-system-x86
)
missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "setup: installing ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
echo "setup: all build dependencies present"
