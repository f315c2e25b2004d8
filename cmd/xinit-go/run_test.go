package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/xinit-go/xinit-go/gpu"
	"github.com/xinit-go/xinit-go/xorgconf"
)

type fakeGPU struct {
	info gpu.Info
	err  error
}

func (f fakeGPU) Query() (gpu.Info, error) { return f.info, f.err }

var (
	noGPU = fakeGPU{err: fmt.Errorf("%w: NVML: library not found", gpu.ErrNoGPU)}
	h200  = fakeGPU{info: gpu.Info{Driver: "580.159.04", Devices: []gpu.Device{
		{Index: 0, Name: "NVIDIA H200", UUID: "GPU-1", BusID: xorgconf.BusID{Bus: 0x1a}}}}}
)

// TestRun runs the whole program, as main does, for everything that starts no
// session: no root, no PID namespace, no process, in parallel.
func TestRun(t *testing.T) {
	cases := []struct {
		name    string
		args    []string
		environ []string
		gpu     gpu.Source
		code    int
		stdout  []string // each must be in stdout
		stderr  []string // each must be in stderr
	}{
		{"version", []string{"version"}, nil, noGPU, 0, []string{"xinit-go ", "\ngo       go1.", "\ncgo      "}, nil},
		{"version --json", []string{"version", "--json"}, nil, noGPU, 0, []string{`"version": "`, `"go": "go1.`, `"cgo": `, `"nvml": "`}, nil},
		{"summary without a directory", []string{"summary"}, nil, noGPU, exitConfig, nil, []string{"no directory", "xinit-go summary /artifacts"}},
		{"summary of a missing directory", []string{"summary", "/nonexistent/runs"}, nil, noGPU, exitConfig, nil, []string{"/nonexistent/runs"}},
		{"version with a bad argument", []string{"version", "--yaml"}, nil, noGPU, exitConfig, nil, []string{`unknown argument "--yaml"`, "version [--json]"}},
		{"help", []string{"help"}, nil, noGPU, 0, []string{"XINIT_BACKEND"}, nil},
		{"check without a GPU", []string{"check"}, []string{"XINIT_BACKEND=xvfb"}, noGPU, 0,
			[]string{"backend", "xvfb", "NVIDIA_DRIVER_CAPABILITIES"}, nil},
		{"check: nvidia asked for, no GPU", []string{"check"}, []string{"XINIT_BACKEND=nvidia"}, noGPU, exitUnavailable,
			[]string{"UNAVAILABLE"}, nil},
		{"check sees the GPU", []string{"check"}, []string{"XINIT_BACKEND=xvfb"}, h200, 0,
			[]string{"NVIDIA H200", "PCI:26:0:0", "580.159.04"}, nil},
		{"xorgconf for nvidia with a GPU", []string{"xorgconf"}, []string{"XINIT_BACKEND=nvidia"}, h200, 0,
			[]string{`BusID "PCI:26:0:0"`, `Option "ProbeAllGpus" "false"`}, nil},
		{"xorgconf for dummy", []string{"xorgconf", "--backend", "dummy", "--resolution", "1280x720"}, nil, noGPU, 0,
			[]string{`Driver "dummy"`, "1280x720"}, nil},
		{"xorgconf under xvfb is a usage error", []string{"xorgconf"}, []string{"XINIT_BACKEND=xvfb"}, noGPU, exitConfig,
			nil, []string{"uses no xorg.conf"}},
		{"a bad variable", []string{"check"}, []string{"SCREEN_RESOLUTION=1280x"}, noGPU, exitConfig,
			nil, []string{"SCREEN_RESOLUTION", "e.g."}},
		{"every bad variable at once", []string{"--", "app"}, []string{"XINIT_BACKEND=vulkan", "XINIT_VNC_PORT=99999", "XINIT_STOP_GRACE=soon"}, noGPU, exitConfig,
			nil, []string{"XINIT_BACKEND", "XINIT_VNC_PORT", "XINIT_STOP_GRACE", "nothing was started"}},
		{"a bad flag", []string{"--no-such-flag", "app"}, nil, noGPU, exitConfig, nil, []string{"no-such-flag"}},
		{"a session whose backend is unavailable starts nothing", []string{"--", "true"},
			[]string{"XINIT_BACKEND=nvidia", "XINIT_HEALTH_ADDR=off", "XINIT_LOG_FORMAT=json"}, noGPU, exitUnavailable,
			nil, []string{"backend unavailable; nothing was started"}},
		{"health with the endpoint off", []string{"health"}, []string{"XINIT_HEALTH_ADDR=off"}, noGPU, 1, nil, []string{"off"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			var out, errs strings.Builder
			sys := system{environ: c.environ, gpu: c.gpu, glx: func() (bool, string) { return false, "not found" }}
			code := run(context.Background(), c.args, sys, &out, &errs)
			if code != c.code {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, c.code, out.String(), errs.String())
			}
			for _, w := range c.stdout {
				if !strings.Contains(out.String(), w) {
					t.Errorf("stdout lacks %q:\n%s", w, out.String())
				}
			}
			for _, w := range c.stderr {
				if !strings.Contains(errs.String(), w) {
					t.Errorf("stderr lacks %q:\n%s", w, errs.String())
				}
			}
		})
	}
}

func TestExitCode(t *testing.T) {
	cases := []struct {
		err  error
		want int
	}{
		{nil, 0},
		{fmt.Errorf("nvidia backend: %w", gpu.ErrUnavailable), exitUnavailable},
		{errors.New("anything else before the start"), exitConfig},
	}
	for _, c := range cases {
		if got := exitCode(c.err); got != c.want {
			t.Errorf("exitCode(%v) = %d, want %d", c.err, got, c.want)
		}
	}
}

func TestGetenvLastWins(t *testing.T) {
	s := system{environ: []string{"A=1", "AB=2", "A=3", "B"}}
	if s.getenv("A") != "3" || s.getenv("AB") != "2" || s.getenv("B") != "" || s.getenv("C") != "" {
		t.Fatal(s.getenv("A"), s.getenv("AB"), s.getenv("B"))
	}
}

// TestIsSession: every subcommand run dispatches keeps Go's default signal
// actions; anything else is a session, subscribed first thing in main.
func TestIsSession(t *testing.T) {
	for _, a := range [][]string{{"check"}, {"xorgconf"}, {"health", "--ready"}, {"probe-gl"}, {"summary", "/x"}, {"version"}, {"--version"}, {"help"}} {
		if isSession(a) {
			t.Errorf("isSession(%q) = true", a)
		}
	}
	for _, a := range [][]string{nil, {"glxgears"}, {"--", "check"}, {"--backend", "xvfb", "app"}} {
		if !isSession(a) {
			t.Errorf("isSession(%q) = false", a)
		}
	}
}
