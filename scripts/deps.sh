#!/usr/bin/env bash
# Installs what xinit-go needs on Debian or Ubuntu (as root, or with sudo), beyond
# the README's prerequisites (Go and make):
#   scripts/deps.sh demo   what `make demo` needs: the C compiler (cgo, for NVML; the
#                          Vulkan layer and its headers), the X servers, x11vnc, the
#                          GL programs, noVNC's files for the browser view and ffmpeg
#                          for its smooth view
#   scripts/deps.sh test   (default) all that, plus what the tests, the benchmark's
#                          peers, the root file system test and the image test need
# Safe to run again: it installs only what is missing. It waits for another apt
# (unattended-upgrades on a fresh machine) to let go of its lock.
set -euo pipefail
what=${1:-test}
demo=(
  gcc libc6-dev ca-certificates
  xvfb xserver-xorg-core xserver-xorg-video-dummy x11vnc
  mesa-utils libgl1-mesa-dri x11-utils xauth util-linux procps novnc ffmpeg
  make libvulkan-dev libxcb1-dev libxcb-shm0-dev libx11-dev libx11-xcb-dev
)
test=(
  vncsnapshot psmisc curl chromium
  mesa-vulkan-drivers vulkan-tools vulkan-validationlayers
  tini dumb-init catatonit supervisor s6
  debootstrap podman runc uidmap
)
case $what in
  demo) pkgs=("${demo[@]}") ;;
  test) pkgs=("${demo[@]}" "${test[@]}") ;;
  *) echo "usage: deps.sh [demo|test]" >&2; exit 2 ;;
esac
# Go itself is a prerequisite (Debian 12's golang-go is too old for go.mod).
want=$(awk '$1 == "go" { print $2; exit }' "$(dirname "$0")/../go.mod")
if ! command -v go >/dev/null; then
  echo "deps: go not found on PATH; install Go $want or later from the official tarball" \
    "into /usr/local/go and add /usr/local/go/bin to PATH (see the README's Quick start)" >&2
  exit 1
fi
have=$(go env GOVERSION); have=${have#go}
if [ "$(printf '%s\n%s\n' "$want" "$have" | sort -V | head -1)" != "$want" ]; then
  echo "deps: go.mod wants Go $want, $(command -v go) is $have; install Go $want or later" \
    "from the official tarball into /usr/local/go (see the README's Quick start)" >&2
  exit 1
fi
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
sudo=()
[ "$(id -u)" = 0 ] || sudo=(sudo)
apt_get=("${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 -o Acquire::Retries=3)
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]} (waits while another apt holds its lock)"
  "${apt_get[@]}" update -qq
  log=$(mktemp)
  if ! "${apt_get[@]}" install -y -qq --no-install-recommends "${missing[@]}" >"$log" 2>&1; then
    cat "$log"; rm -f "$log"; exit 1
  fi
  rm -f "$log"
fi
if [ "$what" = test ] && ! command -v staticcheck >/dev/null && [ ! -x "$(go env GOPATH)/bin/staticcheck" ]; then
  echo "installing staticcheck"
  go install honnef.co/go/tools/cmd/staticcheck@v0.8.2
fi
