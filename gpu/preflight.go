package gpu

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/NVIDIA/go-nvml/pkg/dl"
)

// ModuleDirs are where X servers and distributions keep X modules; the NVIDIA
// container toolkit mounts nvidia_drv.so and libglxserver_nvidia.so into the first.
var ModuleDirs = []string{
	"/usr/lib/xorg/modules",
	"/usr/lib64/xorg/modules",
	"/usr/lib/x86_64-linux-gnu/nvidia/xorg",
	"/usr/lib/aarch64-linux-gnu/nvidia/xorg",
	"/usr/lib/nvidia/xorg",
	"/usr/local/lib/xorg/modules",
}

// XModule is an X module file found on disk.
type XModule struct {
	Path    string `json:"path"`
	Version string `json:"version,omitempty"`
}

// XModules are the NVIDIA X driver and GLX server module, when present.
type XModules struct {
	Driver *XModule `json:"nvidia_drv,omitempty"`
	GLX    *XModule `json:"glxserver_nvidia,omitempty"`
}

var driverVersionRE = regexp.MustCompile(`X Driver +([0-9]+\.[0-9]+(?:\.[0-9]+)?)`)
var soVersionRE = regexp.MustCompile(`\.so\.([0-9]+\.[0-9]+(?:\.[0-9]+)?)$`)

// FindXModules looks for nvidia_drv.so and libglxserver_nvidia.so* under root+dir
// for each of dirs (root is "" in production, a temporary tree in tests).
func FindXModules(root string, dirs []string) XModules {
	var m XModules
	for _, dir := range dirs {
		base := filepath.Join(root, dir)
		_ = filepath.WalkDir(base, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return nil
			}
			if d.IsDir() {
				if strings.Count(strings.TrimPrefix(p, base), "/") > 2 {
					return fs.SkipDir
				}
				return nil
			}
			name := d.Name()
			switch {
			case name == "nvidia_drv.so" && m.Driver == nil:
				mod := &XModule{Path: strings.TrimPrefix(p, root)}
				if b, err := os.ReadFile(p); err == nil {
					if sm := driverVersionRE.FindSubmatch(b); sm != nil {
						mod.Version = string(sm[1])
					}
				}
				m.Driver = mod
			case strings.HasPrefix(name, "libglxserver_nvidia.so") && (m.GLX == nil || m.GLX.Version == ""):
				mod := &XModule{Path: strings.TrimPrefix(p, root)}
				target := name
				if t, err := filepath.EvalSymlinks(p); err == nil {
					target = filepath.Base(t)
				}
				if sm := soVersionRE.FindStringSubmatch(target); sm != nil {
					mod.Version = sm[1]
				}
				m.GLX = mod
			}
			return nil
		})
	}
	return m
}

// Host is what the preflights look at besides NVML; tests fill it with fakes.
type Host struct {
	Getenv     func(string) string
	Root       string   // file system root, "" in production
	ModuleDirs []string // nil means ModuleDirs
}

func (h Host) path(p string) string { return filepath.Join(h.Root, p) }

// ErrUnavailable marks a backend that cannot run here; the exit code is 69.
var ErrUnavailable = errors.New("backend unavailable")

// PreflightNvidia checks what the nvidia backend needs for the selected GPUs.
// It returns nil or an error wrapping ErrUnavailable with one line per problem.
func PreflightNvidia(info Info, selected []Device, h Host) (XModules, error) {
	if h.ModuleDirs == nil {
		h.ModuleDirs = ModuleDirs
	}
	mods := FindXModules(h.Root, h.ModuleDirs)
	var problems []string
	caps := h.Getenv("NVIDIA_DRIVER_CAPABILITIES")
	capsHint := ""
	if !hasGraphicsCap(caps) {
		shown := caps
		if shown == "" {
			shown = "unset, so the runtime's default utility,compute"
		}
		capsHint = fmt.Sprintf("; NVIDIA_DRIVER_CAPABILITIES is %s: set it to graphics,display,utility,compute (or all) so the NVIDIA container toolkit mounts the X driver", shown)
	}
	want := info.Driver
	switch {
	case mods.Driver == nil:
		problems = append(problems, fmt.Sprintf("X driver nvidia_drv.so not found in %s; the host driver is %s, install the same version's X components in the image%s, or use XINIT_BACKEND=xvfb (GPU rendering through NVIDIA's GLX without any X driver)",
			strings.Join(h.ModuleDirs, ", "), orUnknown(want), capsHint))
	case want != "" && mods.Driver.Version != "" && mods.Driver.Version != want:
		problems = append(problems, fmt.Sprintf("X driver %s is version %s but the host driver is %s; they must match: install the %s X driver, or use XINIT_BACKEND=xvfb",
			mods.Driver.Path, mods.Driver.Version, want, want))
	}
	switch {
	case mods.GLX == nil && mods.Driver != nil:
		problems = append(problems, fmt.Sprintf("GLX module libglxserver_nvidia.so not found in %s; it comes with the %s driver's X components%s, or use XINIT_BACKEND=xvfb",
			strings.Join(h.ModuleDirs, ", "), orUnknown(want), capsHint))
	case mods.GLX != nil && want != "" && mods.GLX.Version != "" && mods.GLX.Version != want:
		problems = append(problems, fmt.Sprintf("GLX module %s is version %s but the host driver is %s; they must match", mods.GLX.Path, mods.GLX.Version, want))
	}
	for _, d := range selected {
		if d.MIG {
			problems = append(problems, fmt.Sprintf("GPU %d (%s, %s) is in MIG mode, and MIG instances cannot render graphics; use a GPU without MIG (nvidia-smi -i %d -mig 0 on the host), or XINIT_BACKEND=xvfb for software rendering", d.Index, d.Name, d.BusID.Hex(), d.Index))
		}
	}
	for _, node := range []string{"/dev/nvidiactl", "/dev/nvidia-modeset"} {
		if _, err := os.Stat(h.path(node)); err != nil {
			problems = append(problems, fmt.Sprintf("%s is missing; the container needs the NVIDIA device nodes (run with the NVIDIA container runtime and a GPU request, and NVIDIA_DRIVER_CAPABILITIES including display)", node))
		}
	}
	if len(problems) == 0 {
		return mods, nil
	}
	return mods, fmt.Errorf("%w: nvidia backend:\n  - %s", ErrUnavailable, strings.Join(problems, "\n  - "))
}

func hasGraphicsCap(caps string) bool {
	for _, c := range strings.Split(caps, ",") {
		switch strings.TrimSpace(c) {
		case "graphics", "display", "all":
			return true
		}
	}
	return false
}

func orUnknown(v string) string {
	if v == "" {
		return "(unknown)"
	}
	return v
}

// GLXVendorLib is the NVIDIA vendor library that GLVND loads for
// __GLX_VENDOR_LIBRARY_NAME=nvidia.
const GLXVendorLib = "libGLX_nvidia.so.0"

// GLXLoadable reports whether the dynamic loader can load the NVIDIA GLX vendor
// library, and where from when it can tell.
func GLXLoadable() (bool, string) {
	lib := dl.New(GLXVendorLib, dl.RTLD_LAZY|dl.RTLD_LOCAL)
	if err := lib.Open(); err != nil {
		return false, err.Error()
	}
	defer lib.Close()
	return true, findLoaded(GLXVendorLib)
}

// findLoaded reads /proc/self/maps for the path of a loaded library.
func findLoaded(name string) string {
	b, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		return ""
	}
	stem := strings.TrimSuffix(name, ".0")
	for _, line := range bytes.Split(b, []byte("\n")) {
		f := strings.Fields(string(line))
		if len(f) >= 6 && strings.Contains(filepath.Base(f[5]), stem) {
			return f[5]
		}
	}
	return ""
}
