#!/bin/sh
# Installs the runtime image's packages. The Dockerfile runs this script, and CI
# runs the same script in a Debian 12 root file system made with debootstrap, so a
# package missing here fails CI, not a user's first run.
set -eu
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends \
  xvfb \
  xserver-xorg-core \
  xserver-xorg-video-dummy \
  x11vnc \
  mesa-utils \
  libgl1-mesa-dri \
  libgl1 libglx0 libegl1 libopengl0 libglvnd0 \
  x11-utils \
  xauth \
  ffmpeg \
  libvulkan1 libxcb-shm0 libx11-xcb1 \
  ca-certificates
apt-get clean
rm -rf /var/lib/apt/lists/*
