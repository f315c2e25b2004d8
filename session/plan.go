package session

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	"github.com/xinit-go/xinit-go/config"
	"github.com/xinit-go/xinit-go/gpu"
	"github.com/xinit-go/xinit-go/xorgconf"
)

// Env is what the session sees of the machine; production uses Real.
type Env struct {
	GPU     gpu.Source
	Host    gpu.Host
	GLX     func() (bool, string) // can libGLX_nvidia.so.0 load, and from where
	Vulkan  func(environ []string) gpu.Vulkan
	Environ []string
}

// Plan is the backend decision and what it rests on.
type Plan struct {
	Backend   config.Backend `json:"backend"`
	Why       string         `json:"why"`
	Info      *gpu.Info      `json:"gpu_info,omitempty"`
	GPUError  string         `json:"gpu_error,omitempty"`
	GPUs      []gpu.Device   `json:"gpus,omitempty"` // selected
	NvidiaGLX bool           `json:"nvidia_glx"`
	GLXWhy    string         `json:"glx_why,omitempty"`
	XModules  gpu.XModules   `json:"x_modules"`
	BusIDs    []string       `json:"busids,omitempty"` // xorg.conf form, for the nvidia backend
	Preflight string         `json:"nvidia_preflight,omitempty"`
	Display   int            `json:"display"`
	Vulkan    VulkanPlan     `json:"vulkan"`
	cfg       *config.Config `json:"-"`
}

// Decide chooses the backend. An explicitly requested backend that cannot run
// returns an error wrapping gpu.ErrUnavailable (exit 69).
func Decide(cfg *config.Config, env Env) (*Plan, error) {
	p := &Plan{Backend: cfg.Backend, Display: cfg.Display, cfg: cfg}
	if cfg.Backend == config.BackendNone {
		p.Why = "XINIT_BACKEND=none: no X server, no VNC"
		return p, nil
	}
	info, err := env.GPU.Query()
	if err != nil {
		p.GPUError = err.Error()
	} else {
		p.Info = &info
		sel, serr := gpu.Select(info.Devices, cfg.GPU)
		if serr != nil {
			return p, fmt.Errorf("%w: %w", gpu.ErrUnavailable, serr)
		}
		p.GPUs = sel
	}
	nvidiaErr := p.preflightNvidia(cfg, env)
	if nvidiaErr != nil {
		p.Preflight = nvidiaErr.Error()
	}
	switch cfg.Backend {
	case config.BackendNvidia:
		if nvidiaErr != nil {
			return p, nvidiaErr
		}
		p.Why = "XINIT_BACKEND=nvidia"
	case config.BackendAuto:
		if nvidiaErr == nil {
			p.Backend, p.Why = config.BackendNvidia, "auto: the nvidia backend's preflight passed"
		} else {
			p.Backend = config.BackendXvfb
			p.Why = "auto: " + firstProblem(nvidiaErr)
		}
	default:
		p.Why = "XINIT_BACKEND=" + string(cfg.Backend)
	}
	if p.Backend == config.BackendXvfb || p.Backend == config.BackendDummy {
		p.glxRule(env)
		switch {
		case userGLXVendor(env.Environ) != "":
			p.Why += "; " + p.GLXWhy
		case p.NvidiaGLX:
			p.Why += "; the app renders on the GPU through NVIDIA's GLX (__GLX_VENDOR_LIBRARY_NAME=nvidia)"
		case p.Info == nil && strings.Contains(p.Why, p.GPUError):
			// The reason is already there: "auto: nvidia backend: no NVIDIA GPU: ...".
			p.Why += "; the app renders in software (Mesa)"
		default:
			p.Why += "; the app renders in software (Mesa): " + p.GLXWhy
		}
	}
	if err := p.vulkanRule(cfg, env); err != nil {
		return p, err
	}
	return p, nil
}

func (p *Plan) preflightNvidia(cfg *config.Config, env Env) error {
	if cfg.BusID != nil && p.Info == nil {
		// BUSID without NVML: trust the user for the config, still check the driver files.
		p.GPUs = nil
	} else if p.Info == nil {
		return fmt.Errorf("%w: nvidia backend: %s; run with the NVIDIA container runtime and a GPU request, or use XINIT_BACKEND=xvfb", gpu.ErrUnavailable, p.GPUError)
	}
	info := gpu.Info{}
	if p.Info != nil {
		info = *p.Info
	}
	mods, err := gpu.PreflightNvidia(info, p.GPUs, env.Host)
	p.XModules = mods
	p.BusIDs = nil
	for _, g := range p.xorgGPUs() {
		p.BusIDs = append(p.BusIDs, g.BusID.String())
	}
	return err
}

// glxRule decides whether an app under Xvfb or the dummy driver gets NVIDIA's GLX.
func (p *Plan) glxRule(env Env) {
	switch {
	case userGLXVendor(env.Environ) != "":
		v := userGLXVendor(env.Environ)
		p.NvidiaGLX = v == "nvidia"
		p.GLXWhy = "__GLX_VENDOR_LIBRARY_NAME=" + v + " is set in the environment and left as it is"
	case p.Info == nil:
		p.GLXWhy = p.GPUError
		if !strings.HasPrefix(p.GPUError, "no NVIDIA GPU") {
			p.GLXWhy = "no NVIDIA GPU (" + p.GPUError + ")"
		}
	case len(p.GPUs) > 0 && p.GPUs[0].MIG:
		p.GLXWhy = "the GPU is in MIG mode, which cannot render graphics"
	default:
		ok, where := env.GLX()
		if ok {
			p.NvidiaGLX = true
			p.GLXWhy = gpu.GLXVendorLib + " loads"
			if where != "" {
				p.GLXWhy += " from " + where
			}
		} else {
			p.GLXWhy = gpu.GLXVendorLib + " does not load (" + where + "); with the NVIDIA container toolkit set NVIDIA_DRIVER_CAPABILITIES to include graphics"
		}
	}
}

// xorgGPUs are the GPUs the nvidia xorg.conf names; BUSID overrides detection.
func (p *Plan) xorgGPUs() []xorgconf.GPU {
	var out []xorgconf.GPU
	for _, d := range p.GPUs {
		out = append(out, xorgconf.GPU{Name: d.Name, BusID: d.BusID})
	}
	if b := p.cfg.BusID; b != nil {
		name := "NVIDIA GPU"
		if len(out) > 0 {
			name = out[0].Name
		}
		out = []xorgconf.GPU{{Name: name, BusID: *b}}
	}
	return out
}

// XorgConf renders the xorg.conf for the plan's backend (nvidia or dummy).
func (p *Plan) XorgConf() ([]byte, error) {
	o := xorgconf.Options{Width: p.cfg.Width, Height: p.cfg.Height, Depth: p.cfg.Depth}
	var gpus []xorgconf.GPU
	switch p.Backend {
	case config.BackendNvidia:
		o.Flavour = xorgconf.Nvidia
		gpus = p.xorgGPUs()
		if len(gpus) == 0 {
			return nil, fmt.Errorf("%w: no GPU to write a Device section for: NVML sees none (%s); set BUSID, e.g. BUSID=PCI:0:4:0", gpu.ErrUnavailable, p.GPUError)
		}
	case config.BackendDummy:
		o.Flavour = xorgconf.Dummy
	default:
		return nil, fmt.Errorf("the %s backend uses no xorg.conf", p.Backend)
	}
	var b bytes.Buffer
	err := xorgconf.Render(&b, gpus, o)
	return b.Bytes(), err
}

// firstProblem is the first preflight problem without its advice, for the log's
// "why" of an automatic fallback (the advice names the backend chosen anyway).
func firstProblem(err error) string {
	s := err.Error()
	s = strings.TrimPrefix(s, gpu.ErrUnavailable.Error()+": ")
	if i := strings.Index(s, "\n  - "); i >= 0 {
		rest := s[i+len("\n  - "):]
		if j := strings.Index(rest, "\n"); j >= 0 {
			rest = rest[:j]
		}
		s = strings.TrimSuffix(s[:i], ":") + ": " + rest
	}
	if i := strings.Index(s, "; "); i >= 0 {
		s = s[:i]
	}
	return s
}

// IsUnavailable reports an error that means exit code 69.
func IsUnavailable(err error) bool { return errors.Is(err, gpu.ErrUnavailable) }

func userGLXVendor(environ []string) string {
	for _, kv := range environ {
		if v, ok := strings.CutPrefix(kv, "__GLX_VENDOR_LIBRARY_NAME="); ok {
			return v
		}
	}
	return ""
}
