package main

import (
	"context"
	"strings"
	"testing"

	"github.com/xinit-go/xinit-go/gpu"
)

func TestCheckReportsEGLAndVulkan(t *testing.T) {
	var out, errs strings.Builder
	sys := system{environ: []string{"XINIT_BACKEND=xvfb"}, gpu: h200, glx: func() (bool, string) { return true, "/usr/lib/libGLX_nvidia.so.0" },
		egl: func([]string) gpu.Loadable {
			return gpu.Loadable{Loads: true, Path: "/usr/lib/libEGL_nvidia.so.580.159.04", Manifest: "/usr/share/glvnd/egl_vendor.d/10_nvidia.json"}
		},
		vulkanICD: func(string) gpu.Loadable {
			return gpu.Loadable{Path: "libGLX_nvidia.so.0: cannot open shared object file", Manifest: "/etc/vulkan/icd.d/nvidia_icd.json"}
		},
		vulkan: func([]string) gpu.Vulkan { return gpu.Vulkan{NvidiaICD: "/etc/vulkan/icd.d/nvidia_icd.json"} },
	}
	if code := run(context.Background(), []string{"check"}, sys, &out, &errs); code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out.String(), errs.String())
	}
	for _, w := range []string{
		"EGL vendor libEGL_nvidia.so.0   loads (/usr/lib/libEGL_nvidia.so.580.159.04); glvnd vendor file /usr/share/glvnd/egl_vendor.d/10_nvidia.json",
		"Vulkan ICD (NVIDIA)             does not load: libGLX_nvidia.so.0: cannot open shared object file; manifest /etc/vulkan/icd.d/nvidia_icd.json",
		// the real cause, not Xvfb: the device node that the display capability brings
		"cannot present to X here: /dev/nvidia-modeset is missing: the container lacks the `display` driver capability (NVIDIA_DRIVER_CAPABILITIES must include display",
		"/dev/nvidia-modeset: missing (NVIDIA's Vulkan cannot present on Xvfb or dummy)",
	} {
		if !strings.Contains(out.String(), w) {
			t.Errorf("check lacks %q:\n%s", w, out.String())
		}
	}
}

// With /dev/nvidia-modeset, NVIDIA's Vulkan presents under Xvfb by itself: check says
// so, and that the layer leaves the driver's swapchains alone.
func TestCheckVulkanWithModeset(t *testing.T) {
	var out, errs strings.Builder
	sys := system{environ: []string{"XINIT_BACKEND=xvfb"}, gpu: h200, glx: func() (bool, string) { return true, "/usr/lib/libGLX_nvidia.so.0" },
		egl:       func([]string) gpu.Loadable { return gpu.Loadable{} },
		vulkanICD: func(string) gpu.Loadable { return gpu.Loadable{} },
		vulkan: func([]string) gpu.Vulkan {
			return gpu.Vulkan{NvidiaICD: "/etc/vulkan/icd.d/nvidia_icd.json", Layer: "/usr/share/vulkan/explicit_layer.d/VkLayer_xinit_present.json", Modeset: true}
		},
	}
	if code := run(context.Background(), []string{"check"}, sys, &out, &errs); code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out.String(), errs.String())
	}
	for _, w := range []string{
		"can present under xvfb (/dev/nvidia-modeset is there)",
		"leaves swapchains to the driver and copies only where its present fails",
		"/dev/nvidia-modeset: there",
	} {
		if !strings.Contains(out.String(), w) {
			t.Errorf("check lacks %q:\n%s", w, out.String())
		}
	}
	if strings.Contains(out.String(), "cannot present to X here") {
		t.Errorf("check blames a missing device node:\n%s", out.String())
	}
}
