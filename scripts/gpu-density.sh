#!/usr/bin/env bash
# How many GPU-rendered sessions one machine holds: `xinit-bench density` on an
# NVIDIA machine, N = 1, 2, 4, ... sessions at once (each xinit-go as PID 1 of its
# own PID namespace, Xvfb at 1920x1080, x11vnc), vkcube through the Vulkan layer
# and glmark2's terrain scene, until the median session falls under 30 FPS.
#
# Usage: scripts/gpu-density.sh XINIT_GO XINIT_BENCH LAYER_DIR OUT_DIR [density flags...]
#   LAYER_DIR holds libVkLayer_xinit_present.so and its manifest (vklayer/build).
# Needs: root, unshare, Xvfb, x11vnc, Mesa's GLX (Xvfb's GLX extension), NVIDIA's
# GLX and Vulkan libraries, vkcube, glmark2 (Debian's glmark2-x11), nvidia-smi.
# Writes OUT_DIR/env.txt, check.txt, density.md (the tables), density.json (every
# session's figures), density.png (the plot) and logs.tar.gz (every session's output).
set -uo pipefail
bin=${1:?usage: gpu-density.sh XINIT_GO XINIT_BENCH LAYER_DIR OUT_DIR [flags]}
bench=${2:?usage}
layer=${3:?usage}
out=${4:?usage}
shift 4
mkdir -p "$out"
export VK_ADD_LAYER_PATH=$layer
if ! [ -e /usr/share/vulkan/icd.d/nvidia_icd.json ] && ! [ -e /etc/vulkan/icd.d/nvidia_icd.json ] &&
  [ -e /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json ]; then
  export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
fi
{
  date -u +%Y-%m-%dT%H:%M:%SZ
  nvidia-smi --query-gpu=name,driver_version,memory.total,compute_mode --format=csv,noheader
  echo "cores: $(nproc)"
  grep -E 'MemTotal|MemAvailable' /proc/meminfo
  glmark2 --version 2>&1 | head -1
  "$bin" version
} >"$out/env.txt" 2>&1
cat "$out/env.txt"
XINIT_BACKEND=xvfb "$bin" check >"$out/check.txt" 2>&1
grep -E '^(backend|vulkan|GLX vendor)' "$out/check.txt"
logs=$(mktemp -d /tmp/density-logs.XXXXXX)
"$bench" density -xinit "$bin" -json "$out/density.json" -md "$out/density.md" -png "$out/density.png" \
  -logs "$logs" -v "$@"
rc=$?
tar -C "$logs" -czf "$out/logs.tar.gz" .
rm -rf "$logs"
exit $rc
