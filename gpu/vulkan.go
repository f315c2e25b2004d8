package gpu

import (
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// LayerName is the present-by-copy Vulkan layer built in vklayer/.
const LayerName = "VK_LAYER_XINIT_present"

// ModesetDevice is the device node NVIDIA's driver presents on X through: the
// container toolkit mounts it with the `display` driver capability.
const ModesetDevice = "/dev/nvidia-modeset"

// Vulkan is what the Vulkan loader would find on this machine: NVIDIA's driver and
// the present layer, each by the path of its JSON manifest ("" when absent), and
// whether NVIDIA's driver could present on an X server it does not drive (Xvfb,
// the dummy driver): only with ModesetDevice.
type Vulkan struct {
	NvidiaICD string `json:"nvidia_icd,omitempty"`
	Layer     string `json:"layer,omitempty"`
	Modeset   bool   `json:"nvidia_modeset"`
}

// Vulkan manifest directories, where the loader looks when no variable overrides them.
var (
	ICDDirs   = []string{"/etc/vulkan/icd.d", "/usr/local/share/vulkan/icd.d", "/usr/share/vulkan/icd.d"}
	LayerDirs = []string{"/etc/vulkan/explicit_layer.d", "/usr/local/share/vulkan/explicit_layer.d", "/usr/share/vulkan/explicit_layer.d"}
)

// FindVulkan looks for NVIDIA's Vulkan ICD and the layer the way the loader does,
// honouring VK_DRIVER_FILES / VK_ICD_FILENAMES and VK_LAYER_PATH / VK_ADD_LAYER_PATH
// in environ (the app's environment).
func FindVulkan(environ []string) Vulkan {
	v := findVulkan(environ, ICDDirs, LayerDirs)
	_, err := os.Stat(ModesetDevice)
	v.Modeset = err == nil
	return v
}

func findVulkan(environ []string, icdDirs, layerDirs []string) Vulkan {
	get := func(k string) string {
		for _, kv := range environ {
			if v, ok := strings.CutPrefix(kv, k+"="); ok {
				return v
			}
		}
		return ""
	}
	var v Vulkan
	icds := manifests(icdDirs)
	if files := firstNonEmpty(get("VK_DRIVER_FILES"), get("VK_ICD_FILENAMES")); files != "" {
		icds = filepath.SplitList(files)
	}
	for _, f := range icds {
		var m struct {
			ICD struct {
				LibraryPath string `json:"library_path"`
			} `json:"ICD"`
		}
		if readJSON(f, &m) && strings.Contains(filepath.Base(m.ICD.LibraryPath), "nvidia") {
			v.NvidiaICD = f
			break
		}
	}
	dirs := layerDirs
	if p := get("VK_LAYER_PATH"); p != "" {
		dirs = filepath.SplitList(p)
	}
	if p := get("VK_ADD_LAYER_PATH"); p != "" {
		dirs = append(filepath.SplitList(p), dirs...)
	}
	for _, f := range manifests(dirs) {
		var m struct {
			Layer struct {
				Name        string `json:"name"`
				LibraryPath string `json:"library_path"`
			} `json:"layer"`
		}
		if !readJSON(f, &m) || m.Layer.Name != LayerName {
			continue
		}
		lib := m.Layer.LibraryPath
		if strings.Contains(lib, "/") && !filepath.IsAbs(lib) {
			lib = filepath.Join(filepath.Dir(f), lib)
		}
		if _, err := os.Stat(lib); err == nil || !strings.Contains(lib, "/") {
			v.Layer = f
			break
		}
	}
	return v
}

// manifests lists the JSON files of dirs, in order, each directory sorted.
func manifests(dirs []string) []string {
	var out []string
	for _, d := range dirs {
		m, _ := filepath.Glob(filepath.Join(d, "*.json"))
		sort.Strings(m)
		out = append(out, m...)
	}
	return out
}

func readJSON(path string, v any) bool {
	b, err := os.ReadFile(path)
	return err == nil && json.Unmarshal(b, v) == nil
}

func firstNonEmpty(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}
