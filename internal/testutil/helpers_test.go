package testutil

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestEveryStandInIsUsed: a stand-in program that no test asks for is dead code
// that still looks like a tested path. Every name in standIns must appear where a
// test (or another stand-in) starts one.
func TestEveryStandInIsUsed(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("no module root at %s: %v", root, err)
	}
	call := regexp.MustCompile(`(?:helperCmd|HelperArgv|helper|startSelf)\(\s*(?:\[\]string\{)?"([a-z0-9-]+)"`)
	used := map[string]bool{}
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata") && path != root {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range call.FindAllStringSubmatch(string(b), -1) {
			used[m[1]] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for name := range standIns {
		if !used[name] {
			t.Errorf("stand-in %q (%s) is used by no test: remove it", name, standIns[name].args)
		}
	}
}
