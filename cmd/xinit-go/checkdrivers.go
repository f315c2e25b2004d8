package main

import (
	"fmt"
	"io"

	"github.com/xinit-go/xinit-go/gpu"
	"github.com/xinit-go/xinit-go/session"
)

// checkDrivers adds NVIDIA's EGL and Vulkan drivers to `xinit-go check`: many
// simulators render through EGL or Vulkan, not GLX. check is a process of its
// own, so loading a driver library here leaves PID 1 untouched.
func checkDrivers(w io.Writer, sys system, plan *session.Plan) {
	egl := sys.egl
	if egl == nil {
		egl = gpu.NvidiaEGL
	}
	vk := sys.vulkanICD
	if vk == nil {
		vk = gpu.NvidiaVulkanICD
	}
	fmt.Fprintf(w, "EGL vendor %s\t%s\n", gpu.EGLVendorLib, loadLine(egl(sys.environ), "glvnd vendor file"))
	fmt.Fprintf(w, "Vulkan ICD (NVIDIA)\t%s\n", loadLine(vk(plan.Vulkan.Found.NvidiaICD), "manifest"))
}

func loadLine(l gpu.Loadable, manifest string) string {
	s := "does not load: " + l.Path
	if l.Loads {
		s = "loads (" + l.Path + ")"
	}
	if l.Manifest != "" {
		s += "; " + manifest + " " + l.Manifest
	}
	return s
}
