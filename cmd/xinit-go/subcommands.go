package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/xinit-go/xinit-go/bundle"
	"github.com/xinit-go/xinit-go/config"
	"github.com/xinit-go/xinit-go/gpu"
	"github.com/xinit-go/xinit-go/health"
	"github.com/xinit-go/xinit-go/internal/buildinfo"
	"github.com/xinit-go/xinit-go/session"
)

// runCheck prints what xinit-go sees and would do: exit 0, 69 when the requested
// backend cannot run, 78 for bad configuration.
func runCheck(args []string, sys system, stdout, stderr io.Writer) int {
	cfg, code, done := loadConfig(args, sys, stdout, stderr)
	if done {
		return code
	}
	env := sys.sessionEnv()
	plan, err := session.Decide(cfg, env)
	tw := tabwriter.NewWriter(stdout, 2, 4, 2, ' ', 0)
	defer tw.Flush()
	fmt.Fprintf(tw, "xinit-go\t%s\n", versionString())
	if cfg.File != "" {
		fmt.Fprintf(tw, "config file\t%s\n", cfg.File)
	}
	fmt.Fprintf(tw, "requested backend\t%s\n", cfg.Backend)
	if plan.Info != nil {
		fmt.Fprintf(tw, "NVIDIA driver\t%s (CUDA %s)\n", plan.Info.Driver, plan.Info.CUDA)
		for _, d := range plan.Info.Devices {
			mark := " "
			for _, s := range plan.GPUs {
				if s.Index == d.Index {
					mark = "*"
				}
			}
			mig := ""
			if d.MIG {
				mig = ", MIG mode"
			}
			fmt.Fprintf(tw, "GPU %d%s\t%s, %s, BusID %s (NVML %s), %d MiB%s\n", d.Index, mark, d.Name, d.UUID,
				d.BusID.String(), d.BusID.Hex(), d.MemoryBytes>>20, mig)
		}
	} else if plan.GPUError != "" {
		fmt.Fprintf(tw, "GPUs\tnone: %s\n", plan.GPUError)
	}
	if cfg.BusID != nil {
		fmt.Fprintf(tw, "BUSID\t%s (overrides detection)\n", cfg.BusID.String())
	}
	mods := plan.XModules
	if mods.Driver == nil && mods.GLX == nil {
		mods = gpu.FindXModules("", gpu.ModuleDirs)
	}
	fmt.Fprintf(tw, "X driver nvidia_drv.so\t%s\n", moduleLine(mods.Driver))
	fmt.Fprintf(tw, "GLX module libglxserver_nvidia\t%s\n", moduleLine(mods.GLX))
	ok, where := env.GLX()
	if ok {
		fmt.Fprintf(tw, "GLX vendor %s\tloads (%s)\n", gpu.GLXVendorLib, where)
	} else {
		fmt.Fprintf(tw, "GLX vendor %s\tdoes not load: %s\n", gpu.GLXVendorLib, where)
	}
	checkDrivers(tw, sys, plan)
	fmt.Fprintf(tw, "NVIDIA_DRIVER_CAPABILITIES\t%q\n", sys.getenv("NVIDIA_DRIVER_CAPABILITIES"))
	if plan.Preflight != "" {
		fmt.Fprintf(tw, "nvidia preflight\t%s\n", strings.ReplaceAll(preflightFor(cfg.Backend, plan.Preflight), "\n", "\n\t"))
	} else if cfg.Backend != config.BackendNone {
		fmt.Fprintf(tw, "nvidia preflight\tpassed\n")
	}
	if err != nil {
		fmt.Fprintf(tw, "backend\tUNAVAILABLE: %s\n", strings.ReplaceAll(err.Error(), "\n", "\n\t"))
		return exitUnavailable
	}
	fmt.Fprintf(tw, "backend\t%s\n", plan.Backend)
	fmt.Fprintf(tw, "why\t%s\n", plan.Why)
	fmt.Fprintf(tw, "vulkan\t%s\n", vulkanLine(plan.Vulkan))
	if plan.Backend != config.BackendNone {
		fmt.Fprintf(tw, "display\t%s at %s\n", cfg.DisplayName(), cfg.Resolution())
	}
	return 0
}

func moduleLine(m *gpu.XModule) string {
	if m == nil {
		return "not found"
	}
	if m.Version == "" {
		return m.Path + " (version unknown)"
	}
	return m.Path + " (" + m.Version + ")"
}

// runXorgConf prints the xorg.conf that the nvidia (or dummy) backend would write.
func runXorgConf(args []string, sys system, stdout, stderr io.Writer) int {
	cfg, code, done := loadConfig(args, sys, stdout, stderr)
	if done {
		return code
	}
	switch cfg.Backend {
	case config.BackendXvfb, config.BackendNone:
		fmt.Fprintf(stderr, "xinit-go xorgconf: XINIT_BACKEND=%s uses no xorg.conf; use nvidia, dummy or auto\n", cfg.Backend)
		return exitConfig
	}
	want := cfg.Backend
	if want == config.BackendAuto {
		want = config.BackendNvidia
		cfg.Backend = config.BackendAuto
	}
	plan, err := session.Decide(cfg, sys.sessionEnv())
	if err != nil && want != config.BackendNvidia {
		fmt.Fprintln(stderr, "xinit-go xorgconf:", err)
		return exitUnavailable
	}
	plan.Backend = want
	text, err := plan.XorgConf()
	if err != nil {
		hint := ""
		if want == config.BackendNvidia {
			hint = noGPUXorgConfHint
		}
		fmt.Fprintf(stderr, "xinit-go xorgconf: %v%s\n", err, hint)
		return exitUnavailable
	}
	_, _ = stdout.Write(text)
	return 0
}

// runHealth probes a running xinit-go: exit 0 when it answers 200, 1 otherwise.
func runHealth(ctx context.Context, args []string, sys system, stdout, stderr io.Writer) int {
	path := "/healthz"
	var rest []string
	for _, a := range args {
		if a == "--ready" || a == "-ready" {
			path = "/readyz"
			continue
		}
		rest = append(rest, a)
	}
	cfg, code, done := loadConfig(rest, sys, stdout, stderr)
	if done {
		if code == exitConfig {
			return 1
		}
		return code
	}
	if cfg.HealthAddr == "" {
		fmt.Fprintln(stderr, "xinit-go health: XINIT_HEALTH_ADDR is off; nothing to ask")
		return 1
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	// The socket in the runtime directory has slots of its own that no client
	// on the network can take; without it (XINIT_BACKEND=none, another user),
	// the probe asks over TCP.
	if err := health.Probe(ctx, cfg.HealthAddr, health.SocketPath(cfg.RuntimeDir), path); err != nil {
		fmt.Fprintln(stderr, "xinit-go health:", err)
		return 1
	}
	fmt.Fprintln(stdout, "ok")
	return 0
}

func vulkanLine(v session.VulkanPlan) string {
	icd, layer := v.Found.NvidiaICD, v.Found.Layer
	if icd == "" {
		icd = "none"
	}
	if layer == "" {
		layer = "not installed"
	}
	modeset := "missing (NVIDIA's Vulkan cannot present on Xvfb or dummy)"
	if v.Found.Modeset {
		modeset = "there (NVIDIA's Vulkan can present on Xvfb and dummy)"
	}
	return fmt.Sprintf("%s\n\tNVIDIA ICD: %s; layer: %s; %s: %s", v.Why, icd, layer, gpu.ModesetDevice, modeset)
}

// runVersion prints the version, the commit, the Go version and the build's cgo
// and NVML state; --json prints the same as one JSON object.
func runVersion(args []string, sys system, stdout, stderr io.Writer) int {
	asJSON := false
	for _, a := range args {
		switch a {
		case "--json", "-json":
			asJSON = true
		default:
			fmt.Fprintf(stderr, "xinit-go version: unknown argument %q; usage: xinit-go version [--json]\n", a)
			return exitConfig
		}
	}
	info := buildinfo.Read(version)
	if info.CGO && sys.gpu != nil {
		if gi, err := sys.gpu.Query(); err != nil {
			info.NVML += "; not usable here: " + err.Error()
		} else {
			info.NVML += fmt.Sprintf("; driver %s, %d GPU(s)", gi.Driver, len(gi.Devices))
		}
	}
	if asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(info); err != nil {
			return 1
		}
		return 0
	}
	fmt.Fprint(stdout, info.Text())
	return 0
}

// runSummary reads the summary.json of every run under a directory (the
// artifacts volume of many runs) and prints one table and the totals, or JSON;
// it exits 0 when every run passed, 1 when any failed or none was found.
func runSummary(args []string, stdout, stderr io.Writer) int {
	usage := "usage: xinit-go summary [--json] DIR, e.g. xinit-go summary /artifacts"
	asJSON, dir := false, ""
	for _, a := range args {
		switch {
		case a == "--json" || a == "-json":
			asJSON = true
		case strings.HasPrefix(a, "-") || dir != "":
			fmt.Fprintf(stderr, "xinit-go summary: unexpected argument %q; %s\n", a, usage)
			return exitConfig
		default:
			dir = a
		}
	}
	if dir == "" {
		fmt.Fprintln(stderr, "xinit-go summary: no directory; "+usage)
		return exitConfig
	}
	runs, err := bundle.Scan(dir)
	if err != nil {
		fmt.Fprintf(stderr, "xinit-go summary: %v; %s\n", err, usage)
		return exitConfig
	}
	t := bundle.Count(runs)
	if asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if runs == nil {
			runs = []bundle.Run{}
		}
		if err := enc.Encode(struct {
			Runs   []bundle.Run  `json:"runs"`
			Totals bundle.Totals `json:"totals"`
		}{runs, t}); err != nil {
			return 1
		}
	} else if len(runs) > 0 {
		if err := bundle.Report(stdout, runs); err != nil {
			return 1
		}
	}
	switch {
	case len(runs) == 0:
		fmt.Fprintf(stderr, "xinit-go summary: no summary.json under %s: did the runs set XINIT_ARTIFACTS there?\n", dir)
		return 1
	case t.Failed > 0:
		return 1
	}
	return 0
}
