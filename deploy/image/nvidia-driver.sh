#!/bin/sh
# Installs NVIDIA's user-space driver VERSION with its X driver (nvidia_drv.so) and
# GLX server module (libglxserver_nvidia.so) into the image, with the X paths set to
# where Debian's Xorg looks: unlike the toolkit's driver container, which sends the
# X parts to /tmp/null. The kernel module is the host's: it is not built here.
# VERSION must be the host driver's exactly (xinit-go check compares them).
set -eu
version=${1:?usage: nvidia-driver.sh VERSION}
apt-get update -qq
apt-get install -y -qq --no-install-recommends curl ca-certificates kmod pkg-config libglvnd-dev
run=/tmp/NVIDIA-Linux-x86_64-$version.run
curl -fsSL -o "$run" "https://us.download.nvidia.com/XFree86/Linux-x86_64/$version/NVIDIA-Linux-x86_64-$version.run"
sh "$run" --silent --no-kernel-module --no-kernel-module-source --no-nvidia-modprobe \
  --no-backup --no-check-for-alternate-installs --no-systemd --no-questions --ui=none \
  --x-prefix=/usr \
  --x-module-path=/usr/lib/xorg/modules \
  --x-library-path=/usr/lib/x86_64-linux-gnu \
  --x-sysconfig-path=/usr/share/X11/xorg.conf.d \
  --no-install-libglvnd
rm -f "$run"
apt-get purge -y -qq curl pkg-config libglvnd-dev >/dev/null
apt-get autoremove -y -qq >/dev/null
rm -rf /var/lib/apt/lists/*
