package session

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest"
	"go.uber.org/zap/zaptest/observer"

	"github.com/xinit-go/xinit-go/config"
	"github.com/xinit-go/xinit-go/gpu"
	"github.com/xinit-go/xinit-go/xorgconf"
)

type fakeGPU struct {
	info gpu.Info
	err  error
}

func (f fakeGPU) Query() (gpu.Info, error) { return f.info, f.err }

var h200 = gpu.Info{Driver: "580.159.04", Devices: []gpu.Device{{Index: 0, Name: "NVIDIA H200", UUID: "GPU-1", BusID: xorgconf.BusID{Bus: 0x1a}}}}

func cfg(t *testing.T, kv ...string) *config.Config {
	t.Helper()
	m := map[string]string{"XINIT_RUNTIME_DIR": t.TempDir()}
	for _, s := range kv {
		k, v, _ := strings.Cut(s, "=")
		m[k] = v
	}
	c, err := config.Load([]string{"app"}, func(k string) string { return m[k] }, "")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// driverTree makes a file system root with the NVIDIA X driver of a version.
func driverTree(t *testing.T, version string, modeset bool) string {
	root := t.TempDir()
	drivers := filepath.Join(root, "usr/lib/xorg/modules/drivers")
	ext := filepath.Join(root, "usr/lib/xorg/modules/extensions")
	for _, d := range []string{drivers, ext, filepath.Join(root, "dev")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	_ = os.WriteFile(filepath.Join(drivers, "nvidia_drv.so"), []byte("\x00NVIDIA dlloader X Driver  "+version+"  Mon Jan 1\x00"), 0o644)
	_ = os.WriteFile(filepath.Join(ext, "libglxserver_nvidia.so."+version), nil, 0o644)
	_ = os.WriteFile(filepath.Join(root, "dev/nvidiactl"), nil, 0o644)
	if modeset {
		_ = os.WriteFile(filepath.Join(root, "dev/nvidia-modeset"), nil, 0o644)
	}
	return root
}

func env(src gpu.Source, root string, glx bool, environ ...string) Env {
	return Env{
		GPU:     src,
		Host:    gpu.Host{Getenv: func(string) string { return "all" }, Root: root, ModuleDirs: []string{"/usr/lib/xorg/modules"}},
		GLX:     func() (bool, string) { return glx, "/usr/lib/libGLX_nvidia.so.0" },
		Environ: environ,
	}
}

func TestDecide(t *testing.T) {
	good := driverTree(t, "580.159.04", true)
	old := driverTree(t, "535.54.03", true)
	noGPU := fakeGPU{err: gpu.ErrNoGPU}
	mig := h200
	mig.Devices = []gpu.Device{h200.Devices[0]}
	mig.Devices[0].MIG = true
	cases := []struct {
		name, backend string
		e             Env
		want          string // backend, or "69"
		nvidiaGLX     bool
		why           string
	}{
		{"no GPU: xvfb with Mesa", "auto", env(noGPU, t.TempDir(), false), "xvfb", false, "software"},
		{"GPU, no X driver: xvfb with NVIDIA GLX", "auto", env(fakeGPU{info: h200}, t.TempDir(), true), "xvfb", true, "nvidia_drv.so not found"},
		{"GPU and matching driver: nvidia", "auto", env(fakeGPU{info: h200}, good, true), "nvidia", false, "preflight passed"},
		{"driver mismatch: auto falls back", "auto", env(fakeGPU{info: h200}, old, true), "xvfb", true, "535.54.03"},
		{"driver mismatch: nvidia refused", "nvidia", env(fakeGPU{info: h200}, old, true), "69", false, ""},
		{"MIG: nvidia refused", "nvidia", env(fakeGPU{info: mig}, good, true), "69", false, ""},
		{"MIG: xvfb renders in software", "xvfb", env(fakeGPU{info: mig}, good, true), "xvfb", false, "MIG"},
		{"no GPU: nvidia refused", "nvidia", env(noGPU, good, false), "69", false, ""},
		{"user's GLX vendor kept", "dummy", env(fakeGPU{info: h200}, t.TempDir(), true, "__GLX_VENDOR_LIBRARY_NAME=mesa"), "dummy", false, "left as it is"},
		{"none", "none", env(noGPU, t.TempDir(), false), "none", false, "no X server"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, err := Decide(cfg(t, "XINIT_BACKEND="+c.backend), c.e)
			if c.want == "69" {
				if !IsUnavailable(err) {
					t.Fatalf("want unavailable, got %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if string(p.Backend) != c.want || p.NvidiaGLX != c.nvidiaGLX || !strings.Contains(p.Why, c.why) {
				t.Errorf("backend %s nvidiaGLX %v why %q", p.Backend, p.NvidiaGLX, p.Why)
			}
		})
	}
}

func TestMissingModesetNodeIsNamed(t *testing.T) {
	_, err := Decide(cfg(t, "XINIT_BACKEND=nvidia"), env(fakeGPU{info: h200}, driverTree(t, "580.159.04", false), true))
	if err == nil || !strings.Contains(err.Error(), "/dev/nvidia-modeset") {
		t.Fatalf("%v", err)
	}
}

func TestBUSIDOverridesDetection(t *testing.T) {
	p, err := Decide(cfg(t, "XINIT_BACKEND=auto", "BUSID=PCI:0:4:0"), env(fakeGPU{err: gpu.ErrNoGPU}, t.TempDir(), false))
	if err != nil {
		t.Fatal(err)
	}
	p.Backend = config.BackendNvidia
	text, err := p.XorgConf()
	if err != nil || !strings.Contains(string(text), `BusID "PCI:0:4:0"`) {
		t.Fatalf("%v\n%s", err, text)
	}
}

func TestUnknownGPUIsUnavailable(t *testing.T) {
	_, err := Decide(cfg(t, "XINIT_GPU=3"), env(fakeGPU{info: h200}, t.TempDir(), true))
	if !IsUnavailable(err) || !strings.Contains(err.Error(), "XINIT_GPU=3") {
		t.Fatalf("%v", err)
	}
}

func TestBuildKeepsThePasswordOutOfChildren(t *testing.T) {
	c := cfg(t, "XINIT_BACKEND=xvfb", "VNC_PASSWORD=longpassword")
	e := env(fakeGPU{err: gpu.ErrNoGPU}, t.TempDir(), false, "VNC_PASSWORD=longpassword", "PATH=/usr/bin")
	p, err := Decide(c, e)
	if err != nil {
		t.Fatal(err)
	}
	s, err := Build(c, p, e, zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Specs) != 4 { // x, vnc, gl, app
		t.Fatalf("%d specs", len(s.Specs))
	}
	for _, sp := range s.Specs {
		all := strings.Join(sp.Argv, " ") + strings.Join(sp.Env, " ")
		if strings.Contains(all, "longpassword") || strings.Contains(all, "VNC_PASSWORD") {
			t.Errorf("%s carries the password: %s", sp.Name, all)
		}
	}
	st, err := os.Stat(filepath.Join(c.RuntimeDir, "client", "vncpasswd"))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("%v %v", st, err)
	}
}

func TestBuildFailsOnUnwritableRuntimeDir(t *testing.T) {
	c := cfg(t, "XINIT_BACKEND=xvfb", "XINIT_RUNTIME_DIR=/proc/xinit-go-cannot-be-here")
	e := env(fakeGPU{err: gpu.ErrNoGPU}, t.TempDir(), false)
	p, _ := Decide(c, e)
	_, err := Build(c, p, e, zaptest.NewLogger(t))
	if !errors.Is(err, ErrSetup) || !strings.Contains(err.Error(), "XINIT_RUNTIME_DIR") {
		t.Fatalf("%v", err)
	}
}

func TestXorgConfFollowsXINIT_GPU(t *testing.T) {
	two := gpu.Info{Driver: "580.159.04", Devices: []gpu.Device{
		{Index: 0, Name: "NVIDIA H200", UUID: "GPU-a", BusID: xorgconf.BusID{Bus: 0x1a}},
		{Index: 1, Name: "NVIDIA H200", UUID: "GPU-b", BusID: xorgconf.BusID{Bus: 0x1b}},
	}}
	good := driverTree(t, "580.159.04", true)
	cases := map[string][]string{
		"all":   {`BusID "PCI:26:0:0"`, `BusID "PCI:27:0:0"`},
		"1":     {`BusID "PCI:27:0:0"`},
		"GPU-a": {`BusID "PCI:26:0:0"`},
	}
	for which, want := range cases {
		p, err := Decide(cfg(t, "XINIT_BACKEND=nvidia", "XINIT_GPU="+which), env(fakeGPU{info: two}, good, true))
		if err != nil {
			t.Fatal(err)
		}
		text, err := p.XorgConf()
		if err != nil {
			t.Fatal(err)
		}
		if n := strings.Count(string(text), `Section "Device"`); n != len(want) {
			t.Errorf("XINIT_GPU=%s: %d Device sections, want %d", which, n, len(want))
		}
		for _, w := range want {
			if !strings.Contains(string(text), w) {
				t.Errorf("XINIT_GPU=%s: no %s", which, w)
			}
		}
		if !strings.Contains(string(text), `"ProbeAllGpus" "false"`) {
			t.Errorf("XINIT_GPU=%s: ProbeAllGpus", which)
		}
	}
}

// TestExtraServicesHaveRootsIdentity: extra services run as root, so with an app
// user they get root's HOME, USER and LOGNAME, while the app gets the user's.
func TestExtraServicesHaveRootsIdentity(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("SKIPPED, NOT RUN: the identity checked is root's")
	}
	file := filepath.Join(t.TempDir(), "config.toml")
	if err := os.WriteFile(file, []byte("[[service]]\nname = \"wm\"\ncommand = [\"openbox\"]\nafter = [\"x\"]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c := cfg(t, "XINIT_BACKEND=xvfb", "XINIT_VNC=off", "XINIT_APP_USER=nobody", "XINIT_CONFIG="+file)
	e := env(fakeGPU{err: gpu.ErrNoGPU}, t.TempDir(), false, "HOME=/root", "USER=root", "PATH=/usr/bin")
	p, err := Decide(c, e)
	if err != nil {
		t.Fatal(err)
	}
	s, err := Build(c, p, e, zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{
		AppName: {"HOME=/nonexistent", "USER=nobody", "LOGNAME=nobody"},
		"wm":    {"HOME=/root", "USER=root", "LOGNAME=root"},
	}
	for _, sp := range s.Specs {
		for _, kv := range want[sp.Name] {
			if !slices.Contains(sp.Env, kv) {
				t.Errorf("%s: no %s in %q", sp.Name, kv, sp.Env)
			}
		}
		if sp.Name == "wm" && sp.Credential != nil {
			t.Errorf("wm runs as %+v, want root", sp.Credential)
		}
	}
}

// TestWeakPasswordWarning: a weak password is said at start, and the password
// itself is not.
func TestWeakPasswordWarning(t *testing.T) {
	for _, tc := range []struct {
		pw   string
		warn bool
	}{{"passpass", true}, {"xK9#mQ2v", false}} {
		c := cfg(t, "XINIT_BACKEND=xvfb", "VNC_PASSWORD="+tc.pw)
		e := env(fakeGPU{err: gpu.ErrNoGPU}, t.TempDir(), false, "PATH=/usr/bin")
		p, err := Decide(c, e)
		if err != nil {
			t.Fatal(err)
		}
		core, logs := observer.New(zapcore.WarnLevel)
		if _, err := Build(c, p, e, zap.New(core)); err != nil {
			t.Fatal(err)
		}
		weak := logs.FilterMessageSnippet("VNC password is weak")
		if (weak.Len() > 0) != tc.warn {
			t.Errorf("password %q: %d weak warnings, want %v", tc.pw, weak.Len(), tc.warn)
		}
		for _, e := range logs.All() {
			if strings.Contains(e.Message, tc.pw) || strings.Contains(fmt.Sprint(e.ContextMap()), tc.pw) {
				t.Errorf("the log shows the password: %s %v", e.Message, e.ContextMap())
			}
		}
	}
}

// TestPolicyMapsEveryChoice: each restart policy the config accepts is the
// supervisor's policy of the same name.
func TestPolicyMapsEveryChoice(t *testing.T) {
	for _, p := range []config.RestartPolicy{config.RestartNever, config.RestartOnFailure, config.RestartAlways} {
		if got := policy(p).String(); got != string(p) {
			t.Errorf("%s: the supervisor's policy is %s", p, got)
		}
	}
}
