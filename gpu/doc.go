// Package gpu finds NVIDIA GPUs through NVML (github.com/NVIDIA/go-nvml) and checks
// what each display backend needs of the driver stack.
//
// NVML's view is the truth: the container runtime has already applied
// NVIDIA_VISIBLE_DEVICES. A machine without libnvidia-ml.so.1 (no GPU, or the
// runtime did not mount the driver) is a normal answer, ErrNoGPU, not a crash.
// go-nvml's PciInfo carries domain, bus and device numbers but no function, so the
// whole address is parsed from its BusId string.
//
// The nvidia backend's preflight checks, each failure one sentence with its fix:
// the X driver nvidia_drv.so and the GLX module libglxserver_nvidia.so exist and are
// the host driver's version (the NVIDIA container toolkit 1.13+ mounts both only when
// NVIDIA_DRIVER_CAPABILITIES includes graphics or display); the GPU is not in MIG
// mode (MIG instances cannot render graphics); the /dev/nvidia* nodes exist. GPU
// rendering under Xvfb or the dummy driver needs only libGLX_nvidia.so.0 to load.
package gpu
