#!/usr/bin/env bash
# The Vulkan present layer on an NVIDIA machine, through xinit-go as PID 1 under Xvfb:
# the paths CI (Mesa's lavapipe) cannot take, and the layer's figures.
#   1. `xinit-go check`: its Vulkan line must name the real reason NVIDIA's Vulkan
#      cannot present (no /dev/nvidia-modeset: the display driver capability), or say
#      that it can;
#   2. swapchain-test (xcb, xlib, PutImage, a late GPU) with the Khronos validation
#      layer below the present layer, and (xcb) above it: the layer must find out by
#      itself whether the driver presents (no stand-in plays it here), and no
#      validation message may appear but those swapchain-test provokes on purpose,
#      which must appear where the validation layer is above;
#   3. vkcube at 1920x1080 in FIFO, MAILBOX and IMMEDIATE through the layer, with its
#      per-frame cost (XINIT_VK_PRESENT_STATS=1): the copy into the MIT-SHM segments
#      (VK_EXT_external_memory_host) on the app's queue, the same on a transfer queue
#      of the layer's own (XINIT_VK_PRESENT_XFER=1), the copy through a mapped buffer
#      (XINIT_VK_PRESENT_IMPORT=0), and, with BEFORE=DIR, an earlier build of the layer.
#
# Usage: [DEBS=DIR] [BEFORE=DIR] [FRAMES=N] scripts/gpu-vklayer.sh XINIT_GO LAYER_BUILD_DIR OUT_DIR
#   LAYER_BUILD_DIR is vklayer/build (the layer, its manifest, swapchain-test and
#   test-offer). DEBS: packages to unpack first (Xvfb, vulkan-tools, the validation
#   layers). BEFORE: the build directory of another layer to compare (its manifest and
#   library). Writes OUT_DIR/report.md and OUT_DIR/logs.tar.gz; exits non-zero when a
#   check fails. Needs root.
set -uo pipefail
bin=${1:?usage: gpu-vklayer.sh XINIT_GO LAYER_BUILD_DIR OUT_DIR}
build=$(cd "${2:?usage}" && pwd)
out=${3:?usage}
frames=${FRAMES:-3000}
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
# NVIDIA's ICD alone: a software device (lavapipe) must not be the one a test picks.
for icd in /usr/share/vulkan/icd.d/nvidia_icd.json /etc/vulkan/icd.d/nvidia_icd.json \
  /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json; do
  [ -e "$icd" ] && { export VK_DRIVER_FILES=$icd; break; }
done
vdir=/usr/share/vulkan/explicit_layer.d # the validation layer's manifest
export XINIT_LOG_FORMAT=json XINIT_HEALTH_ADDR=off XINIT_WEB_ADDR=off XINIT_VNC=off XINIT_BACKEND=xvfb
ns=(unshare --pid --fork --mount-proc --kill-child)

# vcheck FILE ABOVE prints how many validation messages FILE has that swapchain-test
# did not provoke on purpose, plus, with ABOVE=1, the on-purpose marks that got none.
vcheck() {
  awk -v above="$2" '
    /^swapchain-test: on purpose: done$/ { if (above && seen == 0) bad++; allowed = ""; next }
    /^swapchain-test: on purpose: / { match($0, /\([A-Za-z0-9_-]+\)$/); allowed = substr($0, RSTART + 1, RLENGTH - 2); seen = 0; next }
    /Validation Error|Validation Warning|VUID-/ { if (allowed != "" && index($0, allowed)) seen++; else bad++ }
    END { print bad + 0 }' "$1"
}

say "# The Vulkan layer on $(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>&1 | head -1)"
say ""
say "date: $(date -u +%Y-%m-%dT%H:%M:%SZ); CPUs: $(nproc); xinit-go: $($bin version | head -1); /dev/nvidia-modeset: $([ -e /dev/nvidia-modeset ] && echo there || echo missing)"
say ""

# 1. check's Vulkan line.
say "## xinit-go check"
say ""
VK_ADD_LAYER_PATH="$build" "$bin" check >"$logs/check.txt" 2>&1
say '```'
sed -n '/^vulkan/,/NVIDIA ICD:/p' "$logs/check.txt" | tee -a "$report"
say '```'
if [ -e /dev/nvidia-modeset ]; then
  grep -q "can present under xvfb (/dev/nvidia-modeset is there)" "$logs/check.txt"
else
  grep -q "cannot present to X here: /dev/nvidia-modeset is missing: the container lacks the \`display\` driver capability" "$logs/check.txt"
fi
check "check names why NVIDIA's Vulkan can or cannot present" $?
say ""

# 2. swapchain-test under validation, below and above the layer.
d=$logs/swapchain
mkdir -p "$d"
below="VK_LAYER_PATH=$build:$vdir:$build/test-offer VK_INSTANCE_LAYERS=VK_LAYER_XINIT_present:VK_LAYER_KHRONOS_validation:VK_LAYER_XINIT_test_offer"
above="VK_LAYER_PATH=$vdir:$build:$build/test-offer VK_INSTANCE_LAYERS=VK_LAYER_KHRONOS_validation:VK_LAYER_XINIT_present:VK_LAYER_XINIT_test_offer"
mode=xcb
[ -e /dev/nvidia-modeset ] && mode=passthrough
# (sh -c reads the runs' settings from its environment: B below, A above, P the
# program, M its mode for the first run, D the log directory)
env SCREEN_RESOLUTION=1280x1024x24 XINIT_VULKAN=layer XINIT_RUNTIME_DIR=/tmp/xinit-vk-1 \
  VK_ADD_LAYER_PATH="$build" B="$below" A="$above" P="$build/swapchain-test" M=$mode D="$d" \
  "${ns[@]}" "$bin" -- sh -c '
    run() { n=$1; shift; env -u VK_ADD_LAYER_PATH "$@" >"$D/$n.log" 2>&1; echo "$n $?" >>"$D/codes"; }
    run xcb $B "$P" $M; run xlib $B "$P" xlib; run putimage $B XINIT_VK_PRESENT_SHM=0 "$P" xcb
    run late $B XINIT_TEST_GPU_LATENCY_MS=30 "$P" late; run xcb-above $A "$P" $M
    run xcb-xfer $B XINIT_VK_PRESENT_XFER=1 "$P" $M; run xcb-xfer-above $A XINIT_VK_PRESENT_XFER=1 "$P" $M' \
  sh >"$logs/swapchain-session.log" 2>&1 </dev/null
say "## swapchain-test on the GPU, the validation layer below the layer (above: xcb-above)"
say ""
for r in xcb xlib putimage late xcb-above xcb-xfer xcb-xfer-above; do
  f=$d/$r.log
  grep -q "^swapchain-test: ok" "$f" 2>/dev/null; check "$r: swapchain-test says ok" $? "$(grep -c 'VK_LAYER_XINIT_present: swapchain [0-9]*x[0-9]*,' "$f" 2>/dev/null) swapchains by copy"
  ab=0; case $r in *-above) ab=1 ;; esac
  n=$(vcheck "$f" $ab 2>/dev/null)
  [ "${n:-1}" = 0 ]; check "$r: no validation message but those provoked on purpose" $? "${n:-no log}"
done
if [ -e /dev/nvidia-modeset ]; then
  grep -q "presents to it by itself" "$d/xcb.log"; check "the layer leaves the driver's swapchains to it" $?
else
  grep -q "cannot present to it (NVIDIA's driver presents on X only with /dev/nvidia-modeset, which is missing" "$d/xcb.log"
  check "the layer finds that the driver cannot present, and says why" $?
fi
say ""
say '```'
grep -h "VK_LAYER_XINIT_present: \(X window\|swapchain\)\|swapchain-test:" "$d"/xcb.log | head -24 | tee -a "$report"
say '```'

# 3. vkcube through the layer, each present mode, 1920x1080, copying (XINIT_VULKAN=copy:
# the figures are the copy's, also where the driver could present).
cube() { # NAME LAYER_DIR MODE [ENV...]
  local name=$1 dir=$2 m=$3
  shift 3
  local log=$logs/vkcube-$name.log t0 t1 rc stats fps
  t0=$(date +%s%N)
  env SCREEN_RESOLUTION=1920x1080x24 XINIT_VULKAN=copy XINIT_RUNTIME_DIR=/tmp/xinit-vk-2 VK_ADD_LAYER_PATH="$dir" \
    XINIT_VK_PRESENT_STATS=1 "$@" "${ns[@]}" "$bin" -- vkcube --width 1920 --height 1080 --c "$frames" --present_mode "$m" >"$log" 2>&1 </dev/null
  rc=$?
  t1=$(date +%s%N)
  stats=$(grep -o 'VK_LAYER_XINIT_present: swapchain [0-9]*x[0-9]*: .*' "$log" | tail -1 | sed 's/^VK_LAYER_XINIT_present: swapchain [0-9x]*: //')
  path=$(grep -o 'presented by copy to X window 0x[0-9a-f]* through [^;]*' "$log" | tail -1 | sed 's/.* through //')
  # The whole session's time, X's start included: a lower bound of vkcube's rate.
  fps=$(awk -v a="$t0" -v b="$t1" -v n="$frames" 'BEGIN { printf "%.1f", n / ((b - a) / 1e9) }')
  say "| $name (exit $rc) | ${path:-?} | at least $fps | ${stats:-none} |"
}
say ""
say "## vkcube 1920x1080 through the layer ($frames frames; frames a second over the whole session, X's start included)"
say ""
say "| run | path | frames a second | the layer's own count and cost per shown frame |"
say "|---|---|---|---|"
for m in 2 1 0; do
  mn=$( [ $m = 2 ] && echo FIFO || { [ $m = 1 ] && echo MAILBOX || echo IMMEDIATE; } )
  cube "$mn" "$build" $m
  cube "$mn-xfer" "$build" $m XINIT_VK_PRESENT_XFER=1
  cube "$mn-buffer" "$build" $m XINIT_VK_PRESENT_IMPORT=0
  [ -n "${BEFORE:-}" ] && cube "$mn-before" "$(cd "$BEFORE" && pwd)" $m
done
grep -q "the copy runs on a transfer queue of its own" "$logs/vkcube-FIFO-xfer.log" && grep -q "the copy runs on a transfer queue of its own" "$d/xcb-xfer.log"
check "with XINIT_VK_PRESENT_XFER=1 the copy runs on a transfer queue of the layer's own" $? "$(grep -ho 'the copy runs on [^;]*' "$logs/vkcube-FIFO-xfer.log" | head -1)"
grep -q "the GPU copying into the segments" "$logs/vkcube-FIFO.log"
check "the GPU copies straight into the MIT-SHM segments (VK_EXT_external_memory_host)" $? \
  "$(grep -o 'X window 0x[0-9a-f]*: the GPU cannot copy into its MIT-SHM segments ([^)]*)' "$logs/vkcube-FIFO.log" | head -1)"
tar -C "$logs" -czf "$out/logs.tar.gz" .
say ""
say "checks failed: $fails"
exit $((fails > 0))
