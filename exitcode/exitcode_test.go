package exitcode

import (
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the README's exit-code table")

// TestREADMETable keeps the README's exit-code table equal to Table.
func TestREADMETable(t *testing.T) {
	path := filepath.Join("..", "README.md")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	const begin, end = "<!-- exitcodes:begin -->\n", "<!-- exitcodes:end -->"
	s := string(b)
	i, j := strings.Index(s, begin), strings.Index(s, end)
	if i < 0 || j < i {
		t.Fatal("README has no exit-code markers")
	}
	want := Markdown()
	if got := s[i+len(begin) : j]; got != want {
		if *update {
			if err := os.WriteFile(path, []byte(s[:i+len(begin)]+want+s[j:]), 0o644); err != nil {
				t.Fatal(err)
			}
			return
		}
		t.Fatalf("the README's exit-code table differs from exitcode.Table; run go test ./exitcode -update\nwant:\n%s", want)
	}
}

// TestEveryCodeIsInTheTable: each code a package can decide has its row.
func TestEveryCodeIsInTheTable(t *testing.T) {
	for _, c := range []int{Unavailable, Failed, Frozen, Config, Timeout, CannotRun, NotFound} {
		found := false
		for _, r := range Table {
			for _, f := range strings.Split(r.Code, ", ") {
				if f == strconv.Itoa(c) {
					found = true
				}
			}
		}
		if !found {
			t.Errorf("exit code %d has no row in Table", c)
		}
	}
}
