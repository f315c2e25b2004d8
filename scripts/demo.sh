#!/usr/bin/env bash
# Runs the demo: xinit-go as PID 1 of its own PID namespace with the X server,
# x11vnc on localhost:5900 (no password: localhost only) and glxgears as the app.
# Connect a VNC viewer to localhost:5900, or a browser to http://localhost:6080/;
# Ctrl-C (or SIGTERM) stops it in order.
# Variables pass through, e.g. SCREEN_RESOLUTION=1280x1024 XINIT_BACKEND=dummy.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$PWD/bin/xinit-go
export XINIT_LOG_FORMAT=${XINIT_LOG_FORMAT:-console}
export XINIT_RUNTIME_DIR=${XINIT_RUNTIME_DIR:-/tmp/xinit-go-demo}
export SCREEN_RESOLUTION=${SCREEN_RESOLUTION:-1280x1024}
run=(unshare --pid --fork --mount-proc --kill-child)
[ "$(id -u)" = 0 ] || run=(sudo -E "${run[@]}")
"$bin" check || true
echo
web=${XINIT_WEB_ADDR:-:6080}
echo "Starting the session: VNC on localhost:${XINIT_VNC_PORT:-5900}, the browser view on http://localhost:${web##*:}/, health on ${XINIT_HEALTH_ADDR:-:9810}. Ctrl-C stops it."
exec "${run[@]}" "$bin" -- glxgears -info
