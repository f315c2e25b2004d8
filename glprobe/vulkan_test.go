package glprobe

import (
	"strings"
	"testing"
)

const lavapipeSummary = `==========
VULKANINFO
==========

Vulkan Instance Version: 1.3.239

Devices:
========
GPU0:
	apiVersion         = 1.3.230
	driverVersion      = 0.0.1
	vendorID           = 0x10005
	deviceType         = PHYSICAL_DEVICE_TYPE_CPU
	deviceName         = llvmpipe (LLVM 15.0.6, 256 bits)
	driverID           = DRIVER_ID_MESA_LLVMPIPE
	driverName         = llvmpipe
`

const h200Summary = `Devices:
========
GPU0:
	apiVersion         = 1.4.312
	deviceType         = PHYSICAL_DEVICE_TYPE_DISCRETE_GPU
	deviceName         = NVIDIA H200
	driverName         = NVIDIA
GPU1:
	deviceType         = PHYSICAL_DEVICE_TYPE_CPU
	deviceName         = llvmpipe (LLVM 15.0.6, 256 bits)
	driverName         = llvmpipe
`

func TestParseVulkanInfo(t *testing.T) {
	r := ParseVulkanInfo(lavapipeSummary)
	if len(r.Devices) != 1 || r.Devices[0] != (VulkanDevice{Name: "llvmpipe (LLVM 15.0.6, 256 bits)", Type: "cpu", Driver: "llvmpipe"}) || !r.Software || r.Error != "" {
		t.Errorf("lavapipe: %+v", r)
	}
	r = ParseVulkanInfo(h200Summary)
	if len(r.Devices) != 2 || r.Devices[0].Type != "discrete-gpu" || r.Devices[0].Name != "NVIDIA H200" || r.Software {
		t.Errorf("H200 beside lavapipe is not software: %+v", r)
	}
	r = ParseVulkanInfo("ERROR: [Loader Message] Code 0 : vkCreateInstance: Found no drivers!\n")
	if len(r.Devices) != 0 || r.Software || r.Error == "" {
		t.Errorf("no driver: %+v", r)
	}
}

func TestVulkanSoftwareAdvice(t *testing.T) {
	a := VulkanSoftwareAdvice(ParseVulkanInfo(lavapipeSummary), "")
	for _, w := range []string{"XINIT_REQUIRE_GPU=1", `"llvmpipe (LLVM 15.0.6, 256 bits)" (llvmpipe)`, "no NVIDIA ICD manifest", "NVIDIA_DRIVER_CAPABILITIES", "unset XINIT_REQUIRE_GPU"} {
		if !strings.Contains(a, w) {
			t.Errorf("advice lacks %q: %s", w, a)
		}
	}
}
