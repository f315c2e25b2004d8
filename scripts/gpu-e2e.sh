#!/usr/bin/env bash
# The GPU path end to end on an NVIDIA machine: detection, BusID, the nvidia
# backend's preflight, and the whole session with GPU-accelerated GLX under Xvfb
# (and the dummy Xorg when it is installed), with FPS against Mesa's llvmpipe.
#
# Usage: scripts/gpu-e2e.sh XINIT_GO_BINARY OUT_DIR
# Needs: nvidia-smi, Xvfb, x11vnc, vncsnapshot, glxinfo, glxgears, unshare; root.
# Prints a report and writes OUT_DIR/report.md plus the pictures; exits non-zero
# when a check fails.
set -uo pipefail
bin=${1:?usage: gpu-e2e.sh XINIT_GO_BINARY OUT_DIR}
out=${2:?usage: gpu-e2e.sh XINIT_GO_BINARY OUT_DIR}
mkdir -p "$out"
report=$out/report.md
: >"$report"
fails=0
say() { echo "$*" | tee -a "$report"; }
check() { # NAME CONDITION-EXIT-CODE DETAIL
  if [ "$2" = 0 ]; then say "- PASS $1${3:+: $3}"; else say "- FAIL $1${3:+: $3}"; fails=$((fails + 1)); fi
}
export XINIT_LOG_FORMAT=json XINIT_HEALTH_ADDR=127.0.0.1:9810

say "# GPU end-to-end run"
say ""
say "date: $(date -u +%Y-%m-%dT%H:%M:%SZ); kernel: $(uname -r); xinit-go: $($bin version)"
say ""
smi=$(nvidia-smi --query-gpu=index,name,pci.bus_id,driver_version,uuid,mig.mode.current --format=csv,noheader 2>&1)
say '```'; say "$smi"; say '```'
hex=$(echo "$smi" | head -1 | cut -d, -f3 | tr -d ' ')
drv=$(echo "$smi" | head -1 | cut -d, -f4 | tr -d ' ')
IFS=':.' read -r dom bus dev fn <<<"$hex"
want_busid=$(printf 'PCI:%d:%d:%d' "0x$bus" "0x$dev" "0x$fn")
[ "$((16#$dom))" != 0 ] && want_busid=$(printf 'PCI:%d@%d:%d:%d' "0x$bus" "0x$dom" "0x$dev" "0x$fn")

say ""; say "## xinit-go check"; say '```'
"$bin" check >"$out/check.txt" 2>&1; check_rc=$?
tee -a "$report" <"$out/check.txt" >/dev/null; say '```'
check "check exits 0" "$check_rc"
grep -q "NVIDIA driver *$drv" "$out/check.txt"; check "driver version matches nvidia-smi ($drv)" $?
grep -q "$want_busid" "$out/check.txt"; check "BusID is nvidia-smi's $hex in decimal ($want_busid)" $?

say ""; say "## xinit-go xorgconf"; say '```'
"$bin" xorgconf >"$out/xorg.conf" 2>&1; xc_rc=$?
tee -a "$report" <"$out/xorg.conf" >/dev/null; say '```'
check "xorgconf exits 0" "$xc_rc"
grep -q "BusID \"$want_busid\"" "$out/xorg.conf"; check "xorg.conf BusID $want_busid" $?

say ""; say "## nvidia backend without an X driver"
XINIT_BACKEND=nvidia XINIT_HEALTH_ADDR=off "$bin" -- true >"$out/nvidia.txt" 2>&1; rc=$?
say '```'; grep -v '^{' "$out/nvidia.txt" | tee -a "$report" >/dev/null; say '```'
check "exit 69" "$([ $rc = 69 ]; echo $?)" "got $rc"
for word in nvidia_drv.so "$drv" NVIDIA_DRIVER_CAPABILITIES XINIT_BACKEND=xvfb; do
  grep -q -- "$word" "$out/nvidia.txt"; check "message names $word" $?
done

# session BACKEND GLX-VENDOR-OR-EMPTY TAG: the whole session; the app runs glxinfo,
# glxgears for 12 s, takes a VNC snapshot, and exits 5 with the gears still up.
session() {
  local backend=$1 vendor=$2 tag=$3 dir=$out
  # The VNC client reads the same rfbauth file that xinit-go wrote for x11vnc:
  # vncsnapshot's -passwd takes that file's path, never a password.
  local app="glxinfo -B >$dir/glxinfo-$tag.txt 2>&1; glxgears >$dir/fps-$tag.txt 2>&1 & sleep 12; vncsnapshot -passwd /tmp/xinit-$tag/client/vncpasswd -allowblank 127.0.0.1::5900 $dir/vnc-$tag.jpg >$dir/vnc-$tag.log 2>&1; exit 5"
  local env=(XINIT_BACKEND=$backend VNC_PASSWORD=gpu-e2e1 XINIT_SCREENSHOT=$dir/screen-$tag.png SCREEN_RESOLUTION=1280x1024
    XINIT_RUNTIME_DIR=/tmp/xinit-$tag)
  [ -n "$vendor" ] && env+=(__GLX_VENDOR_LIBRARY_NAME=$vendor)
  local t0=$(date +%s%N)
  env "${env[@]}" "${ns[@]}" "$bin" -- sh -c "$app" >"$dir/session-$tag.log" 2>&1 &
  local pid=$!
  until "$bin" health --ready >/dev/null 2>&1; do
    kill -0 $pid 2>/dev/null || break
    sleep 0.01
  done
  local t1=$(date +%s%N)
  wait $pid; local rc=$?
  say ""; say "### session $tag (backend $backend${vendor:+, __GLX_VENDOR_LIBRARY_NAME=$vendor set by the user})"
  say "- time to a usable session (exec to /readyz 200, polled every 10 ms): $(( (t1 - t0) / 1000000 )) ms"
  say "- chosen: $(grep -o '"msg":"backend chosen".*' "$dir/session-$tag.log" | head -1 | cut -c1-400)"
  say "- renderer: $(grep 'OpenGL renderer' "$dir/glxinfo-$tag.txt")"
  say "- glxgears: $(grep FPS "$dir/fps-$tag.txt" | tr '\n' ';')"
  check "$tag: the app's exit code 5 comes out" "$([ $rc = 5 ]; echo $?)" "got $rc"
  [ -s "$dir/vnc-$tag.jpg" ]; check "$tag: VNC snapshot with the password" $? "$(tail -1 "$dir/vnc-$tag.log")"
  [ -s "$dir/screen-$tag.png" ]; check "$tag: XINIT_SCREENSHOT written" $?
}

# xinit-go runs as PID 1 of a PID namespace where the kernel allows one.
ns=(unshare --pid --fork --mount-proc --kill-child)
if ! "${ns[@]}" true 2>/dev/null; then
  say "- NOTE: no PID namespace here; xinit-go runs as a child subreaper"
  ns=()
fi

say ""; say "## sessions"
session auto "" auto-nvidia
grep -q 'NVIDIA' "$out/glxinfo-auto-nvidia.txt"; check "auto: glxinfo's renderer names the NVIDIA GPU" $?
grep -q '"backend":"xvfb"' "$out/session-auto-nvidia.log"; check "auto chose xvfb" $?
grep -q 'through NVIDIA' "$out/session-auto-nvidia.log"; check "auto chose NVIDIA GLX" $?
session xvfb mesa xvfb-llvmpipe
grep -q 'llvmpipe' "$out/glxinfo-xvfb-llvmpipe.txt"; check "mesa: llvmpipe" $?
if command -v Xorg >/dev/null && [ -e /usr/lib/xorg/modules/drivers/dummy_drv.so ]; then
  session dummy "" dummy-nvidia
  grep -q 'NVIDIA' "$out/glxinfo-dummy-nvidia.txt"; check "dummy: glxinfo's renderer names the NVIDIA GPU" $?
fi
say ""
say "failures: $fails"
exit $((fails > 0))
