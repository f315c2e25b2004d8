package session

import (
	"strings"
	"testing"

	"github.com/xinit-go/xinit-go/config"
	"github.com/xinit-go/xinit-go/gpu"
)

func TestVulkanRule(t *testing.T) {
	icd, layer := "/etc/vulkan/icd.d/nvidia_icd.json", "/usr/share/vulkan/explicit_layer.d/VkLayer_xinit_present.json"
	for _, c := range []struct {
		backend, setting string
		found            gpu.Vulkan
		on, unavailable  bool
		why              string
	}{
		{"xvfb", "auto", gpu.Vulkan{NvidiaICD: icd, Layer: layer}, true, false, "/dev/nvidia-modeset is missing: the container lacks the `display` driver capability (NVIDIA_DRIVER_CAPABILITIES must include display"},
		{"dummy", "auto", gpu.Vulkan{NvidiaICD: icd, Layer: layer}, true, false, "present by copy through"},
		{"xvfb", "auto", gpu.Vulkan{NvidiaICD: icd, Layer: layer, Modeset: true}, true, false, "can present under xvfb (/dev/nvidia-modeset is there)"},
		{"xvfb", "auto", gpu.Vulkan{NvidiaICD: icd}, false, false, "NVIDIA_DRIVER_CAPABILITIES must include display"},
		{"xvfb", "auto", gpu.Vulkan{NvidiaICD: icd, Modeset: true}, false, false, "presents under xvfb by itself"},
		{"xvfb", "copy", gpu.Vulkan{NvidiaICD: icd, Layer: layer, Modeset: true}, true, false, "XINIT_VULKAN=copy"},
		{"xvfb", "copy", gpu.Vulkan{}, false, true, "not installed"},
		{"xvfb", "off", gpu.Vulkan{NvidiaICD: icd}, false, false, "/dev/nvidia-modeset is missing"},
		{"xvfb", "auto", gpu.Vulkan{Layer: layer}, false, false, "lavapipe"},
		{"nvidia", "auto", gpu.Vulkan{NvidiaICD: icd, Layer: layer}, false, false, "presents by itself"},
		{"xvfb", "off", gpu.Vulkan{NvidiaICD: icd, Layer: layer}, false, false, "XINIT_VULKAN=off"},
		{"xvfb", "layer", gpu.Vulkan{Layer: layer}, true, false, "XINIT_VULKAN=layer"},
		{"xvfb", "layer", gpu.Vulkan{NvidiaICD: icd}, false, true, "not installed"},
		{"none", "layer", gpu.Vulkan{Layer: layer}, false, false, "no X server"},
	} {
		p := &Plan{Backend: config.Backend(c.backend)}
		err := p.vulkanRule(&config.Config{Vulkan: config.VulkanMode(c.setting)}, Env{Vulkan: func([]string) gpu.Vulkan { return c.found }})
		if IsUnavailable(err) != c.unavailable || p.Vulkan.Layer != c.on {
			t.Errorf("%s/%s/%+v: layer %v, err %v", c.backend, c.setting, c.found, p.Vulkan.Layer, err)
		}
		why := p.Vulkan.Why
		if err != nil {
			why = err.Error()
		}
		if !strings.Contains(why, c.why) {
			t.Errorf("%s/%s/%+v: why %q lacks %q", c.backend, c.setting, c.found, why, c.why)
		}
	}
}

func TestVulkanAppEnv(t *testing.T) {
	on := VulkanPlan{Layer: true}
	env := on.appEnv([]string{"A=1"})
	if lookupEnv(env, "VK_INSTANCE_LAYERS") != gpu.LayerName {
		t.Errorf("got %q", env)
	}
	env = on.appEnv([]string{"VK_INSTANCE_LAYERS=VK_LAYER_KHRONOS_validation"})
	if got := lookupEnv(env, "VK_INSTANCE_LAYERS"); got != gpu.LayerName+":VK_LAYER_KHRONOS_validation" {
		t.Errorf("the layer must come first, above the user's: %q", got)
	}
	if got := on.appEnv(env); len(got) != 1 || lookupEnv(got, "VK_INSTANCE_LAYERS") != lookupEnv(env, "VK_INSTANCE_LAYERS") {
		t.Errorf("added twice: %q", got)
	}
	if got := (VulkanPlan{}).appEnv([]string{"A=1"}); len(got) != 1 {
		t.Errorf("off: %q", got)
	}
	if lookupEnv(env, "XINIT_VK_PRESENT_DRIVER") != "" {
		t.Errorf("layer: the driver's own present must stay allowed: %q", env)
	}
	copyEnv := VulkanPlan{Layer: true, Copy: true}.appEnv([]string{"A=1"})
	if lookupEnv(copyEnv, "XINIT_VK_PRESENT_DRIVER") != "0" || lookupEnv(copyEnv, "VK_INSTANCE_LAYERS") != gpu.LayerName {
		t.Errorf("copy: %q", copyEnv)
	}
}
