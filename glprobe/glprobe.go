package glprobe

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"syscall"

	"go.uber.org/zap"

	"github.com/xinit-go/xinit-go/exitcode"
	"github.com/xinit-go/xinit-go/supervisor"
)

// Name is the probe's service name.
const Name = "gl"

// Timeout bounds one run of the probe (glxinfo takes a fraction of a
// second: the bound is for a GL driver that hangs).
const Timeout = 20 * time.Second

// ExitSoftware is the probe's exit code, and the session's, when the renderer is
// software under XINIT_REQUIRE_GPU=1: the GPU the session was asked for is not
// there for the app (69 is EX_UNAVAILABLE, as for a backend that cannot run).
const ExitSoftware = exitcode.Unavailable

// Result is what the probe found: the GL renderer an app gets on the display
// with the app's environment.
type Result struct {
	Renderer string `json:"renderer"`
	Vendor   string `json:"vendor"`
	Version  string `json:"version"`
	Direct   bool   `json:"direct"`
	Software bool   `json:"software"`
	// Library is the GLX vendor library that answered, as its vendor string shows.
	Library string `json:"library,omitempty"`
	// GLXVendor is __GLX_VENDOR_LIBRARY_NAME in the app's environment, "" when unset.
	GLXVendor string `json:"glx_vendor_library_name,omitempty"`
	// Error says why the renderer is unknown (no glxinfo, no GLX); "" otherwise.
	Error  string  `json:"error,omitempty"`
	TookMS float64 `json:"took_ms"`
	// UID is the user the probe ran as: the app's.
	UID int `json:"uid"`
	// Vulkan is what the same probe found of Vulkan; nil when it did not look.
	Vulkan *VulkanResult `json:"vulkan,omitempty"`
}

// softwareRenderers are the substrings of Mesa's software renderers' names.
var softwareRenderers = []string{"llvmpipe", "softpipe", "swrast", "software rasterizer", "mesa offscreen"}

// isSoftwareRenderer reports a GL renderer string that names a CPU renderer.
func isSoftwareRenderer(renderer string) bool {
	r := strings.ToLower(renderer)
	for _, s := range softwareRenderers {
		if strings.Contains(r, s) {
			return true
		}
	}
	return false
}

// ParseGLXInfo reads the output of `glxinfo -B`. The compatibility profile's
// version is the one a GLX app gets by default; the core profile's stands in
// when there is no other.
func ParseGLXInfo(out string) (Result, error) {
	var r Result
	core := ""
	for line := range strings.SplitSeq(out, "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		v = strings.TrimSpace(v)
		switch strings.TrimSpace(k) {
		case "direct rendering":
			r.Direct = strings.HasPrefix(strings.ToLower(v), "yes")
		case "OpenGL vendor string":
			r.Vendor = v
		case "OpenGL renderer string":
			r.Renderer = v
		case "OpenGL version string":
			r.Version = v
		case "OpenGL core profile version string":
			core = v
		}
	}
	if r.Version == "" {
		r.Version = core
	}
	if r.Renderer == "" {
		return r, errors.New("glxinfo printed no \"OpenGL renderer string\"")
	}
	r.Software = isSoftwareRenderer(r.Renderer)
	r.Library = glxLibrary(r.Vendor)
	return r, nil
}

// glxLibrary names the GLX vendor library behind a GL vendor string.
func glxLibrary(vendor string) string {
	v := strings.ToLower(vendor)
	switch {
	case strings.Contains(v, "nvidia"):
		return "libGLX_nvidia.so.0"
	case strings.Contains(v, "mesa"), strings.Contains(v, "vmware"), strings.Contains(v, "x.org"), strings.Contains(v, "intel"), strings.Contains(v, "amd"):
		return "libGLX_mesa.so.0"
	}
	return ""
}

// SoftwareAdvice is the reason and the way out for a software renderer under
// XINIT_REQUIRE_GPU=1: which library answered, why, and what to set.
func SoftwareAdvice(r Result, glxWhy string) string {
	lib := r.Library
	if lib == "" {
		lib = "an unknown GLX library"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "XINIT_REQUIRE_GPU=1: the app's GL renderer is software: %q (OpenGL vendor %q, from %s)", r.Renderer, r.Vendor, lib)
	switch r.GLXVendor {
	case "":
		b.WriteString("; __GLX_VENDOR_LIBRARY_NAME is unset, so libglvnd used the X server's vendor (Mesa)")
	case "nvidia":
		b.WriteString("; __GLX_VENDOR_LIBRARY_NAME=nvidia, but libGLX_nvidia.so.0 did not load and libglvnd fell back to Mesa")
	default:
		fmt.Fprintf(&b, "; __GLX_VENDOR_LIBRARY_NAME=%s selects that library", r.GLXVendor)
	}
	if glxWhy != "" {
		b.WriteString("; xinit-go: " + glxWhy)
	}
	b.WriteString(". To render on the GPU: run with the NVIDIA container runtime and a GPU request, NVIDIA_DRIVER_CAPABILITIES including graphics " +
		"(e.g. NVIDIA_DRIVER_CAPABILITIES=all), and __GLX_VENDOR_LIBRARY_NAME unset or nvidia; `xinit-go check` shows what is found. " +
		"To accept software rendering, unset XINIT_REQUIRE_GPU")
	return b.String()
}

// Probe holds the probe's latest result for the log, /status and /metrics.
type Probe struct {
	require bool
	log     *zap.Logger
	result  atomic.Pointer[Result]
}

// Result returns the probe's latest result, nil before its first (and on a nil
// Probe: a session without X has none).
func (p *Probe) Result() *Result {
	if p == nil {
		return nil
	}
	return p.result.Load()
}

// Required reports whether the probe's failure ends the session (XINIT_REQUIRE_GPU=1).
func (p *Probe) Required() bool { return p != nil && p.require }

// ResultPrefix starts the probe's line of standard output that carries its
// result as JSON (`xinit-go probe-gl --out -`).
const ResultPrefix = "gl-result "

// Options are what the probe's spec needs of the session.
type Options struct {
	Self       string              // this program: the probe is `Self probe-gl`
	Env        []string            // the app's environment
	Credential *syscall.Credential // the app's user, nil for xinit-go's own
	After      string              // the X server's service name
	Require    bool                // XINIT_REQUIRE_GPU=1
	GLXWhy     string              // why the app does not get NVIDIA's GLX, "" when it does
	Log        *zap.Logger
}

// Spec is the probe as a oneshot service after X: `xinit-go probe-gl`, the
// same binary, run as a child as the app is run: the app's user and
// environment (DISPLAY, XAUTHORITY, the GLX vendor rule, the Vulkan layer), so
// it finds what the app will find, and PID 1 never loads a GL driver itself. It
// reports on its standard output, which the app's user may write, so nothing
// but the log, /status and /metrics trusts its result; the decision is its exit
// code. Under XINIT_REQUIRE_GPU=1 it is required, its failure is exit 69, and
// the app comes after it; otherwise it is optional and runs beside the app,
// which does not wait for it. The Probe keeps what it reports.
func Spec(o Options) (supervisor.Spec, *Probe) {
	glog := o.Log.Named(Name)
	p := &Probe{require: o.Require, log: glog}
	argv := []string{o.Self, "probe-gl", "--out", "-"}
	if o.Require {
		argv = append(argv, "--require-gpu")
		if o.GLXWhy != "" {
			argv = append(argv, "--glx-why", o.GLXWhy)
		}
	}
	sp := supervisor.Spec{
		Name:         Name,
		Argv:         argv,
		Env:          o.Env,
		Credential:   o.Credential,
		After:        []string{o.After},
		Role:         supervisor.Optional,
		Oneshot:      true,
		ReadyTimeout: Timeout,
		Restart:      supervisor.Restart{Policy: supervisor.Never, Budget: supervisor.NoRestarts},
		Output: func(line string) {
			if r, ok := strings.CutPrefix(line, ResultPrefix); ok {
				p.take(r)
				return
			}
			glog.Info(line)
		},
	}
	if o.Require {
		sp.Role = supervisor.Required
		sp.FailCode = ExitSoftware
	}
	return sp, p
}

// take keeps a result the probe printed, and logs it.
func (p *Probe) take(line string) {
	var r Result
	if len(line) > 64<<10 {
		p.log.Warn("the GL probe's result is too long to be one", zap.Int("bytes", len(line)))
		return
	}
	if err := json.Unmarshal([]byte(line), &r); err != nil {
		p.log.Warn("read the GL probe's result", zap.Error(err))
		return
	}
	p.result.Store(&r)
	fields := []zap.Field{zap.String("renderer", r.Renderer), zap.String("vendor", r.Vendor), zap.String("version", r.Version),
		zap.Bool("direct", r.Direct), zap.Bool("software", r.Software), zap.String("library", r.Library), zap.Float64("took_ms", r.TookMS), zap.Int("uid", r.UID)}
	switch {
	case r.Error != "":
		p.log.Warn("GL renderer unknown", append(fields, zap.String("error", r.Error))...)
	case r.Software && !p.require:
		p.log.Warn("GL renderer is software: the app renders on the CPU (XINIT_REQUIRE_GPU=1 makes this an error)", fields...)
	default:
		p.log.Info("GL renderer", fields...)
	}
	if v := r.Vulkan; v != nil {
		var devs []string
		for _, d := range v.Devices {
			devs = append(devs, d.Name+" ("+d.Type+")")
		}
		vf := []zap.Field{zap.Strings("devices", devs), zap.Bool("software", v.Software)}
		switch {
		case v.Error != "":
			p.log.Info("Vulkan devices unknown or none (fine for an app that does not use Vulkan)", append(vf, zap.String("why", v.Error))...)
		case v.Software && !p.require:
			p.log.Warn("Vulkan offers only a CPU device: a Vulkan app renders on the CPU (XINIT_REQUIRE_GPU=1 makes this an error)", vf...)
		default:
			p.log.Info("Vulkan devices", vf...)
		}
	}
}
