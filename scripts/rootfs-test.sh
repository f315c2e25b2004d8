#!/usr/bin/env bash
# Proves the runtime image's contents without a Docker engine: makes a Debian 12
# root file system with debootstrap, runs deploy/image/packages.sh in it (the same
# script the Dockerfile runs), copies xinit-go in, and runs the whole xvfb session
# there as PID 1 (chroot inside a PID namespace): the app's exit code must come out,
# glxinfo and xdpyinfo must work in the app, and VNC must answer.
#
# The root is kept in /var/tmp/xinit-go-rootfs (made again when packages.sh changes),
# from the debootstrap root in /var/tmp/xinit-go-debian (scripts/debian-root.sh).
#
# Usage: scripts/rootfs-test.sh XINIT_GO_BINARY [ROOTFS_DIR]   (root)
set -euo pipefail
if [ -n "${XINIT_FRESH_ROOT:-}" ]; then
  echo "rootfs-test: NOT RUN inside the fresh-root test (XINIT_FRESH_ROOT is set): CI runs it on the machine itself"
  exit 0
fi
bin=$(realpath "${1:?usage: rootfs-test.sh XINIT_GO_BINARY [ROOTFS_DIR]}")
here=$(cd "$(dirname "$0")/.." && pwd)
dir=${2:-/var/tmp/xinit-go-rootfs}

# The root file system is reused only when it was made from this very package script.
sum=$(sha256sum "$here/deploy/image/packages.sh" | cut -d' ' -f1)
if [ "$(cat "$dir/.packages.sha256" 2>/dev/null)" != "$sum" ]; then
  bash "$here/scripts/debian-root.sh" /var/tmp/xinit-go-debian
  rm -rf "$dir"
  cp -a /var/tmp/xinit-go-debian "$dir"
  cp "$here/deploy/image/packages.sh" "$dir/packages.sh"
  echo "running deploy/image/packages.sh in $dir"
  chroot "$dir" sh /packages.sh >"$dir/packages.log" 2>&1 || { cat "$dir/packages.log"; exit 1; }
  echo "$sum" >"$dir/.packages.sha256"
fi
install -m 0755 "$bin" "$dir/usr/local/bin/xinit-go"
mkdir -p "$dir/out" && rm -f "$dir/out/"*
port=$((5900 + RANDOM % 500))
display=$((600 + RANDOM % 300))
webport=$((6100 + RANDOM % 500))
app='glxinfo -B >/out/glxinfo 2>&1; xdpyinfo >/out/xdpyinfo 2>&1; i=0; while [ ! -e /out/vnc-ok ] && [ $i -lt 200 ]; do sleep 0.1; i=$((i+1)); done; exit 3'
set +e
env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin XINIT_BACKEND=auto XINIT_DISPLAY=:$display \
  XINIT_VNC_PORT=$port XINIT_HEALTH_ADDR=off XINIT_WEB_ADDR=127.0.0.1:$webport VNC_PASSWORD=rootfs12 SCREEN_RESOLUTION=1280x800 \
  unshare --pid --fork --mount --kill-child sh -c "mount -t proc proc '$dir/proc' && exec chroot '$dir' /usr/local/bin/xinit-go -- sh -c '$app'" >"$dir/out/log" 2>&1 &
pid=$!
ok=1
for _ in $(seq 300); do
  if { exec 3<>/dev/tcp/127.0.0.1/$port; } 2>/dev/null && head -c 4 <&3 | grep -q RFB; then
    exec 3>&-
    # The browser view: the smooth view's page on / (the image has ffmpeg), ours
    # for noVNC on /novnc, and noVNC's module from the image's novnc package.
    web=1
    for _ in $(seq 50); do
      if curl -sf "http://127.0.0.1:$webport/" | grep -q xinit-smooth.js && curl -sf "http://127.0.0.1:$webport/novnc" | grep -q xinit-view.js &&
        curl -sf -o /dev/null "http://127.0.0.1:$webport/core/rfb.js"; then web=0; break; fi
      sleep 0.1
    done
    touch "$dir/out/vnc-ok"; ok=0; break
  fi
  sleep 0.1
done
wait $pid; rc=$?
set -e
fails=0
[ $ok = 0 ] || { echo "FAIL: VNC never answered on port $port"; fails=1; }
[ "${web:-1}" = 0 ] || { echo "FAIL: the browser view did not serve its page and noVNC on port $webport"; fails=1; }
[ $rc = 3 ] || { echo "FAIL: exit $rc, want the app's 3"; fails=1; }
grep -q 'OpenGL renderer string' "$dir/out/glxinfo" || { echo "FAIL: glxinfo in the image:"; cat "$dir/out/glxinfo"; fails=1; }
grep -q 'dimensions: *1280x800' "$dir/out/xdpyinfo" || { echo "FAIL: xdpyinfo in the image:"; cat "$dir/out/xdpyinfo"; fails=1; }
if [ $fails != 0 ]; then
  echo "--- xinit-go's log:"; cat "$dir/out/log"; exit 1
fi
echo "rootfs test: the session ran in a Debian 12 root file system made from deploy/image/packages.sh: $(grep 'OpenGL renderer' "$dir/out/glxinfo")"
