package glprobe

import (
	"fmt"
	"strings"
)

// VulkanDevice is one physical device the Vulkan loader offers the app.
type VulkanDevice struct {
	Name string `json:"name"`
	// Type is the device's type: discrete-gpu, integrated-gpu, virtual-gpu, cpu
	// or other.
	Type   string `json:"type"`
	Driver string `json:"driver,omitempty"`
}

// VulkanResult is what the probe found of Vulkan, with the app's environment.
type VulkanResult struct {
	Devices []VulkanDevice `json:"devices"`
	// Software: there are devices and every one is a CPU (Mesa's lavapipe): a
	// Vulkan app renders on the CPU.
	Software bool `json:"software"`
	// Error says why the devices are unknown (no vulkaninfo) or why there are
	// none (no Vulkan driver); an app that does not use Vulkan does not care.
	Error string `json:"error,omitempty"`
}

// ParseVulkanInfo reads the output of `vulkaninfo --summary`: its Devices
// section, a block of "key = value" lines per GPUn.
func ParseVulkanInfo(out string) VulkanResult {
	var r VulkanResult
	in := false
	var cur *VulkanDevice
	for line := range strings.SplitSeq(out, "\n") {
		t := strings.TrimSpace(line)
		if strings.HasPrefix(t, "Devices:") {
			in = true
			continue
		}
		if !in {
			continue
		}
		if strings.HasPrefix(t, "GPU") && strings.HasSuffix(t, ":") {
			r.Devices = append(r.Devices, VulkanDevice{})
			cur = &r.Devices[len(r.Devices)-1]
			continue
		}
		k, v, ok := strings.Cut(t, "=")
		if !ok || cur == nil {
			continue
		}
		v = strings.TrimSpace(v)
		switch strings.TrimSpace(k) {
		case "deviceName":
			cur.Name = v
		case "deviceType":
			cur.Type = strings.ReplaceAll(strings.ToLower(strings.TrimPrefix(v, "PHYSICAL_DEVICE_TYPE_")), "_", "-")
		case "driverName":
			cur.Driver = v
		}
	}
	r.Software = len(r.Devices) > 0
	for _, d := range r.Devices {
		r.Software = r.Software && d.Type == "cpu"
	}
	if len(r.Devices) == 0 {
		r.Error = "vulkaninfo listed no Vulkan device"
	}
	return r
}

// VulkanSoftwareAdvice is the reason and the way out when, under
// XINIT_REQUIRE_GPU=1, every Vulkan device the app would see is a CPU.
func VulkanSoftwareAdvice(v VulkanResult, nvidiaICD string) string {
	var names []string
	for _, d := range v.Devices {
		names = append(names, fmt.Sprintf("%q (%s)", d.Name, d.Driver))
	}
	var b strings.Builder
	fmt.Fprintf(&b, "XINIT_REQUIRE_GPU=1: the app's only Vulkan device is software: %s", strings.Join(names, ", "))
	if nvidiaICD == "" {
		b.WriteString("; the Vulkan loader finds no NVIDIA ICD manifest (nvidia_icd.json)")
	} else {
		fmt.Fprintf(&b, "; NVIDIA's ICD manifest %s is there but offered no device", nvidiaICD)
	}
	b.WriteString(". To render on the GPU: run with the NVIDIA container runtime and a GPU request, NVIDIA_DRIVER_CAPABILITIES including graphics " +
		"(e.g. NVIDIA_DRIVER_CAPABILITIES=all), and VK_DRIVER_FILES / VK_ICD_FILENAMES unset or naming nvidia_icd.json; `xinit-go check` shows what is found. " +
		"To accept software rendering, unset XINIT_REQUIRE_GPU")
	return b.String()
}
