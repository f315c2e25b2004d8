#!/usr/bin/env bash
# Builds the image and runs the session in it, where a Docker engine exists: the
# app's exit code must come out and VNC must answer. Says plainly when it skipped.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -n "${XINIT_FRESH_ROOT:-}" ]; then
  echo "image-test: NOT RUN inside the fresh-root test (XINIT_FRESH_ROOT is set): CI runs it on the machine itself"
  exit 0
fi
if ! command -v docker >/dev/null || ! docker info >/dev/null 2>&1; then
  echo "image-test: SKIPPED: no Docker engine here (scripts/rootfs-test.sh checks the image's packages without one)"
  exit 0
fi
tag=xinit-go:test
docker build -t "$tag" .
name=xinit-go-image-test-$$
port=$((15900 + RANDOM % 1000))
docker run -d --name "$name" -e VNC_PASSWORD=imagetest -e XINIT_BACKEND=xvfb -p 127.0.0.1:$port:5900 \
  "$tag" sh -c 'glxinfo -B && sleep 5 && exit 7' >/dev/null
trap 'docker rm -f "$name" >/dev/null 2>&1' EXIT
ok=1
for _ in $(seq 100); do
  if { exec 3<>/dev/tcp/127.0.0.1/$port; } 2>/dev/null && head -c 4 <&3 | grep -q RFB; then ok=0; break; fi
  sleep 0.1
done
rc=$(docker wait "$name")
docker logs "$name" 2>&1 | tail -20
[ $ok = 0 ] || { echo "FAIL: VNC did not answer"; exit 1; }
[ "$rc" = 7 ] || { echo "FAIL: exit $rc, want 7"; exit 1; }
echo "image-test: passed"
