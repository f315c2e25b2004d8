package testutil

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// ArtifactsEnv names the directory where tests leave pictures and logs for a
// person to look at (CI keeps it).
const ArtifactsEnv = "XINIT_TEST_ARTIFACTS"

// Artifacts returns a directory for the test's artifacts, kept after the run:
// a subdirectory per test under $XINIT_TEST_ARTIFACTS when set, else a fresh
// directory of its own (made by MkdirTemp, so no name in /tmp is trusted). The
// test logs where it is.
func Artifacts(t testing.TB) string {
	t.Helper()
	name := strings.NewReplacer("/", "_", " ", "_").Replace(t.Name())
	var dir string
	var err error
	if base := os.Getenv(ArtifactsEnv); base != "" {
		dir = filepath.Join(base, name)
		err = os.MkdirAll(dir, 0o755)
	} else {
		dir, err = os.MkdirTemp("", "xinit-go-artifacts-"+name+"-")
	}
	if err != nil {
		t.Fatalf("artifacts directory: %v", err)
	}
	t.Logf("artifacts: %s", dir)
	return dir
}
