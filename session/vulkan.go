package session

import (
	"fmt"
	"strings"

	"github.com/xinit-go/xinit-go/config"
	"github.com/xinit-go/xinit-go/gpu"
)

// VulkanPlan is what a Vulkan app will do in the session.
type VulkanPlan struct {
	Layer bool       `json:"layer"` // the app gets VK_LAYER_XINIT_present
	Why   string     `json:"why"`
	Found gpu.Vulkan `json:"found"`
}

// vulkanRule decides whether the app gets the present-by-copy layer. NVIDIA's Vulkan
// renders under Xvfb and the dummy driver but cannot present there; the layer
// presents by copying each frame to the window.
func (p *Plan) vulkanRule(cfg *config.Config, env Env) error {
	v := &p.Vulkan
	if p.Backend == config.BackendNone {
		v.Why = "no X server: Vulkan apps can render off-screen only"
		return nil
	}
	if env.Vulkan != nil {
		v.Found = env.Vulkan(env.Environ)
	}
	layer := "the present-by-copy layer " + gpu.LayerName
	if v.Found.Layer != "" {
		layer += " (" + v.Found.Layer + ")"
	}
	xOnly := p.Backend == config.BackendXvfb || p.Backend == config.BackendDummy
	switch {
	case cfg.Vulkan == config.VulkanOff:
		v.Why = "XINIT_VULKAN=off: Vulkan apps get the drivers as they are"
		if xOnly && v.Found.NvidiaICD != "" {
			v.Why += "; NVIDIA's Vulkan cannot present under " + string(p.Backend) + ", so only Mesa's lavapipe or off-screen rendering will work"
		}
	case cfg.Vulkan == config.VulkanLayer && v.Found.Layer == "":
		return fmt.Errorf("%w: XINIT_VULKAN=layer: the Vulkan layer %s is not installed (no VkLayer_xinit_present.json in %s or VK_ADD_LAYER_PATH); install it (make -C vklayer install) or use XINIT_VULKAN=auto",
			gpu.ErrUnavailable, gpu.LayerName, strings.Join(gpu.LayerDirs, ", "))
	case cfg.Vulkan == config.VulkanLayer:
		v.Layer = true
		v.Why = "XINIT_VULKAN=layer: Vulkan apps present through " + layer
	case !xOnly:
		v.Why = "the nvidia backend: NVIDIA's Vulkan presents by itself"
	case v.Found.NvidiaICD == "":
		v.Why = "no NVIDIA Vulkan driver (ICD manifest): Vulkan apps use Mesa's lavapipe, which presents by itself"
	case v.Found.Layer == "":
		v.Why = "NVIDIA's Vulkan driver is there (" + v.Found.NvidiaICD + ") but cannot present under " + string(p.Backend) +
			", and " + gpu.LayerName + " is not installed: Vulkan apps will fail to create a swapchain; install the layer, or make the app render with OpenGL"
	default:
		v.Layer = true
		v.Why = "NVIDIA's Vulkan driver (" + v.Found.NvidiaICD + ") cannot present under " + string(p.Backend) +
			": Vulkan apps render on the GPU and present through " + layer
	}
	return nil
}

// appEnv enables the layer for the app: first in VK_INSTANCE_LAYERS, above any
// layer the user asked for, so that, where the loader follows that order, those
// see (and validate) the layer's own calls. Debian 12's loader does not: see
// docs/vulkan.md.
func (v VulkanPlan) appEnv(env []string) []string {
	if !v.Layer {
		return env
	}
	have := lookupEnv(env, "VK_INSTANCE_LAYERS")
	for _, l := range strings.Split(have, ":") {
		if l == gpu.LayerName {
			return env
		}
	}
	val := gpu.LayerName
	if have != "" {
		val += ":" + have
	}
	return setEnv(env, "VK_INSTANCE_LAYERS", val)
}
