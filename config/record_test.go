package config

import (
	"strings"
	"testing"
	"time"
)

func TestRecordSettings(t *testing.T) {
	t.Parallel()
	c, err := load(t, []string{"app"}, env())
	if err != nil {
		t.Fatal(err)
	}
	if c.Record != "" || c.RecordFPS != 15 || c.RecordLast != 0 || c.RecordKeep != "always" ||
		c.Artifacts != "" || c.FreezeTimeout != 0 || c.FreezeAction != "fail" {
		t.Errorf("defaults: %+v", c)
	}
	c, err = load(t, []string{"app"}, env("XINIT_RECORD=/a/run.mp4", "XINIT_RECORD_FPS=30", "XINIT_RECORD_LAST=1m",
		"XINIT_RECORD_KEEP=failure", "XINIT_ARTIFACTS=/art", "XINIT_FREEZE_TIMEOUT=20s", "XINIT_FREEZE_ACTION=restart"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Record != "/a/run.mp4" || c.RecordFPS != 30 || c.RecordLast != time.Minute || c.RecordKeep != "failure" ||
		c.Artifacts != "/art" || c.FreezeTimeout != 20*time.Second || c.FreezeAction != "restart" {
		t.Errorf("values: %+v", c)
	}
}

func TestRecordBadValues(t *testing.T) {
	t.Parallel()
	cases := []struct{ kv, want string }{
		{"XINIT_RECORD=run.mp4", `XINIT_RECORD="run.mp4": want an absolute path ending in .mp4, e.g. XINIT_RECORD=/artifacts/run.mp4`},
		{"XINIT_RECORD=/a/run.mkv", "want an absolute path ending in .mp4"},
		{"XINIT_RECORD_FPS=0", `XINIT_RECORD_FPS="0": want a whole number from 1 to 60, e.g. XINIT_RECORD_FPS=30`},
		{"XINIT_RECORD_FPS=120", "want a whole number from 1 to 60"},
		{"XINIT_RECORD_LAST=1s", `XINIT_RECORD_LAST="1s": want 0 or at least 4s`},
		{"XINIT_RECORD_KEEP=never", `XINIT_RECORD_KEEP="never": want one of always, failure, e.g. XINIT_RECORD_KEEP=failure`},
		{"XINIT_ARTIFACTS=artifacts", `XINIT_ARTIFACTS="artifacts": want an absolute path, e.g. XINIT_ARTIFACTS=/artifacts`},
		{"XINIT_FREEZE_TIMEOUT=100ms", `XINIT_FREEZE_TIMEOUT="100ms": want 0 or at least 1s`},
		{"XINIT_FREEZE_TIMEOUT=soon", "want a Go duration"},
		{"XINIT_FREEZE_ACTION=panic", `XINIT_FREEZE_ACTION="panic": want one of fail, restart, log, e.g. XINIT_FREEZE_ACTION=restart`},
	}
	for _, tc := range cases {
		_, err := load(t, []string{"app"}, env(tc.kv))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want %q", tc.kv, err, tc.want)
		}
	}
}

func TestRecordCrossChecks(t *testing.T) {
	t.Parallel()
	cases := []struct {
		kv   []string
		want string
	}{
		{[]string{"XINIT_BACKEND=none", "XINIT_RECORD=/a/r.mp4"}, "XINIT_RECORD=\"/a/r.mp4\" needs a display"},
		{[]string{"XINIT_BACKEND=none", "XINIT_FREEZE_TIMEOUT=5s"}, "XINIT_FREEZE_TIMEOUT=5s needs a display"},
		{[]string{"XINIT_RECORD_LAST=60s"}, "XINIT_RECORD_LAST=1m0s needs XINIT_RECORD"},
		{[]string{"XINIT_RECORD=/art/r.mp4", "XINIT_ARTIFACTS=/art"}, "is inside XINIT_ARTIFACTS"},
		{[]string{"XINIT_RECORD=/run/xinit-go/r.mp4"}, "is inside XINIT_RUNTIME_DIR"},
		{[]string{"XINIT_ARTIFACTS=/run/xinit-go/a"}, "XINIT_ARTIFACTS is inside XINIT_RUNTIME_DIR"},
		{[]string{"XINIT_SLOW_FPS=0.5", "XINIT_SLOW_FOR=2s"}, "XINIT_SLOW_FPS=0.5 over XINIT_SLOW_FOR=2s is at most one update, but a screen with no update is static, not slow: the rule could never fire; ask for more, e.g. XINIT_SLOW_FOR=4s"},
		{[]string{"XINIT_SLOW_FPS=0.001"}, "the rule could never fire; ask for more, e.g. XINIT_SLOW_FPS=1"},
	}
	for _, tc := range cases {
		_, err := load(t, []string{"app"}, env(tc.kv...))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: got %v, want %q", tc.kv, err, tc.want)
		}
	}
	if _, err := load(t, []string{"app"}, env("XINIT_RECORD=/art2/r.mp4", "XINIT_ARTIFACTS=/art")); err != nil {
		t.Errorf("a sibling directory is not inside: %v", err)
	}
	if _, err := load(t, []string{"app"}, env("XINIT_SLOW_FPS=0.6", "XINIT_SLOW_FOR=2s")); err != nil {
		t.Errorf("a rule that fires on one update in 2s: %v", err)
	}
}
