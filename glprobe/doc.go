// Package glprobe owns the renderer probe: what GL renderer and Vulkan devices
// the app gets on the display. It parses `glxinfo -B` and `vulkaninfo
// --summary`, tells a software renderer from a GPU, words the advice when
// XINIT_REQUIRE_GPU=1 finds software, and makes the probe a oneshot service
// spec (`xinit-go probe-gl`, run as the app is run) whose reported result it
// keeps for the log, /status and /metrics. It knows neither the session's
// configuration nor how services run.
package glprobe
