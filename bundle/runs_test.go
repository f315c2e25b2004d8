package bundle

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
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
	// A summary in a hidden directory (an unfinished bundle) and one that is a
	// link are failed runs: nothing a run's user plants hides a failure.
	want := []string{
		"2 run-2/bundles/xinit-go-20261204T000000Z-exit75",
		"10 run-10/bundles/xinit-go-20261204T000000Z-exit0",
		"- .bundle-tmp",
		"- broken",
		"- linkfile",
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
	if r := runs[5]; !r.Failed || r.ExitCode != 3 {
		t.Errorf("exit 3 without failed=true still failed: %+v", r)
	}
	for _, i := range []int{2, 3, 4, 6} {
		if !runs[i].Failed || runs[i].Error == "" {
			t.Errorf("an unreadable summary counts as a failed run: %+v", runs[i])
		}
	}
	if !strings.Contains(runs[6].Error, "exit_code") || !strings.Contains(runs[2].Error, "hidden") {
		t.Errorf("why: %q, %q", runs[6].Error, runs[2].Error)
	}
	if c := Count(runs); c != (Totals{Runs: 7, Passed: 1, Failed: 6, Frozen: 1}) {
		t.Errorf("Count = %+v", c)
	}
	var out bytes.Buffer
	if err := Report(&out, runs); err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"RUN", "10 run-10/bundles", "pass", "FAIL", "frozen", "unreadable: summary.json", "7 runs: 1 passed, 6 failed (1 with a frozen screen)"} {
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

// TestScanHostileTrees: what a run's user can put in the artifacts volume
// neither blocks the scan, nor forges its table, nor hides a failure; a retried
// index counts once, by its latest run.
func TestScanHostileTrees(t *testing.T) {
	root := t.TempDir()
	// A FIFO named summary.json: opened without waiting, a failed run.
	if err := os.MkdirAll(filepath.Join(root, "run-1"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(root, "run-1", "summary.json"), 0o644); err != nil {
		t.Fatal(err)
	}
	// Names and values that would forge rows or drive the terminal.
	writeSummary(t, filepath.Join(root, "run-2", "evil\nrun-9  pass\x1b[2J"),
		`{"exit_code":1,"reason":"a\u001b[31mred\u0007\nrun-8  pass","settings":{"backend":"xvfb\trun-7","gpu":"\u001b]0;pwned\u0007"}}`)
	// Index 3 retried: failed first, then passed.
	writeSummary(t, filepath.Join(root, "run-3", "xinit-go-20261204T000000Z-exit1"), `{"exit_code":1,"started":"2026-12-04T00:00:00Z"}`)
	writeSummary(t, filepath.Join(root, "run-3", "xinit-go-20261204T000500Z-exit0"), `{"exit_code":0,"started":"2026-12-04T00:05:00Z"}`)
	// The innermost run-N names the index.
	writeSummary(t, filepath.Join(root, "pipeline-4521", "run-4", "b"), `{"exit_code":0}`)
	// Too deep to read: said, not skipped.
	writeSummary(t, filepath.Join(root, "a", "b", "c", "d", "e", "f", "g"), `{"exit_code":1}`)

	done := make(chan []Run, 1)
	go func() { r, _ := Scan(root); done <- r }()
	var runs []Run
	select {
	case runs = <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Scan blocked on a FIFO")
	}
	var out bytes.Buffer
	if err := Report(&out, runs); err != nil {
		t.Fatal(err)
	}
	text := out.String()
	if strings.ContainsAny(text, "\x1b\x07") || strings.Contains(text, "\nrun-9") || strings.Contains(text, "\nrun-8") {
		t.Errorf("the report carries control characters or forged rows:\n%q", text)
	}
	byIndex := map[int][]Run{}
	for _, r := range runs {
		if r.Index != nil {
			byIndex[*r.Index] = append(byIndex[*r.Index], r)
		}
	}
	if r := byIndex[1]; len(r) != 1 || !r[0].Failed || !strings.Contains(r[0].Error, "not a regular file") {
		t.Errorf("the FIFO: %+v", r)
	}
	if r := byIndex[3]; len(r) != 2 || !r[0].Retried || r[1].Retried || r[1].Failed {
		t.Errorf("index 3 retried: %+v", r)
	}
	if len(byIndex[4]) != 1 || len(byIndex[4521]) != 0 {
		t.Errorf("the innermost run-N names the index: %v", byIndex)
	}
	deep := false
	for _, r := range runs {
		deep = deep || (r.Failed && strings.Contains(r.Error, "deeper than"))
	}
	if !deep {
		t.Error("a summary too deep to read was skipped in silence")
	}
	c := Count(runs)
	if c.Retried != 1 || c.Failed != 3 || c.Passed != 2 {
		t.Errorf("Count = %+v; want the retried run counted apart, and the FIFO, the hostile run and the deep tree failed", c)
	}
}
