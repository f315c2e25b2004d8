#!/usr/bin/env bash
# Proves, on an NVIDIA machine, that the app's GL lands on the GPU, and measures
# what that is worth, all through xinit-go as PID 1 at 1920x1080:
#   1. XINIT_REQUIRE_GPU=1 passes with NVIDIA's GLX, and fails (exit 69, the app
#      never started) with __GLX_VENDOR_LIBRARY_NAME=mesa;
#   2. the time to a usable session with and without XINIT_REQUIRE_GPU (the cost
#      of the GL renderer probe before the app);
#   3. glmark2 (Debian's glmark2-x11) per scene and in total, on the GPU (NVIDIA's
#      GLX) and on llvmpipe, under the xvfb and dummy backends, windowed and
#      --off-screen: the gap between the two is the cost of getting each frame
#      from the GPU to the X server.
#
# Usage: [DEBS=DIR] [DURATION=SECONDS] scripts/gpu-proof.sh XINIT_GO_BINARY OUT_DIR
#   DEBS: Debian packages to unpack first (those not installed), as the machine
#         has no network: Xvfb, Xorg with the dummy driver, Mesa, mesa-utils,
#         glmark2-x11 and their dependencies.
#   DURATION: seconds per glmark2 scene (default 3).
# Writes OUT_DIR/report.md, OUT_DIR/glmark2.csv and OUT_DIR/logs.tar.gz; exits
# non-zero when a check fails. Needs root.
set -uo pipefail
bin=${1:?usage: gpu-proof.sh XINIT_GO_BINARY OUT_DIR}
out=${2:?usage: gpu-proof.sh XINIT_GO_BINARY OUT_DIR}
dur=${DURATION:-3}
mkdir -p "$out"
logs=$(mktemp -d /tmp/gpu-proof.XXXXXX)
report=$out/report.md
csv=$out/glmark2.csv
: >"$report"
fails=0
say() { echo "$*" | tee -a "$report"; }
check() { # NAME CONDITION-EXIT-CODE DETAIL
  if [ "$2" = 0 ]; then say "- PASS $1${3:+: $3}"; else say "- FAIL $1${3:+: $3}"; fails=$((fails + 1)); fi
}

if [ -n "${DEBS:-}" ]; then
  n=0
  for f in "$DEBS"/*.deb; do
    p=$(basename "$f" | cut -d_ -f1)
    dpkg -s "$p" >/dev/null 2>&1 && continue
    dpkg -x "$f" / && n=$((n + 1))
  done
  ldconfig
  echo "unpacked $n packages from $DEBS"
fi

export XINIT_LOG_FORMAT=json XINIT_HEALTH_ADDR=${XINIT_HEALTH_ADDR:-127.0.0.1:9810} XINIT_VNC=off SCREEN_RESOLUTION=1920x1080x24
ns=(unshare --pid --fork --mount-proc --kill-child)
if ! "${ns[@]}" true 2>/dev/null; then ns=(); fi

say "# GPU proof: XINIT_REQUIRE_GPU and glmark2 through xinit-go"
say ""
say "date: $(date -u +%Y-%m-%dT%H:%M:%SZ); kernel: $(uname -r); CPUs: $(nproc); xinit-go: $($bin version)"
say ""
say '```'
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>&1 | tee -a "$report"
glmark2 --version 2>&1 | head -1 | tee -a "$report"
say '```'

say ""; say "## xinit-go check"; say '```'
"$bin" check 2>&1 | tee -a "$report" >"$logs/check.txt"
say '```'

# session TAG ENV... -- APP...: one session as PID 1; sets rc and ms (exec to
# /readyz 200, polled every 10 ms; 0 when it never answered).
session() {
  local tag=$1; shift
  local env=()
  while [ "$1" != -- ]; do env+=("$1"); shift; done
  shift
  local t0 t1=0 pid
  t0=$(date +%s%N)
  env XINIT_RUNTIME_DIR=/tmp/xinit-proof-$tag "${env[@]}" "${ns[@]}" "$bin" -- "$@" >"$logs/session-$tag.log" 2>&1 &
  pid=$!
  until "$bin" health --ready >/dev/null 2>&1; do
    kill -0 $pid 2>/dev/null || break
    sleep 0.01
  done
  kill -0 $pid 2>/dev/null && t1=$(date +%s%N)
  wait $pid
  rc=$?
  ms=0
  [ "$t1" != 0 ] && ms=$(((t1 - t0) / 1000000))
}
gl_line() { grep -o '"logger":"xinit-go.gl".*"renderer":"[^"]*"' "$logs/session-$1.log" | grep -o '"renderer":"[^"]*"' | head -1; }

say ""; say "## XINIT_REQUIRE_GPU=1"
session require-nvidia XINIT_BACKEND=xvfb XINIT_REQUIRE_GPU=1 -- sh -c 'touch /tmp/xinit-proof-app-ran; exit 0'
check "NVIDIA's GLX: the session runs the app and exits 0" "$([ $rc = 0 ] && [ -e /tmp/xinit-proof-app-ran ]; echo $?)" "exit $rc; probe: $(gl_line require-nvidia)"
gl_line require-nvidia | grep -q NVIDIA; check "the probe's renderer names the NVIDIA GPU" $?
rm -f /tmp/xinit-proof-app-ran
session require-mesa XINIT_BACKEND=xvfb XINIT_REQUIRE_GPU=1 __GLX_VENDOR_LIBRARY_NAME=mesa -- sh -c 'touch /tmp/xinit-proof-app-ran; exit 0'
check "__GLX_VENDOR_LIBRARY_NAME=mesa: exit 69" "$([ $rc = 69 ]; echo $?)" "exit $rc"
check "__GLX_VENDOR_LIBRARY_NAME=mesa: the app never started" "$([ ! -e /tmp/xinit-proof-app-ran ]; echo $?)"
say '```'
grep -o 'XINIT_REQUIRE_GPU=1: the app.s GL renderer is software.*' "$logs/session-require-mesa.log" | head -1 |
  sed 's/"}$//; s/\\"/"/g' | tee -a "$report"
say '```'
grep -q 'selects that library' "$logs/session-require-mesa.log"; check "the message names the vendor variable and what to set" $?

say ""; say "## Time to a usable session (exec to /readyz 200), the app sleeping"
for req in 0 1; do
  times=()
  for i in 1 2 3 4 5; do
    session ready-$req-$i XINIT_BACKEND=xvfb XINIT_REQUIRE_GPU=$req XINIT_APP_TIMEOUT=2s -- sleep 60
    times+=("$ms")
  done
  say "- XINIT_REQUIRE_GPU=$req: ${times[*]} ms"
done

# glmark2's scenes, each for DURATION seconds: the default set's scenes, one
# variant each, so the whole run stays short.
scenes=(build:use-vbo=true texture shading:shading=phong bump:bump-render=high-poly effect2d pulsar desktop
  buffer ideas jellyfish terrain shadow refract conditionals function loop)
bargs=()
for s in "${scenes[@]}"; do bargs+=(-b "$s:duration=$dur"); done

echo "backend,renderer,mode,scene,fps" >"$csv"
say ""; say "## glmark2 at 1920x1080, ${dur} s a scene"
for backend in xvfb dummy; do
  if [ $backend = dummy ] && ! [ -e /usr/lib/xorg/modules/drivers/dummy_drv.so ]; then
    say "- SKIP dummy: no dummy_drv.so"; continue
  fi
  for renderer in nvidia mesa; do
    for mode in windowed off-screen; do
      tag=glmark2-$backend-$renderer-$mode
      extra=()
      [ $mode = off-screen ] && extra=(--off-screen)
      session $tag XINIT_BACKEND=$backend __GLX_VENDOR_LIBRARY_NAME=$renderer XINIT_APP_TIMEOUT=240s -- \
        sh -c "glmark2 -s 1920x1080 ${extra[*]} $(printf "%q " "${bargs[@]}") >$logs/$tag.txt 2>&1"
      score=$(grep -o 'glmark2 Score: [0-9]*' "$logs/$tag.txt" | grep -o '[0-9]*$')
      rend=$(grep -o 'GL_RENDERER: *.*' "$logs/$tag.txt" | head -1 | sed 's/GL_RENDERER: *//')
      check "$tag: score ${score:-none} ($rend)" "$([ $rc = 0 ] && [ -n "$score" ]; echo $?)" "exit $rc"
      grep -E '^\[' "$logs/$tag.txt" | sed -E 's/^\[([a-z0-9]+)\] .*FPS: ([0-9]+).*/\1,\2/' |
        while IFS=, read -r scene fps; do echo "$backend,$renderer,$mode,$scene,$fps"; done >>"$csv"
      echo "$backend,$renderer,$mode,total,${score:-}" >>"$csv"
    done
  done
done

# The table: a row a scene, GPU and llvmpipe FPS windowed and off-screen, and
# the GPU's windowed share of its off-screen rate (what presenting costs).
for backend in xvfb dummy; do
  grep -q "^$backend," "$csv" || continue
  say ""; say "### $backend"
  say ""
  say "| scene | GPU windowed | GPU off-screen | windowed/off-screen | llvmpipe windowed | llvmpipe off-screen | GPU/llvmpipe windowed |"
  say "|---|---|---|---|---|---|---|"
  awk -F, -v b=$backend '$1==b { v[$4","$2","$3]=$5; if (!($4 in seen)) { seen[$4]=1; order[n++]=$4 } }
    function r(a, c) { return (a > 0 && c > 0) ? sprintf("%.2f", a / c) : "-" }
    END { for (i = 0; i < n; i++) { s = order[i]
      gw = v[s",nvidia,windowed"]; go = v[s",nvidia,off-screen"]; mw = v[s",mesa,windowed"]; mo = v[s",mesa,off-screen"]
      printf "| %s | %s | %s | %s | %s | %s | %s |\n", s, gw, go, r(gw, go), mw, mo, r(gw, mw) } }' "$csv" | tee -a "$report"
done

say ""
say "failures: $fails"
tar -C "$logs" -czf "$out/logs.tar.gz" .
rm -rf "$logs" /tmp/xinit-proof-*
exit $((fails > 0))
