#!/usr/bin/env bash
# Installs what xinit-go's demo, tests and benchmarks need on Debian or Ubuntu
# (run as root, or with sudo available). Safe to run again: it installs only what
# is missing.
set -euo pipefail
pkgs=(
  xvfb xserver-xorg-core xserver-xorg-video-dummy x11vnc
  mesa-utils libgl1-mesa-dri x11-utils xauth vncsnapshot ffmpeg novnc chromium
  util-linux procps psmisc curl
  tini dumb-init catatonit supervisor s6 debootstrap
  make gcc libc6-dev libvulkan-dev libxcb1-dev libxcb-shm0-dev libx11-dev libx11-xcb-dev
  mesa-vulkan-drivers vulkan-tools vulkan-validationlayers
)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
sudo=""
[ "$(id -u)" = 0 ] || sudo=sudo
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
if ! command -v staticcheck >/dev/null && [ ! -x "$(go env GOPATH)/bin/staticcheck" ]; then
  echo "installing staticcheck"
  go install honnef.co/go/tools/cmd/staticcheck@v0.8.2
fi
