package main

import (
	"os"
	"testing"

	"github.com/xinit-go/xinit-go/internal/testutil"
)

func TestMain(m *testing.M) {
	testutil.RunHelperIfAsked()
	code := m.Run()
	testutil.Cleanup()
	os.Exit(code)
}

// helperCmd is the app argv for a stand-in program, after "--".
func helperCmd(name string, args ...string) []string {
	return append([]string{"--"}, testutil.HelperArgv(name, args...)...)
}
