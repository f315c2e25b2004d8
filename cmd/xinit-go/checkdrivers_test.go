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
	} {
		if !strings.Contains(out.String(), w) {
			t.Errorf("check lacks %q:\n%s", w, out.String())
		}
	}
}
