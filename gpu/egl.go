package gpu

import (
	"path/filepath"
	"strings"

	"github.com/NVIDIA/go-nvml/pkg/dl"
)

// EGLVendorLib is NVIDIA's EGL vendor library, which libglvnd's libEGL loads
// through a vendor JSON file; many simulators render headless through EGL.
const EGLVendorLib = "libEGL_nvidia.so.0"

// EGLVendorDirs are where libglvnd looks for EGL vendor JSON files when
// __EGL_VENDOR_LIBRARY_DIRS does not say otherwise.
var EGLVendorDirs = []string{"/etc/glvnd/egl_vendor.d", "/usr/share/glvnd/egl_vendor.d"}

// Loadable is whether a driver library loads in this process, from where, and
// the manifest that names it to its loader ("" when none names it).
type Loadable struct {
	Loads    bool   `json:"loads"`
	Path     string `json:"path,omitempty"` // the loaded file, or why it did not load
	Manifest string `json:"manifest,omitempty"`
}

// NvidiaEGL finds the glvnd EGL vendor file that names NVIDIA's library and
// tries to load the library. Call it from a short-lived process (xinit-go
// check), never from PID 1: a driver library's constructors run in the caller.
func NvidiaEGL(environ []string) Loadable {
	dirs := EGLVendorDirs
	for _, kv := range environ {
		if v, ok := strings.CutPrefix(kv, "__EGL_VENDOR_LIBRARY_DIRS="); ok && v != "" {
			dirs = filepath.SplitList(v)
		}
	}
	var l Loadable
	lib := EGLVendorLib
	for _, f := range manifests(dirs) {
		var m struct {
			ICD struct {
				LibraryPath string `json:"library_path"`
			} `json:"ICD"`
		}
		if readJSON(f, &m) && strings.Contains(filepath.Base(m.ICD.LibraryPath), "nvidia") {
			l.Manifest, lib = f, m.ICD.LibraryPath
			break
		}
	}
	l.Loads, l.Path = load(lib)
	return l
}

// NvidiaVulkanICD tries to load the library that NVIDIA's Vulkan ICD manifest
// names (icd: the manifest's path, as FindVulkan found it).
func NvidiaVulkanICD(icd string) Loadable {
	l := Loadable{Manifest: icd}
	if icd == "" {
		l.Path = "no NVIDIA Vulkan ICD manifest"
		return l
	}
	var m struct {
		ICD struct {
			LibraryPath string `json:"library_path"`
		} `json:"ICD"`
	}
	if !readJSON(icd, &m) || m.ICD.LibraryPath == "" {
		l.Path = "the manifest names no library_path"
		return l
	}
	lib := m.ICD.LibraryPath
	if strings.Contains(lib, "/") && !filepath.IsAbs(lib) {
		lib = filepath.Join(filepath.Dir(icd), lib)
	}
	l.Loads, l.Path = load(lib)
	return l
}

// load dlopens lib and says where it came from, or why it did not load.
func load(lib string) (bool, string) {
	h := dl.New(lib, dl.RTLD_LAZY|dl.RTLD_LOCAL)
	if err := h.Open(); err != nil {
		return false, err.Error()
	}
	defer h.Close()
	if p := findLoaded(filepath.Base(lib)); p != "" {
		return true, p
	}
	return true, lib
}
