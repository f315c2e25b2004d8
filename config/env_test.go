package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPasswordWhitespaceIsTheSameFromEitherSource: the whitespace around a
// password means nothing, whether it comes from VNC_PASSWORD, the TOML file or
// the first line of XINIT_VNC_PASSWORD_FILE.
func TestPasswordWhitespaceIsTheSameFromEitherSource(t *testing.T) {
	t.Parallel()
	for _, raw := range []string{"k8ssecret", "k8ssecret\n", " k8ssecret \r\n", "\tk8ssecret\nsecond line\n"} {
		file := filepath.Join(t.TempDir(), "pw")
		if err := os.WriteFile(file, []byte(raw), 0o600); err != nil {
			t.Fatal(err)
		}
		first, _, _ := strings.Cut(raw, "\n")
		for name, getenv := range map[string]func(string) string{
			"VNC_PASSWORD":            env("VNC_PASSWORD=" + first),
			"XINIT_VNC_PASSWORD_FILE": env("XINIT_VNC_PASSWORD_FILE=" + file),
		} {
			c, err := load(t, []string{"app"}, getenv)
			if err != nil || c.VNCPassword != "k8ssecret" {
				t.Errorf("%s from %q: password %q, %v; want \"k8ssecret\"", name, raw, c.VNCPassword, err)
			}
		}
	}
	for _, raw := range []string{"", "\n", "  \r\n", "\nk8ssecret\n"} {
		file := filepath.Join(t.TempDir(), "pw")
		if err := os.WriteFile(file, []byte(raw), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := load(t, []string{"app"}, env("XINIT_VNC_PASSWORD_FILE="+file))
		if err == nil || !strings.Contains(err.Error(), "XINIT_VNC_PASSWORD_FILE") || !strings.Contains(err.Error(), "first line is empty") {
			t.Errorf("%q: error %v, want one that says the first line is empty", raw, err)
		}
	}
}

// TestEmptyVariableOverridesTheFile: a variable set to "" overrides the TOML
// value of a setting whose empty value means none; for the others it counts as
// unset.
func TestEmptyVariableOverridesTheFile(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "config.toml")
	toml := "vnc_password = \"fromfile\"\nscreenshot = \"/artifacts/shot.png\"\napp_user = \"nobody\"\nvnc_port = 5901\n"
	if err := os.WriteFile(file, []byte(toml), 0o644); err != nil {
		t.Fatal(err)
	}
	lookup := func(kv ...string) func(string) (string, bool) {
		m := map[string]string{"XINIT_CONFIG": file}
		for _, s := range kv {
			k, v, _ := strings.Cut(s, "=")
			m[k] = v
		}
		return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
	}
	c, err := LoadLookup([]string{"app"}, lookup(), "")
	if err != nil || c.VNCPassword != "fromfile" || c.Screenshot == "" || c.AppUser != "nobody" || c.VNCPort != 5901 {
		t.Fatalf("the file's values: %+v, %v", c, err)
	}
	c, err = LoadLookup([]string{"app"}, lookup("VNC_PASSWORD=", "XINIT_SCREENSHOT=", "XINIT_APP_USER=", "XINIT_VNC_PORT="), "")
	if err != nil {
		t.Fatal(err)
	}
	if c.VNCPassword != "" || c.Screenshot != "" || c.AppUser != "" {
		t.Errorf("empty variables did not override the file: password %q, screenshot %q, app user %q", c.VNCPassword, c.Screenshot, c.AppUser)
	}
	if c.VNCPort != 5901 {
		t.Errorf("XINIT_VNC_PORT=\"\" gave port %d, want the file's 5901 (an empty variable counts as unset where empty means nothing)", c.VNCPort)
	}
	// Load, with a plain getenv, cannot tell empty from unset: the file wins.
	c, err = Load([]string{"app"}, env("XINIT_CONFIG="+file, "VNC_PASSWORD="), "")
	if err != nil || c.VNCPassword != "fromfile" {
		t.Errorf("Load: password %q, %v", c.VNCPassword, err)
	}
}
