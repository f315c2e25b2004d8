package bundle

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func writeSummary(t *testing.T, dir, body string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "summary.json"), []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestScan(t *testing.T) {
	root := t.TempDir()
	writeSummary(t, filepath.Join(root, "run-10", "bundles", "xinit-go-20261204T000000Z-exit0"),
		`{"exit_code":0,"failed":false,"reason":"app exited with 0","duration_seconds":12.5,"settings":{"backend":"xvfb","gpu":"0"}}`)
	writeSummary(t, filepath.Join(root, "run-2", "bundles", "xinit-go-20261204T000000Z-exit75"),
		`{"exit_code":75,"failed":true,"reason":"screen frozen","frozen":"frozen","duration_seconds":130}`)
	writeSummary(t, filepath.Join(root, "loose", "xinit-go-20261204T000000Z-exit3"), `{"exit_code":3,"reason":"app exited with 3"}`)
	writeSummary(t, filepath.Join(root, "broken"), `{"exit_code":`)
	writeSummary(t, filepath.Join(root, "nocode"), `{"reason":"?"}`)
	// A bundle still being written, and links, are not read.
	writeSummary(t, filepath.Join(root, ".bundle-tmp"), `{"exit_code":0}`)
	outside := t.TempDir()
	writeSummary(t, outside, `{"exit_code":0}`)
	if err := os.Symlink(outside, filepath.Join(root, "linkdir")); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(root, "linkfile"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(outside, "summary.json"), filepath.Join(root, "linkfile", "summary.json")); err != nil {
		t.Fatal(err)
	}

	runs, err := Scan(root)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range runs {
		idx := "-"
		if r.Index != nil {
			idx = strconv.Itoa(*r.Index)
		}
		got = append(got, idx+" "+r.Dir)
	}
	want := []string{
		"2 run-2/bundles/xinit-go-20261204T000000Z-exit75",
		"10 run-10/bundles/xinit-go-20261204T000000Z-exit0",
		"- broken",
		"- loose/xinit-go-20261204T000000Z-exit3",
		"- nocode",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("runs:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if r := runs[1]; r.Failed || r.ExitCode != 0 || r.Seconds != 12.5 || r.Backend != "xvfb" || r.GPU != "0" {
		t.Errorf("the passing run: %+v", r)
	}
	if r := runs[0]; !r.Failed || r.ExitCode != 75 || r.Frozen != "frozen" {
		t.Errorf("the frozen run: %+v", r)
	}
	if r := runs[3]; !r.Failed || r.ExitCode != 3 {
		t.Errorf("exit 3 without failed=true still failed: %+v", r)
	}
	if !runs[2].Failed || runs[2].Error == "" || !runs[4].Failed || !strings.Contains(runs[4].Error, "exit_code") {
		t.Errorf("unreadable summaries count as failed runs: %+v %+v", runs[2], runs[4])
	}
	if c := Count(runs); c != (Totals{Runs: 5, Passed: 1, Failed: 4, Frozen: 1}) {
		t.Errorf("Count = %+v", c)
	}
	var out bytes.Buffer
	if err := Report(&out, runs); err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"RUN", "10 run-10/bundles", "pass", "FAIL", "frozen", "unreadable: summary.json", "5 runs: 1 passed, 4 failed (1 with a frozen screen)"} {
		if !strings.Contains(out.String(), w) {
			t.Errorf("report lacks %q:\n%s", w, out.String())
		}
	}
}

func TestScanRefusesAFileAndALink(t *testing.T) {
	root := t.TempDir()
	f := filepath.Join(root, "f")
	os.WriteFile(f, nil, 0o644)
	if _, err := Scan(f); err == nil {
		t.Error("Scan of a file: no error")
	}
	l := filepath.Join(root, "l")
	os.Symlink(t.TempDir(), l)
	if _, err := Scan(l); err == nil {
		t.Error("Scan of a link: no error")
	}
	if _, err := Scan(filepath.Join(root, "none")); err == nil {
		t.Error("Scan of nothing: no error")
	}
}
