package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestErrorsGiveExamplesInTheSourcesForm(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "config.toml")
	if err := os.WriteFile(file, []byte("vnc_port = \"5900\"\napp_restart = \"sometimes\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"XINIT_CONFIG": file}
	_, err := Load([]string{"--stop-grace", "soon"}, func(k string) string { return env[k] }, "")
	if err == nil {
		t.Fatal("no error")
	}
	msg := err.Error()
	for _, want := range []string{
		`vnc_port = "5900": want a number, not a string, e.g. vnc_port = 5901`,
		`app_restart = "sometimes"`, `e.g. app_restart = "on-failure"`,
		`--stop-grace "soon"`, `e.g. --stop-grace `,
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("the error lacks %q:\n%s", want, msg)
		}
	}
	if strings.Contains(msg, "e.g. XINIT_APP_RESTART=") || strings.Contains(msg, "e.g. XINIT_STOP_GRACE=") {
		t.Errorf("an example in variable form for a file or flag value:\n%s", msg)
	}
}

func TestVNCPortNumberFromTOML(t *testing.T) {
	file := filepath.Join(t.TempDir(), "config.toml")
	if err := os.WriteFile(file, []byte("vnc_port = 5901\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(nil, configFile(file), "")
	if err != nil {
		t.Fatal(err)
	}
	if c.VNCPort != 5901 {
		t.Errorf("VNCPort %d, want 5901", c.VNCPort)
	}
}

// TestSlowFPSFractionFromTOML: slow_fps takes a fraction in the file as the
// variable does, as a TOML number.
func TestSlowFPSFractionFromTOML(t *testing.T) {
	file := filepath.Join(t.TempDir(), "config.toml")
	if err := os.WriteFile(file, []byte("slow_fps = 2.5\nslow_for = \"10s\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load([]string{"app"}, configFile(file), "")
	if err != nil {
		t.Fatal(err)
	}
	if c.SlowFPS != 2.5 || c.SlowFor != 10*time.Second {
		t.Errorf("SlowFPS %g, SlowFor %v, want 2.5 and 10s", c.SlowFPS, c.SlowFor)
	}
}

// configFile is an environment that holds only XINIT_CONFIG=file.
func configFile(file string) func(string) string {
	return func(k string) string {
		if k == "XINIT_CONFIG" {
			return file
		}
		return ""
	}
}
