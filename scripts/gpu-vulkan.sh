#!/usr/bin/env bash
# Vulkan through xinit-go on an NVIDIA machine: vkcube on the GPU under Xvfb and the
# dummy Xorg, presented by VK_LAYER_XINIT_present; frames per second at 1920x1080
# with and without the copy to the window, and the layer's own cost per frame.
#
# Usage: scripts/gpu-vulkan.sh XINIT_GO_BINARY LAYER_DIR OUT_DIR
#   LAYER_DIR holds libVkLayer_xinit_present.so and its manifest (vklayer/build).
# Needs: vkcube, vulkaninfo, Xvfb, x11vnc, vncsnapshot, unshare; root.
set -uo pipefail
bin=${1:?usage}; layer=${2:?usage}; out=${3:?usage}
mkdir -p "$out"
report=$out/vulkan.md
: >"$report"
say() { echo "$*" | tee -a "$report"; }
export XINIT_LOG_FORMAT=json XINIT_HEALTH_ADDR=127.0.0.1:9810 VK_ADD_LAYER_PATH=$layer
frames=${FRAMES:-3000}
ns=(unshare --pid --fork --mount-proc --kill-child)
"${ns[@]}" true 2>/dev/null || ns=()

say "# Vulkan through xinit-go"
say "date: $(date -u +%Y-%m-%dT%H:%M:%SZ); $(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader)"
say '```'; vulkaninfo --summary 2>&1 | grep -E 'apiVersion|deviceName|driverName' | head -6 | tee -a "$report"; say '```'
say '```'; XINIT_BACKEND=xvfb "$bin" check 2>&1 | grep -A1 '^vulkan' | tee -a "$report"; say '```'

# run TAG BACKEND VULKAN EXTRA-ENV... -- APP: one session; prints wall time of the app.
run() {
  local tag=$1 backend=$2 vk=$3; shift 3
  local env=(XINIT_BACKEND=$backend XINIT_VULKAN=$vk XINIT_RUNTIME_DIR=/tmp/xv-$tag SCREEN_RESOLUTION=1920x1080
    VNC_PASSWORD=gpu-vk01 XINIT_VK_PRESENT_STATS=1)
  while [ "$1" != -- ]; do env+=("$1"); shift; done; shift
  env "${env[@]}" "${ns[@]}" "$bin" -- sh -c "$*" >"$out/session-$tag.log" 2>&1
  local rc=$?
  say ""; say "### $tag (backend $backend, XINIT_VULKAN=$vk): exit $rc"
  say '```'
  grep -v '^{' "$out/session-$tag.log" | grep -v '^$' | head -12 | tee -a "$report"
  grep -o '"msg":"vulkan".*' "$out/session-$tag.log" | head -1 | cut -c1-300 | tee -a "$report"
  say '```'
}
# timed ARGS: vkcube at 1920x1080 for $frames frames, and its frame rate.
timed() { echo "s=\$(date +%s%N); vkcube --width 1920 --height 1080 --c $frames $*; e=\$(date +%s%N); awk -v s=\$s -v e=\$e 'BEGIN { printf \"FPS: %.1f over $frames frames\\n\", $frames * 1e9 / (e - s) }'"; }
# shot: vkcube shown for 6 s and a VNC picture of it
shot="(vkcube --width 1920 --height 1080 & p=\$!; sleep 6; vncsnapshot -passwd /tmp/xv-\$T/client/vncpasswd -allowblank 127.0.0.1::5900 $out/vnc-\$T.jpg >/dev/null 2>&1; kill \$p)"

run xvfb-off xvfb off -- "vkcube --c 50 2>&1 | tail -3"
run xvfb-layer xvfb auto -- "T=xvfb-layer; $shot; $(timed)"
run xvfb-nocopy xvfb auto XINIT_VK_PRESENT_COPY=0 -- "$(timed)"
run xvfb-immediate xvfb auto -- "$(timed --present_mode 0)"
run xvfb-noshm xvfb auto XINIT_VK_PRESENT_SHM=0 -- "$(timed)"
if command -v Xorg >/dev/null; then
  run dummy-layer dummy auto -- "T=dummy-layer; $shot; $(timed)"
  run dummy-nocopy dummy auto XINIT_VK_PRESENT_COPY=0 -- "$(timed)"
fi
ls -la "$out" | tee -a "$report"
