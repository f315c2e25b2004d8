#!/usr/bin/env bash
# The present-by-copy Vulkan layer on an NVIDIA machine, through xinit-go as PID 1
# under Xvfb: the paths CI (Mesa's lavapipe) cannot take, and the layer's figures.
#   1. swapchain-test (xcb, xlib, PutImage, a late GPU) with the Khronos validation
#      layer below the layer: acquire must signal by sync file (NVIDIA's driver
#      imports them), and no validation message may appear;
#   2. vkcube at 1920x1080 in FIFO, MAILBOX and IMMEDIATE through the layer, with
#      its per-frame cost (XINIT_VK_PRESENT_STATS=1).
#
# Usage: [DEBS=DIR] scripts/gpu-vklayer.sh XINIT_GO LAYER_BUILD_DIR OUT_DIR
#   LAYER_BUILD_DIR is vklayer/build (the layer, its manifest, swapchain-test and
#   test-offer). DEBS: packages to unpack first (Xvfb, Mesa, vulkan-tools, the
#   validation layers). Writes OUT_DIR/report.md and OUT_DIR/logs.tar.gz; exits
#   non-zero when a check fails. Needs root.
set -uo pipefail
bin=${1:?usage: gpu-vklayer.sh XINIT_GO LAYER_BUILD_DIR OUT_DIR}
build=$(cd "${2:?usage}" && pwd)
out=${3:?usage}
mkdir -p "$out"
logs=$(mktemp -d /tmp/gpu-vklayer.XXXXXX)
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
export XINIT_LOG_FORMAT=json XINIT_HEALTH_ADDR=off XINIT_WEB_ADDR=off XINIT_VNC=off XINIT_BACKEND=xvfb
ns=(unshare --pid --fork --mount-proc --kill-child)

say "# The Vulkan layer on $(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>&1 | head -1)"
say ""
say "date: $(date -u +%Y-%m-%dT%H:%M:%SZ); CPUs: $(nproc); xinit-go: $($bin version | head -1)"
say ""

# 1. swapchain-test under validation.
d=$logs/swapchain
mkdir -p "$d"
env SCREEN_RESOLUTION=1280x1024x24 XINIT_VULKAN=layer XINIT_RUNTIME_DIR=/tmp/xinit-vk-1 \
  VK_ADD_LAYER_PATH="$build:$build/test-offer" \
  VK_INSTANCE_LAYERS=VK_LAYER_KHRONOS_validation:VK_LAYER_XINIT_test_offer \
  "${ns[@]}" "$bin" -- sh -c '"$1" xcb >"$2/xcb.log" 2>&1; a=$?; "$1" xlib >"$2/xlib.log" 2>&1; b=$?;
    XINIT_VK_PRESENT_SHM=0 "$1" xcb >"$2/putimage.log" 2>&1; c=$?;
    XINIT_TEST_GPU_LATENCY_MS=30 "$1" late >"$2/late.log" 2>&1; e=$?; echo "$a $b $c $e" >"$2/codes"' \
  sh "$build/swapchain-test" "$d" >"$logs/swapchain-session.log" 2>&1
say "## swapchain-test on the GPU, the validation layer below the layer"
say ""
for r in xcb xlib putimage late; do
  f=$d/$r.log
  grep -q "^swapchain-test: ok" "$f" 2>/dev/null; check "$r: swapchain-test says ok" $? "$(grep -c 'VK_LAYER_XINIT_present: swapchain' "$f" 2>/dev/null) swapchains"
  n=$(grep -ciE 'validation (error|warning)|VUID-' "$f" 2>/dev/null)
  [ "${n:-0}" = 0 ]; check "$r: no validation message" $? "${n:-0}"
done
grep -q "acquire signals by sync file" "$d/xcb.log"; check "acquire signals by sync file (the driver imports them)" $? "$(grep -o 'acquire signals [a-z ]*' "$d/xcb.log" | sort -u | tr '\n' ';')"
say ""
say '```'
grep -h "VK_LAYER_XINIT_present: swapchain\|swapchain-test:" "$d"/xcb.log | head -20 | tee -a "$report"
say '```'

# 2. vkcube through the layer, each present mode, 1920x1080.
say ""
say "## vkcube 1920x1080 through the layer (3000 frames; the app's own frame rate and the layer's cost)"
say ""
say "| present mode | frames per second (3000 over the whole session) | the layer's own count |"
say "|---|---|---|"
for m in 2 1 0; do
  name=$( [ $m = 2 ] && echo FIFO || { [ $m = 1 ] && echo MAILBOX || echo IMMEDIATE; } )
  log=$logs/vkcube-$name.log
  t0=$(date +%s%N)
  env SCREEN_RESOLUTION=1920x1080x24 XINIT_VULKAN=layer XINIT_RUNTIME_DIR=/tmp/xinit-vk-2 VK_ADD_LAYER_PATH="$build" \
    XINIT_VK_PRESENT_STATS=1 "${ns[@]}" "$bin" -- vkcube --width 1920 --height 1080 --c 3000 --present_mode $m >"$log" 2>&1
  rc=$?
  t1=$(date +%s%N)
  stats=$(grep -o 'VK_LAYER_XINIT_present: swapchain [0-9]*x[0-9]*: .*' "$log" | tail -1 | sed 's/^VK_LAYER_XINIT_present: //')
  # The whole session's time, X's start included: a lower bound of vkcube's rate.
  fps=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", 3000 / ((b - a) / 1e9) }')
  say "| $name (exit $rc) | at least $fps | ${stats:-none} |"
done
tar -C "$logs" -czf "$out/logs.tar.gz" .
say ""
say "checks failed: $fails"
exit $((fails > 0))
