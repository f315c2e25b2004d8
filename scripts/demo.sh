#!/usr/bin/env bash
# Runs the demo: xinit-go as PID 1 of its own PID namespace with the X server,
# x11vnc on localhost:5900 (no password: localhost only) and glxgears as the app.
# Connect a VNC viewer to localhost:5900, or a browser to http://localhost:6080/.
# Ctrl-C stops it in order, and so does SIGTERM to this script (its pid is printed)
# or to its process group; make does not pass a SIGTERM sent to make itself on to
# its recipe, so `kill <make's pid>` waits. A stop by signal exits 0: that is how a
# demo ends.
# Variables pass through, e.g. SCREEN_RESOLUTION=1280x1024 XINIT_BACKEND=dummy
# XINIT_VNC_PORT=5901 XINIT_DISPLAY=:7.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" != 0 ]; then exec sudo -E bash "$0" "$@"; fi
bin=$PWD/bin/xinit-go
export XINIT_RUNTIME_DIR=${XINIT_RUNTIME_DIR:-/tmp/xinit-go-demo}
export SCREEN_RESOLUTION=${SCREEN_RESOLUTION:-1280x1024}
"$bin" check || true
echo
web=${XINIT_WEB_ADDR:-:6080}
echo "Starting the session: VNC on localhost:${XINIT_VNC_PORT:-5900}, the browser view on http://localhost:${web##*:}/, health on ${XINIT_HEALTH_ADDR:-:9810}."
echo "Ctrl-C stops it (or: kill $$)."
# The app prints the renderer once, then draws (glxgears -info would print every
# GL extension).
app='glxinfo -B 2>&1 | grep -E "OpenGL (vendor|renderer|version) string"; exec glxgears'
# unshare blocks SIGTERM while it waits for its child, so the session runs in a
# process group of its own and this script hands the stop to it: xinit-go, PID 1
# there, gets exactly one SIGTERM (a second would kill at once).
setsid unshare --pid --fork --mount-proc --kill-child "$bin" -- sh -c "$app" &
pid=$!
stopped=""
stop() {
  [ -n "$stopped" ] && return
  stopped=1
  kill -TERM -- "-$pid" 2>/dev/null || true
}
trap stop INT TERM HUP
# wait returns early (above 128) when a trapped signal arrives; the session is over
# only when its process is gone, and then wait gives its status.
while kill -0 "$pid" 2>/dev/null; do wait "$pid" || true; done
rc=0
wait "$pid" || rc=$?
if [ -n "$stopped" ] && { [ "$rc" = 143 ] || [ "$rc" = 130 ] || [ "$rc" = 0 ]; }; then
  echo "demo stopped"
  exit 0
fi
exit "$rc"
