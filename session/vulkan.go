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
	Copy  bool       `json:"copy"`  // and the layer always copies (XINIT_VULKAN=copy)
	Why   string     `json:"why"`
	Found gpu.Vulkan `json:"found"`
}

// noModeset is the real reason NVIDIA's Vulkan cannot present on an X server it
// does not drive, and what to set.
const noModeset = gpu.ModesetDevice + " is missing: the container lacks the `display` driver capability (NVIDIA_DRIVER_CAPABILITIES must include display, e.g. all or graphics,display,utility,compute)"

// vulkanRule decides whether the app gets the present layer. NVIDIA's Vulkan renders
// under Xvfb and the dummy driver, and presents there only with /dev/nvidia-modeset;
// the layer leaves swapchains to a driver that presents and presents by copying each
// frame to the window where the driver cannot.
func (p *Plan) vulkanRule(cfg *config.Config, env Env) error {
	v := &p.Vulkan
	if p.Backend == config.BackendNone {
		v.Why = "no X server: Vulkan apps can render off-screen only"
		return nil
	}
	if env.Vulkan != nil {
		v.Found = env.Vulkan(env.Environ)
	}
	layer := "the present layer " + gpu.LayerName
	if v.Found.Layer != "" {
		layer += " (" + v.Found.Layer + ")"
	}
	xOnly := p.Backend == config.BackendXvfb || p.Backend == config.BackendDummy
	nvidia := xOnly && v.Found.NvidiaICD != ""
	cause := "" // why NVIDIA's Vulkan cannot present here, when it cannot
	if nvidia && !v.Found.Modeset {
		cause = "NVIDIA's Vulkan driver (" + v.Found.NvidiaICD + ") cannot present to X here: " + noModeset
	}
	switch {
	case cfg.Vulkan == config.VulkanOff:
		v.Why = "XINIT_VULKAN=off: Vulkan apps get the drivers as they are"
		if cause != "" {
			v.Why += "; " + cause + "; only Mesa's lavapipe or off-screen rendering will work"
		}
	case (cfg.Vulkan == config.VulkanLayer || cfg.Vulkan == config.VulkanCopy) && v.Found.Layer == "":
		return fmt.Errorf("%w: XINIT_VULKAN=%s: the Vulkan layer %s is not installed (no VkLayer_xinit_present.json in %s or VK_ADD_LAYER_PATH); install it (make -C vklayer install) or use XINIT_VULKAN=auto",
			gpu.ErrUnavailable, cfg.Vulkan, gpu.LayerName, strings.Join(gpu.LayerDirs, ", "))
	case cfg.Vulkan == config.VulkanCopy:
		v.Layer, v.Copy = true, true
		v.Why = "XINIT_VULKAN=copy: Vulkan apps present by copy through " + layer + ", never through the driver's own swapchains"
	case cfg.Vulkan == config.VulkanLayer:
		v.Layer = true
		v.Why = "XINIT_VULKAN=layer: Vulkan apps get " + layer + ": the driver's own swapchains where it presents, copies where it cannot"
		if cause != "" {
			v.Why += "; " + cause
		}
	case !xOnly:
		v.Why = "the nvidia backend: NVIDIA's Vulkan presents by itself"
	case v.Found.NvidiaICD == "":
		v.Why = "no NVIDIA Vulkan driver (ICD manifest): Vulkan apps use Mesa's lavapipe, which presents by itself"
	case v.Found.Layer == "" && cause != "":
		v.Why = cause + "; and " + gpu.LayerName + " is not installed: Vulkan apps will fail to create a swapchain; give the container the display capability, install the layer, or make the app render with OpenGL"
	case v.Found.Layer == "":
		v.Why = "NVIDIA's Vulkan driver (" + v.Found.NvidiaICD + ") presents under " + string(p.Backend) + " by itself (" + gpu.ModesetDevice + " is there); " +
			gpu.LayerName + " is not installed, so nothing copies where the driver's own present fails"
	case cause != "":
		v.Layer = true
		v.Why = cause + "; Vulkan apps render on the GPU and present by copy through " + layer
	default:
		v.Layer = true
		v.Why = "NVIDIA's Vulkan driver (" + v.Found.NvidiaICD + ") can present under " + string(p.Backend) + " (" + gpu.ModesetDevice +
			" is there): Vulkan apps get " + layer + ", which leaves swapchains to the driver and copies only where its present fails"
	}
	return nil
}

// appEnv enables the layer for the app: first in VK_INSTANCE_LAYERS, above any
// layer the user asked for, so that, where the loader follows that order, those
// see (and validate) the layer's own calls. Debian 12's loader does not: see
// docs/vulkan.md. With XINIT_VULKAN=copy the layer never tries the driver's own
// swapchains (XINIT_VK_PRESENT_DRIVER=0).
func (v VulkanPlan) appEnv(env []string) []string {
	if !v.Layer {
		return env
	}
	if v.Copy {
		env = setEnv(env, "XINIT_VK_PRESENT_DRIVER", "0")
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
