package main

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
)

func TestMistypedSubcommandIsUnknown(t *testing.T) {
	sys := system{environ: []string{"PATH=" + os.Getenv("PATH"), "XINIT_HEALTH_ADDR=off"}}
	var out, errb bytes.Buffer
	code := run(context.Background(), []string{"chek"}, sys, &out, &errb)
	if code != 127 {
		t.Fatalf("xinit-go chek: exit %d, want 127; stderr:\n%s", code, errb.String())
	}
	for _, want := range []string{`unknown command "chek"`, "check", "xinit-go -- glxgears"} {
		if !strings.Contains(errb.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, errb.String())
		}
	}
}

func TestUnknownCommandLeavesAppsAlone(t *testing.T) {
	path := os.Getenv("PATH")
	for _, args := range [][]string{
		{"sh", "-c", "exit 0"},     // an app in PATH, named without --
		{"--", "no-such-program"},  // after --, always the app
		{"./no-such-program"},      // a path, never a subcommand
		{"--backend", "xvfb", "x"}, // flags first
		{},
	} {
		var errb bytes.Buffer
		if unknownCommand(args, func(k string) string {
			if k == "PATH" {
				return path
			}
			return ""
		}, &errb) {
			t.Errorf("%q was called an unknown command: %s", args, errb.String())
		}
	}
}
