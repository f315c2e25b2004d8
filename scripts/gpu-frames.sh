#!/usr/bin/env bash
# Frames seen, on an NVIDIA machine, through xinit-go as PID 1 under Xvfb at
# 1920x1080:
#   1. the updates /status counted (updates_total, read every 50 ms) inside each
#      of glxgears' own 5 s windows (NVIDIA's GLX, full screen);
#   2. the updates /status counted against the frames vkcube presented through
#      the Vulkan layer (the layer's own count, XINIT_VK_PRESENT_STATS=1);
#   3. the slow-screen rule (XINIT_SLOW_FPS=5, XINIT_SLOW_FOR=5s) failing an app
#      that draws 1 frame a second with 75 and its picture;
#   4. XINIT_APP_READY=frame: the time from exec to the app's first frame, for
#      glxgears and for vkcube; and 79 for an app that shows only black;
#   5. what counting costs xinit-go (xinit-bench -meter: 60 and 500 a second).
#
# Usage: [DEBS=DIR] [PARTS=12345] scripts/gpu-frames.sh XINIT_GO XINIT_BENCH LAYER_BUILD_DIR OUT_DIR
#   DEBS: packages to unpack first (Xvfb, Mesa, mesa-utils, vulkan-tools).
#   PARTS: the numbers of the parts to run (default all).
#   Writes OUT_DIR/report.md and OUT_DIR/logs.tar.gz; exits non-zero when a check
#   fails. Needs root and bash (it asks /status over bash's /dev/tcp).
set -uo pipefail
bin=${1:?usage: gpu-frames.sh XINIT_GO XINIT_BENCH LAYER_BUILD_DIR OUT_DIR}
bench=${2:?usage}
build=$(cd "${3:?usage}" && pwd)
out=${4:?usage}
mkdir -p "$out"
logs=$(mktemp -d /tmp/gpu-frames.XXXXXX)
report=$out/report.md
: >"$report"
fails=0
say() { echo "$*" | tee -a "$report"; }
check() { if [ "$2" = 0 ]; then say "- PASS $1${3:+: $3}"; else say "- FAIL $1${3:+: $3}"; fails=$((fails + 1)); fi; }

if [ -n "${DEBS:-}" ]; then
  bash "$DEBS/unpack.sh" "$DEBS"
fi
if ! [ -e /usr/share/vulkan/icd.d/nvidia_icd.json ] && ! [ -e /etc/vulkan/icd.d/nvidia_icd.json ] &&
  [ -e /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json ]; then
  export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
fi
export XINIT_LOG_FORMAT=json XINIT_WEB_ADDR=off XINIT_VNC=off XINIT_BACKEND=xvfb SCREEN_RESOLUTION=1920x1080x24
export __GL_SYNC_TO_VBLANK=0 vblank_mode=0
ns=(unshare --pid --fork --mount-proc --kill-child)
port=9831

# status ADDR_PORT: /status's body, or nothing.
status() {
  { exec 3<>"/dev/tcp/127.0.0.1/$1"; } 2>/dev/null || return 0
  printf 'GET /status HTTP/1.0\r\nHost: localhost\r\n\r\n' >&3
  timeout 2 cat <&3
  exec 3<&-
}
field() { grep -o "\"$1\": [0-9.e+-]*" | head -1 | awk '{print $2}'; }

say "# Frames seen on $(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>&1 | head -1)"
say ""
say "date: $(date -u +%Y-%m-%dT%H:%M:%SZ); CPUs: $(nproc); xinit-go: $($bin version | head -1); 1920x1080, XINIT_BACKEND=xvfb"
say ""

if [[ ${PARTS:-12345} == *1* ]]; then
# 1. glxgears: its own 5 s counts against the updates /status counted in the
# same windows. glxgears starts its clock at its first frame and prints every 5 s
# of it; updates_total is read every 50 ms with the time, the first update is
# glxgears' first frame, and the count at each 5 s boundary after it is
# interpolated between the samples around it. Windows 2 to 4 are compared (the
# first holds the start).
say "## 1. glxgears -fullscreen (NVIDIA's GLX): the updates counted against its own counts, window by window"
say ""
port=$((port + 1))
env XINIT_HEALTH_ADDR=127.0.0.1:$port XINIT_RUNTIME_DIR=/tmp/xf-1 "${ns[@]}" "$bin" -- \
  timeout -s INT 24 glxgears -fullscreen >"$logs/gears.log" 2>&1 &
pid=$!
: >"$logs/gears-total.txt"
while kill -0 $pid 2>/dev/null; do
  t=$(status $port | field updates_total)
  [ -n "$t" ] && echo "$(date +%s.%N) $t" >>"$logs/gears-total.txt"
  sleep 0.05
done
wait $pid
grep -o '^[0-9]* frames in 5.0 seconds' "$logs/gears.log" | awk '{print $1}' >"$logs/gears-own.txt"
# The counts at t0 + 5k, k = 1..4, t0 the first sample with an update (less
# half the sampling interval: the update came between two samples).
awk '
  NR == FNR { own[FNR] = $1; nown = FNR; next }
  { t[n] = $1; c[n] = $2; n++ }
  END {
    for (i = 0; i < n && c[i] == 0; i++) {}
    if (i == 0 || i == n || nown < 4) { print "none"; exit }
    t0 = (t[i - 1] + t[i]) / 2
    for (k = 1; k <= 4; k++) {
      at = t0 + 5 * k
      for (j = i; j < n - 1 && t[j + 1] < at; j++) {}
      if (j >= n - 1) { print "none"; exit }
      seen[k] = c[j] + (c[j + 1] - c[j]) * (at - t[j]) / (t[j + 1] - t[j])
    }
    prev = 0
    for (k = 1; k <= 4; k++) { win[k] = seen[k] - prev; prev = seen[k] }
    for (k = 2; k <= 4; k++) { a += own[k]; b += win[k]; printf "window %d: glxgears %d, counted %.0f (%+.2f%%)\n", k, own[k], win[k], (win[k] - own[k]) / own[k] * 100 > "/dev/stderr" }
    printf "%d %.0f\n", a, b
  }' "$logs/gears-own.txt" "$logs/gears-total.txt" 2>"$logs/gears-windows.txt" >"$logs/gears-sum.txt"
read -r own seen <"$logs/gears-sum.txt"
while read -r line; do say "- $line"; done <"$logs/gears-windows.txt"
say "glxgears' own frames in windows 2 to 4: ${own:-none}; updates counted in the same windows: ${seen:-none}"
awk -v a="${own:-0}" -v b="${seen:-0}" 'BEGIN { exit !(a > 0 && b > 0 && (a - b) / a < 0.05 && (b - a) / a < 0.05) }'
check "glxgears: the updates counted within 5% of the app's own frames" $? "$(awk -v a="${own:-0}" -v b="${seen:-0}" 'BEGIN { if (a > 0) printf "%.2f%%", (b - a) / a * 100 }')"
say ""

fi

if [[ ${PARTS:-12345} == *2* ]]; then
# 2. vkcube through the layer: the updates counted against the frames it showed.
say "## 2. vkcube 1920x1080 through the layer (FIFO): updates counted against frames shown"
say ""
port=$((port + 1))
env XINIT_HEALTH_ADDR=127.0.0.1:$port XINIT_RUNTIME_DIR=/tmp/xf-2 XINIT_VULKAN=layer VK_ADD_LAYER_PATH="$build" \
  XINIT_VK_PRESENT_STATS=1 "${ns[@]}" "$bin" -- sh -c 'sleep 2; vkcube --width 1920 --height 1080 --c 4000 >"$1" 2>&1; sleep 4' \
  sh "$logs/vkcube-app.log" >"$logs/vkcube.log" 2>&1 &
pid=$!
sleep 1
before=$(status $port | field updates_total)
after=""
while kill -0 $pid 2>/dev/null; do
  t=$(status $port | field updates_total)
  [ -n "$t" ] && after=$t
  sleep 0.5
done
wait $pid
shown=$(grep -o 'swapchain [0-9]*x[0-9]*: [0-9]* frames shown' "$logs/vkcube-app.log" "$logs/vkcube.log" | awk '{ s += $(NF - 2) } END { print s + 0 }')
counted=$(( ${after:-0} - ${before:-0} ))
say "frames the layer showed: $shown; updates /status counted over the run: $counted (before $before, after $after)"
awk -v a="$shown" -v b="$counted" 'BEGIN { exit !(a > 0 && (a - b) / a < 0.05 && (b - a) / a < 0.05) }'
check "vkcube: the updates counted within 5% of the frames shown" $? "$(awk -v a="$shown" -v b="$counted" 'BEGIN { if (a > 0) printf "%.2f%%", (b - a) / a * 100 }')"
say ""

fi

if [[ ${PARTS:-12345} == *3* ]]; then
# 3. The slow-screen rule against an app that draws once a second.
say "## 3. The slow-screen rule: an app that draws 1 frame a second, XINIT_SLOW_FPS=5, XINIT_SLOW_FOR=5s"
say ""
mkdir -p /tmp/xf-art
rm -rf /tmp/xf-art/*
t0=$(date +%s%N)
env XINIT_HEALTH_ADDR=off XINIT_RUNTIME_DIR=/tmp/xf-3 XINIT_SLOW_FPS=5 XINIT_SLOW_FOR=5s XINIT_ARTIFACTS=/tmp/xf-art \
  "${ns[@]}" "$bin" -- "$bench" helper paint 1 >"$logs/slow.log" 2>&1
rc=$?
t1=$(date +%s%N)
[ $rc = 75 ]; check "exit 75" $? "exit $rc after $(( (t1 - t0) / 1000000 )) ms"
ls /tmp/xf-art/*/slow-screen.png >/dev/null 2>&1; check "slow-screen.png in the bundle" $?
say "$(grep -o '"msg":"slow screen[^"]*"' "$logs/slow.log" | head -1)"
cp -r /tmp/xf-art "$logs/slow-bundle" 2>/dev/null
say ""

fi

if [[ ${PARTS:-12345} == *4* ]]; then
# 4. Ready on the first frame.
say "## 4. XINIT_APP_READY=frame: exec to the first frame"
say ""
say "| app | exit (glxgears: 124, stopped by timeout) | exec to /readyz 200 (ms) | app start to first frame (xinit-go's log) |"
say "|---|---|---|---|"
for app in gears vkcube; do
  port=$((port + 1))
  case $app in
  gears) argv=(timeout -s INT 6 glxgears -fullscreen) ;;
  vkcube) argv=(vkcube --width 1920 --height 1080 --c 2000) ;;
  esac
  t0=$(date +%s%N)
  env XINIT_HEALTH_ADDR=127.0.0.1:$port XINIT_RUNTIME_DIR=/tmp/xf-4 XINIT_APP_READY=frame XINIT_VULKAN=layer VK_ADD_LAYER_PATH="$build" \
    "${ns[@]}" "$bin" -- "${argv[@]}" >"$logs/ready-$app.log" 2>&1 &
  pid=$!
  ready=""
  while kill -0 $pid 2>/dev/null && [ -z "$ready" ]; do
    if status $port | grep -q '"ready": true'; then ready=$(( ($(date +%s%N) - t0) / 1000000 )); fi
    sleep 0.01
  done
  wait $pid
  rc=$?
  after=$(grep -o '"msg":"the app.s first frame is on the screen","after":[0-9.]*' "$logs/ready-$app.log" | grep -o '[0-9.]*$' | awk '{ printf "%.0f ms", $1 * 1000 }' | head -1)
  say "| $app | $rc | ${ready:-never} | ${after:-none} |"
  [ -n "$ready" ]; check "$app: ready on its first frame" $?
done
env XINIT_HEALTH_ADDR=off XINIT_RUNTIME_DIR=/tmp/xf-5 XINIT_APP_READY=frame XINIT_APP_READY_TIMEOUT=3s \
  "${ns[@]}" "$bin" -- sleep 60 >"$logs/noframe.log" 2>&1
rc=$?
[ $rc = 79 ]; check "an app that draws nothing: exit 79 after XINIT_APP_READY_TIMEOUT=3s" $? "exit $rc"
say ""

fi

if [[ ${PARTS:-12345} == *5* ]]; then
# 5. The cost of counting.
say "## 5. What counting costs xinit-go"
say ""
"$bench" -xinit "$bin" -meter -runs 1 >"$logs/meter.md" 2>&1
check "xinit-bench -meter" $?
grep '^|' "$logs/meter.md" | tee -a "$report"
say ""

fi

tar -C "$logs" -czf "$out/logs.tar.gz" .
say "checks failed: $fails"
exit $((fails > 0))
