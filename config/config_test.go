package config

import (
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite docs/configuration.md's settings table")

func env(kv ...string) func(string) string {
	m := map[string]string{}
	for _, s := range kv {
		k, v, _ := strings.Cut(s, "=")
		m[k] = v
	}
	return func(k string) string { return m[k] }
}

func load(t *testing.T, args []string, getenv func(string) string) (*Config, error) {
	t.Helper()
	return Load(args, getenv, filepath.Join(t.TempDir(), "absent.toml"))
}

func TestDefaults(t *testing.T) {
	t.Parallel()
	c, err := load(t, []string{"app"}, env())
	if err != nil {
		t.Fatal(err)
	}
	if c.Backend != "auto" || c.Display != 0 || c.Width != 1920 || c.Height != 1080 || c.Depth != 24 ||
		!c.VNC || c.VNCPort != 5900 || c.HealthAddr != ":9810" || c.AppRestart != "never" ||
		c.StopGrace != 5*time.Second || c.RestartBudget != 5 || c.RestartWindow != time.Minute ||
		len(c.Forward) != 5 || c.RuntimeDir != "/run/xinit-go" || c.GPU != "0" {
		t.Errorf("defaults: %+v", c)
	}
	if len(c.App) != 1 || c.App[0] != "app" {
		t.Errorf("app %v", c.App)
	}
}

func TestPrecedence(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "c.toml")
	if err := os.WriteFile(file, []byte("resolution = \"800x600\"\nvnc_port = 5901\ndisplay = \":3\"\nvnc = false\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := load(t, []string{"--display", ":7", "--", "app", "--flag"}, env("XINIT_CONFIG="+file, "XINIT_VNC_PORT=5902", "XINIT_DISPLAY=:5"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Width != 800 || c.VNCPort != 5902 || c.Display != 7 || c.VNC {
		t.Errorf("file < env < flag broken: %+v", c)
	}
	if strings.Join(c.App, " ") != "app --flag" {
		t.Errorf("app %v", c.App)
	}
}

func TestDefaultFileIsRead(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "config.toml")
	if err := os.WriteFile(file, []byte("backend = \"xvfb\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := Load([]string{"app"}, env(), file)
	if err != nil || c.Backend != "xvfb" || c.File != file {
		t.Fatalf("%+v %v", c, err)
	}
}

func TestGoodValues(t *testing.T) {
	t.Parallel()
	c, err := load(t, []string{"app"}, env(
		"BUSID=00000000:1A:00.0", "SCREEN_RESOLUTION=1280x1024", "XINIT_GPU=GPU-1234", "XINIT_HEALTH_ADDR=off",
		"XINIT_FORWARD_SIGNALS=hup, SIGUSR1", "XINIT_APP_TIMEOUT=90m", "XINIT_RESTART_BUDGET=0/10s", "XINIT_VNC=no",
		"XINIT_REQUIRE_GPU=1"))
	if err != nil {
		t.Fatal(err)
	}
	if c.BusID.String() != "PCI:26:0:0" || c.Depth != 24 || c.HealthAddr != "" || c.AppTimeout != 90*time.Minute ||
		len(c.Forward) != 2 || c.Forward[0] != syscall.SIGHUP || c.RestartBudget != 0 || c.VNC || !c.RequireGPU {
		t.Errorf("%+v", c)
	}
}

func TestPasswordFile(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(file, []byte("k8ssecret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := load(t, []string{"app"}, env("XINIT_VNC_PASSWORD_FILE="+file))
	if err != nil || c.VNCPassword != "k8ssecret" {
		t.Fatalf("%v %q", err, c.VNCPassword)
	}
}

// TestBadValues: every bad value gives an error that names its setting and an example.
func TestBadValues(t *testing.T) {
	t.Parallel()
	cases := []struct{ env, name string }{
		{"XINIT_BACKEND=gpu", "XINIT_BACKEND"},
		{"XINIT_BACKEND=", ""},
		{"XINIT_DISPLAY=0", "XINIT_DISPLAY"},
		{"XINIT_DISPLAY=:x", "XINIT_DISPLAY"},
		{"XINIT_DISPLAY=:-1", "XINIT_DISPLAY"},
		{"XINIT_DISPLAY=:99999", "XINIT_DISPLAY"},
		{"SCREEN_RESOLUTION=1280x", "SCREEN_RESOLUTION"},
		{"SCREEN_RESOLUTION=1280", "SCREEN_RESOLUTION"},
		{"SCREEN_RESOLUTION=x1024", "SCREEN_RESOLUTION"},
		{"SCREEN_RESOLUTION=1280x1024x8", "SCREEN_RESOLUTION"},
		{"SCREEN_RESOLUTION=100x100", "SCREEN_RESOLUTION"},
		{"SCREEN_RESOLUTION=99999x1024", "SCREEN_RESOLUTION"},
		{"SCREEN_RESOLUTION=1280x1024x24x1", "SCREEN_RESOLUTION"},
		{"SCREEN_RESOLUTION=-1280x1024", "SCREEN_RESOLUTION"},
		{"SCREEN_RESOLUTION=1280*1024", "SCREEN_RESOLUTION"},
		{"BUSID=PCI:0:4", "BUSID"},
		{"BUSID=0:4:0", "BUSID"},
		{"BUSID=PCI:0:40:0", "BUSID"},
		{"BUSID=PCI:0:4:9", "BUSID"},
		{"BUSID=00000000:1G:00.0", "BUSID"},
		{"XINIT_GPU=first", "XINIT_GPU"},
		{"XINIT_REQUIRE_GPU=yes please", "XINIT_REQUIRE_GPU"},
		{"XINIT_REQUIRE_GPU=2", "XINIT_REQUIRE_GPU"},
		{"XINIT_GPU=-1", "XINIT_GPU"},
		{"XINIT_XORG_CONF=xorg.conf", "XINIT_XORG_CONF"},
		{"XINIT_RUNTIME_DIR=run", "XINIT_RUNTIME_DIR"},
		{"XINIT_X_READY_TIMEOUT=0", "XINIT_X_READY_TIMEOUT"},
		{"XINIT_X_READY_TIMEOUT=soon", "XINIT_X_READY_TIMEOUT"},
		{"XINIT_VNC=maybe", "XINIT_VNC"},
		{"XINIT_VNC_PORT=0", "XINIT_VNC_PORT"},
		{"XINIT_VNC_PORT=65536", "XINIT_VNC_PORT"},
		{"XINIT_VNC_PORT=vnc", "XINIT_VNC_PORT"},
		{"XINIT_VNC_LISTEN=everywhere", "XINIT_VNC_LISTEN"},
		{"XINIT_HEALTH_ADDR=9810", "XINIT_HEALTH_ADDR"},
		{"XINIT_HEALTH_ADDR=:99999", "XINIT_HEALTH_ADDR"},
		{"XINIT_HEALTH_ADDR=example.com:80", "XINIT_HEALTH_ADDR"},
		{"XINIT_APP_RESTART=sometimes", "XINIT_APP_RESTART"},
		{"XINIT_APP_TIMEOUT=10", "XINIT_APP_TIMEOUT"},
		{"XINIT_APP_TIMEOUT=-5s", "XINIT_APP_TIMEOUT"},
		{"XINIT_APP_TIMEOUT=10000h", "XINIT_APP_TIMEOUT"},
		{"XINIT_STOP_GRACE=0s", "XINIT_STOP_GRACE"},
		{"XINIT_STOP_GRACE=5", "XINIT_STOP_GRACE"},
		{"XINIT_RESTART_BUDGET=5", "XINIT_RESTART_BUDGET"},
		{"XINIT_RESTART_BUDGET=x/1m", "XINIT_RESTART_BUDGET"},
		{"XINIT_RESTART_BUDGET=5/", "XINIT_RESTART_BUDGET"},
		{"XINIT_RESTART_BUDGET=-1/1m", "XINIT_RESTART_BUDGET"},
		{"XINIT_FORWARD_SIGNALS=HUP,BOGUS", "XINIT_FORWARD_SIGNALS"},
		{"XINIT_FORWARD_SIGNALS=KILL", "XINIT_FORWARD_SIGNALS"},
		{"XINIT_FORWARD_SIGNALS=TERM", "XINIT_FORWARD_SIGNALS"},
		{"XINIT_SCREENSHOT=/tmp/last.jpg", "XINIT_SCREENSHOT"},
		{"XINIT_APP_USER=a b", "XINIT_APP_USER"},
		{"XINIT_APP_USER=1000:staff", "XINIT_APP_USER"},
		{"XINIT_LOG_FORMAT=xml", "XINIT_LOG_FORMAT"},
		{"XINIT_LOG_LEVEL=verbose", "XINIT_LOG_LEVEL"},
		{"XINIT_VNC_PASSWORD_FILE=/nonexistent/pw", "XINIT_VNC_PASSWORD_FILE"},
		{"XINIT_CONFIG=/nonexistent/config.toml", "/nonexistent/config.toml"},
		{"XINIT_WEB_ADDR=6080", "XINIT_WEB_ADDR"},
		{"XINIT_WEB_ADDR=example.com:6080", "XINIT_WEB_ADDR"},
		{"XINIT_WEB_ROOT=novnc", "XINIT_WEB_ROOT"},
		{"XINIT_WEB_ROOT=/nonexistent/novnc", "XINIT_WEB_ROOT"},
		{"XINIT_WEB_TLS_CERT=/nonexistent/tls.crt", "XINIT_WEB_TLS_KEY"},
		{"XINIT_WEB_ADDR=:5900", "XINIT_VNC_PORT"},
		{"XINIT_WEB_HOSTS=view.example.com:443", "XINIT_WEB_HOSTS"},
		{"XINIT_WEB_HOSTS=a..b", "XINIT_WEB_HOSTS"},
		{"XINIT_WEB_HOSTS=*", "XINIT_WEB_HOSTS"},
	}
	if len(cases) < 40 {
		t.Fatalf("only %d cases", len(cases))
	}
	for _, c := range cases {
		if c.name == "" {
			continue // an empty value means the default
		}
		_, err := load(t, []string{"app"}, env(c.env))
		if err == nil {
			t.Errorf("%s accepted", c.env)
			continue
		}
		msg := err.Error()
		if !strings.Contains(msg, c.name) {
			t.Errorf("%s: error does not name %s: %s", c.env, c.name, msg)
		}
		if !strings.Contains(msg, "e.g.") && !strings.Contains(msg, "fix the path") {
			t.Errorf("%s: error gives no example: %s", c.env, msg)
		}
	}
}

func TestAllProblemsAtOnce(t *testing.T) {
	t.Parallel()
	_, err := load(t, []string{"app"}, env("SCREEN_RESOLUTION=1x", "XINIT_VNC_PORT=0", "XINIT_LOG_LEVEL=loud"))
	var ce *Error
	if !errors.As(err, &ce) || len(ce.Problems) != 3 {
		t.Fatalf("want 3 problems, got %v", err)
	}
}

func TestCrossChecks(t *testing.T) {
	t.Parallel()
	pw := filepath.Join(t.TempDir(), "pw")
	_ = os.WriteFile(pw, []byte("x\n"), 0o600)
	empty := filepath.Join(t.TempDir(), "empty")
	_ = os.WriteFile(empty, nil, 0o600)
	cases := []struct {
		args []string
		env  []string
		want string
	}{
		{[]string{"app"}, []string{"VNC_PASSWORD=a", "XINIT_VNC_PASSWORD_FILE=" + pw}, "both set"},
		{[]string{"app"}, []string{"XINIT_VNC_PASSWORD_FILE=" + empty}, "empty"},
		{[]string{"app"}, []string{"XINIT_VNC_PORT=9810"}, "same port"},
		{nil, []string{"XINIT_BACKEND=none"}, "needs an app"},
		{[]string{"app"}, []string{"XINIT_BACKEND=none", "XINIT_SCREENSHOT=/a.png"}, "needs a display"},
		{[]string{"app"}, []string{"XINIT_BACKEND=none", "XINIT_REQUIRE_GPU=1"}, "XINIT_REQUIRE_GPU=1 checks the GL renderer"},
		{[]string{"--bogus-flag", "app"}, nil, "bogus-flag"},
		{[]string{"app"}, []string{"XINIT_WEB_ADDR=:9810"}, "same port"},
		{[]string{"app"}, []string{"XINIT_WEB_TLS_CERT=" + pw, "XINIT_WEB_TLS_KEY=" + pw}, "XINIT_WEB_TLS_CERT"},
		{[]string{"app"}, []string{"XINIT_WEB_ROOT=" + filepath.Dir(pw)}, "holds no noVNC client"},
		// Keys that load but cannot sign a handshake.
		{[]string{"app"}, []string{"XINIT_WEB_TLS_CERT=testdata/rsa512.crt", "XINIT_WEB_TLS_KEY=testdata/rsa512.key"}, `XINIT_WEB_TLS_KEY="testdata/rsa512.key" loads but cannot sign`},
		{[]string{"app"}, []string{"XINIT_WEB_TLS_CERT=testdata/p224.crt", "XINIT_WEB_TLS_KEY=testdata/p224.key"}, `XINIT_WEB_TLS_KEY="testdata/p224.key" loads but cannot sign`},
	}
	for _, c := range cases {
		_, err := load(t, c.args, env(c.env...))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v %v: got %v, want %q", c.args, c.env, err, c.want)
		}
	}
}

func TestWebTLSAndHosts(t *testing.T) {
	t.Parallel()
	cfg, err := load(t, []string{"app"}, env("XINIT_WEB_TLS_CERT=testdata/p256.crt", "XINIT_WEB_TLS_KEY=testdata/p256.key",
		"XINIT_WEB_HOSTS= View.Example.com, *.apps.example.org ,"))
	if err != nil {
		t.Fatalf("a P-256 key and two names: %v", err)
	}
	if want := []string{"view.example.com", "*.apps.example.org"}; strings.Join(cfg.WebHosts, " ") != strings.Join(want, " ") {
		t.Errorf("WebHosts %q, want %q", cfg.WebHosts, want)
	}
}

func TestTOMLErrors(t *testing.T) {
	t.Parallel()
	cases := map[string]string{
		"resolutoin = \"800x600\"\n":                                          `unknown key "resolutoin"`,
		"vnc_port = 1.5\n":                                                    "vnc_port",
		"vnc_port = 0\n":                                                      "vnc_port = \"0\"",
		"backend = [\"a\", 1]\n":                                              "backend",
		"[[service]]\nname = \"wm\"\ncommand = []\n":                          "command is empty",
		"[[service]]\ncommand = [\"a\"]\n":                                    "name is missing",
		"[[service]]\nname = \"x\"\ncommand = [\"a\"]\n":                      "is taken",
		"[[service]]\nname = \"w\"\ncommand = [\"a\"]\nafter = [\"y\"]\n":     "no such service",
		"[[service]]\nname = \"w\"\ncommand = [\"a\"]\nrestart = \"often\"\n": "restart",
		"[[service]]\nname = \"w\"\ncommand = [\"a\"]\nbogus = 1\n":           "unknown key bogus",
		"this is not toml":                                                    "config file",
	}
	for text, want := range cases {
		file := filepath.Join(t.TempDir(), "c.toml")
		_ = os.WriteFile(file, []byte(text), 0o644)
		_, err := load(t, []string{"app"}, env("XINIT_CONFIG="+file))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: got %v, want %q", text, err, want)
		}
	}
}

func TestServices(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "c.toml")
	_ = os.WriteFile(file, []byte(`
[[service]]
name = "wm"
command = ["openbox"]
after = ["x"]
env = { A = "1" }

[[service]]
name = "rec"
command = ["ffmpeg", "-f", "x11grab"]
after = ["wm", "app"]
restart = "always"
required = true
`), 0o644)
	c, err := load(t, []string{"app"}, env("XINIT_CONFIG="+file))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Services) != 2 || c.Services[0].Restart != "on-failure" || c.Services[1].After[1] != "app" || !c.Services[1].Required || c.Services[0].Env["A"] != "1" {
		t.Errorf("%+v", c.Services)
	}
}

// TestSettingsTable keeps docs/configuration.md's table of every setting equal
// to the code's.
func TestSettingsTable(t *testing.T) {
	path := filepath.Join("..", "docs", "configuration.md")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	const begin, end = "<!-- settings:begin -->\n", "<!-- settings:end -->"
	s := string(b)
	i, j := strings.Index(s, begin), strings.Index(s, end)
	if i < 0 || j < i {
		t.Fatal("docs/configuration.md has no settings markers")
	}
	want := MarkdownTable()
	if got := s[i+len(begin) : j]; got != want {
		if *update {
			if err := os.WriteFile(path, []byte(s[:i+len(begin)]+want+s[j:]), 0o644); err != nil {
				t.Fatal(err)
			}
			return
		}
		t.Errorf("docs/configuration.md's settings table differs from the code; run go test ./config -run Table -update\n%s", want)
	}
}

// TestCommandDocListsEverySetting keeps cmd/xinit-go's package comment complete.
func TestCommandDocListsEverySetting(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "cmd", "xinit-go", "doc.go"))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range Settings() {
		if !strings.Contains(string(b), s.Env) {
			t.Errorf("cmd/xinit-go/doc.go does not mention %s", s.Env)
		}
		if s.Key != "" && !strings.Contains(string(b), s.Key) {
			t.Errorf("cmd/xinit-go/doc.go does not mention the key %s", s.Key)
		}
	}
}

func FuzzParseResolution(f *testing.F) {
	for _, s := range []string{"1920x1080", "1280x1024x24", "1x1", "x", "16384x16384x30", "0x0x0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		w, h, d, err := ParseResolution(s)
		if err != nil {
			return
		}
		if w < 320 || h < 200 || w > 16384 || h > 16384 || (d != 16 && d != 24 && d != 30) {
			t.Fatalf("%q accepted as %dx%dx%d", s, w, h, d)
		}
	})
}

func FuzzLoadTOML(f *testing.F) {
	f.Add("backend = \"xvfb\"\nresolution = \"800x600\"\n")
	f.Add("[[service]]\nname = \"wm\"\ncommand = [\"openbox\"]\nafter = [\"x\"]\n")
	f.Add("vnc_port = 5901\nvnc = false\nforward_signals = [\"HUP\"]\n")
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, text string) {
		file := filepath.Join(dir, "c.toml")
		if err := os.WriteFile(file, []byte(text), 0o644); err != nil {
			t.Skip()
		}
		c, err := Load([]string{"app"}, env("XINIT_CONFIG="+file), "")
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error")
			}
			return
		}
		if c.Width < 320 || c.VNCPort < 1 || c.StopGrace <= 0 {
			t.Fatalf("accepted a bad config: %+v", c)
		}
	})
}

func TestWebSettings(t *testing.T) {
	t.Parallel()
	c, err := load(t, []string{"app"}, env())
	if err != nil || c.WebAddr != ":6080" || !c.WebOn() || c.WebRoot != "" {
		t.Fatalf("defaults: %+v %v", c, err)
	}
	for _, e := range [][]string{{"XINIT_WEB_ADDR=off"}, {"XINIT_VNC=off"}, {"XINIT_BACKEND=none"}} {
		c, err := load(t, []string{"app"}, env(e...))
		if err != nil || c.WebOn() {
			t.Errorf("%v: web on %v, %v", e, c != nil && c.WebOn(), err)
		}
	}
	// With the view off its root is not checked.
	if _, err := load(t, []string{"app"}, env("XINIT_WEB_ADDR=off", "XINIT_WEB_ROOT=/nonexistent")); err != nil {
		t.Errorf("root checked with the view off: %v", err)
	}
}

// TestXArgsListInTOML: x_args as a TOML list keeps each element as one
// argument, spaces included (before: joined and split on spaces); as a string
// or a variable it is split on spaces.
func TestXArgsListInTOML(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "config.toml")
	if err := os.WriteFile(file, []byte(`x_args = ["-fp", "/usr/share/fonts/my fonts", "-verbose"]`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := Load([]string{"app"}, env(), file)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"-fp", "/usr/share/fonts/my fonts", "-verbose"}; !slices.Equal(c.XArgs, want) {
		t.Errorf("x_args %q, want %q", c.XArgs, want)
	}
	c, err = Load([]string{"app"}, env("XINIT_X_ARGS=+extension RANDR  -verbose"), file)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"+extension", "RANDR", "-verbose"}; !slices.Equal(c.XArgs, want) {
		t.Errorf("XINIT_X_ARGS: %q, want %q", c.XArgs, want)
	}
}

// TestEnumsAreParsedOnce: a choice is stored as its typed, lower-case word,
// and so is a service's restart policy in the TOML file.
func TestEnumsAreParsedOnce(t *testing.T) {
	file := filepath.Join(t.TempDir(), "config.toml")
	if err := os.WriteFile(file, []byte("[[service]]\nname = \"wm\"\ncommand = [\"openbox\"]\nrestart = \"Always\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"XINIT_CONFIG": file, "XINIT_APP_RESTART": "On-Failure", "XINIT_FREEZE_ACTION": "LOG",
		"XINIT_VULKAN": "Layer", "XINIT_RECORD_KEEP": "failure"}
	c, err := Load([]string{"app"}, func(k string) string { return env[k] }, "")
	if err != nil {
		t.Fatal(err)
	}
	if c.AppRestart != RestartOnFailure || c.FreezeAction != FreezeLog || c.Vulkan != VulkanLayer || c.RecordKeep != KeepFailure ||
		c.Services[0].Restart != RestartAlways {
		t.Errorf("%q %q %q %q %q", c.AppRestart, c.FreezeAction, c.Vulkan, c.RecordKeep, c.Services[0].Restart)
	}
}

// TestJSONDurationsHaveUnits: every duration in the configuration's JSON (the
// settings in summary.json) is written with its unit, under its TOML key.
func TestJSONDurationsHaveUnits(t *testing.T) {
	c, err := Load([]string{"app"}, env("XINIT_STOP_GRACE=7s", "XINIT_FREEZE_TIMEOUT=90s"), filepath.Join(t.TempDir(), "absent.toml"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(c.Redacted())
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"x_ready_timeout": "30s", "app_timeout": "0s", "stop_grace": "7s", "restart_window": "",
		"restart_backoff": "", "record_last": "0s", "freeze_timeout": "1m30s"}
	for k, w := range want {
		s, ok := m[k].(string)
		if !ok || (w != "" && s != w) {
			t.Errorf("%s: %v, want %q", k, m[k], w)
		}
	}
	if m["backend"] != "auto" || m["vnc_port"] != 5900.0 || m["app_restart"] != "never" {
		t.Errorf("other settings: %v %v %v", m["backend"], m["vnc_port"], m["app_restart"])
	}
	typ := reflect.TypeFor[Config]()
	for i := range typ.NumField() {
		if f := typ.Field(i); f.Type == reflect.TypeFor[time.Duration]() {
			if _, ok := m[strings.Split(f.Tag.Get("json"), ",")[0]].(string); !ok {
				t.Errorf("%s is written without its unit", f.Name)
			}
		}
	}
}
