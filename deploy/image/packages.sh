#!/bin/sh
# Installs the runtime image's packages. The Dockerfile runs this script, and CI
# runs the same script in a Debian 12 root file system made with debootstrap, so a
# package missing here fails CI, not a user's first run.
set -eu
export DEBIAN_FRONTEND=noninteractive
# No documentation, manual pages or translations (copyright files stay), as in
# Debian's slim images; a debootstrapped base lacks this setting.
cat >/etc/dpkg/dpkg.cfg.d/90xinit-go-nodoc <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
EOF
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
# noVNC's browser client (the browser view serves it): only the package's files.
# Its dependencies (nodejs, Python, numpy, websockify) serve nothing here, since
# xinit-go bridges the WebSocket itself, and would add about 100 MB.
tmp=$(mktemp -d)
(cd "$tmp" && apt-get download -qq novnc 2>/dev/null)
dpkg-deb -x "$tmp"/novnc_*.deb "$tmp/x"
mkdir -p /usr/share/novnc /usr/share/doc/novnc
cp -a "$tmp/x/usr/share/novnc/." /usr/share/novnc/
cp -a "$tmp/x/usr/share/doc/novnc/." /usr/share/doc/novnc/
rm -rf "$tmp"
test -f /usr/share/novnc/core/rfb.js
apt-get clean
rm -rf /var/lib/apt/lists/*
