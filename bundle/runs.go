package bundle

import (
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"golang.org/x/sys/unix"
)

// Run is what one run's summary.json says, as `xinit-go summary` reads it back.
type Run struct {
	// Dir is the bundle's directory, relative to the directory scanned.
	Dir string `json:"dir"`
	// Index is the run's index when a directory on its path is a number or ends
	// in one ("7", "run-7"), as a Kubernetes Indexed Job's runs lay them out.
	Index    *int    `json:"index,omitempty"`
	ExitCode int     `json:"exit_code"`
	Failed   bool    `json:"failed"`
	Reason   string  `json:"reason"`
	Frozen   string  `json:"frozen,omitempty"`
	Seconds  float64 `json:"duration_seconds"`
	Started  string  `json:"started,omitempty"`
	Backend  string  `json:"backend,omitempty"`
	GPU      string  `json:"gpu,omitempty"`
	// Error is set when the summary could not be read; such a run counts as
	// failed.
	Error string `json:"error,omitempty"`
}

// maxSummary bounds the read of one summary.json: they are a few KiB.
const maxSummary = 1 << 20

// maxDepth bounds how deep Scan looks below its root.
const maxDepth = 6

var indexRe = regexp.MustCompile(`^(?:.*\D)?(\d{1,9})$`)

// Scan finds every summary.json under root (at most maxDepth directories down),
// never following a link, and reads each. Runs come back sorted by index, then
// directory. A summary that cannot be parsed is a Run with Error set.
func Scan(root string) ([]Run, error) {
	st, err := os.Lstat(root)
	if err != nil {
		return nil, err
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("%s is not a directory", root)
	}
	var runs []Run
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if path == root {
				return err
			}
			return nil // an unreadable corner is skipped, not fatal
		}
		rel, _ := filepath.Rel(root, path)
		if d.IsDir() {
			if rel != "." && (strings.Count(rel, string(filepath.Separator)) >= maxDepth || strings.HasPrefix(d.Name(), ".")) {
				return filepath.SkipDir // too deep, or a bundle still being written
			}
			return nil
		}
		if d.Name() != "summary.json" || !d.Type().IsRegular() {
			return nil
		}
		dir := filepath.Dir(rel)
		r := Run{Dir: dir}
		r.Index = indexOf(dir)
		if err := r.read(path); err != nil {
			r.Failed, r.Error = true, err.Error()
		}
		runs = append(runs, r)
		return nil
	})
	sort.SliceStable(runs, func(i, j int) bool {
		a, b := runs[i], runs[j]
		if (a.Index == nil) != (b.Index == nil) {
			return a.Index != nil
		}
		if a.Index != nil && *a.Index != *b.Index {
			return *a.Index < *b.Index
		}
		return a.Dir < b.Dir
	})
	return runs, err
}

func indexOf(dir string) *int {
	for _, part := range strings.Split(dir, string(filepath.Separator)) {
		if m := indexRe.FindStringSubmatch(part); m != nil && !strings.HasPrefix(part, "xinit-go-") {
			n, _ := strconv.Atoi(m[1])
			return &n
		}
	}
	return nil
}

func (r *Run) read(path string) error {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
	if err != nil {
		return err
	}
	f := os.NewFile(uintptr(fd), path)
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxSummary+1))
	if err != nil {
		return err
	}
	if len(b) > maxSummary {
		return fmt.Errorf("summary.json is over %d bytes", maxSummary)
	}
	var s struct {
		ExitCode *int      `json:"exit_code"`
		Failed   bool      `json:"failed"`
		Reason   string    `json:"reason"`
		Frozen   string    `json:"frozen"`
		Seconds  float64   `json:"duration_seconds"`
		Started  time.Time `json:"started"`
		Settings struct {
			Backend string `json:"backend"`
			GPU     string `json:"gpu"`
		} `json:"settings"`
	}
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("summary.json: %w", err)
	}
	if s.ExitCode == nil {
		return fmt.Errorf("summary.json has no exit_code")
	}
	r.ExitCode, r.Failed, r.Reason, r.Frozen, r.Seconds = *s.ExitCode, s.Failed || *s.ExitCode != 0, s.Reason, s.Frozen, s.Seconds
	if !s.Started.IsZero() {
		r.Started = s.Started.UTC().Format(time.RFC3339)
	}
	r.Backend, r.GPU = s.Settings.Backend, s.Settings.GPU
	return nil
}

// Totals counts runs.
type Totals struct {
	Runs   int `json:"runs"`
	Passed int `json:"passed"`
	Failed int `json:"failed"`
	Frozen int `json:"frozen"`
}

// Count adds runs up.
func Count(runs []Run) Totals {
	t := Totals{Runs: len(runs)}
	for _, r := range runs {
		if r.Failed {
			t.Failed++
		} else {
			t.Passed++
		}
		if r.Frozen != "" {
			t.Frozen++
		}
	}
	return t
}

// Report writes runs as a table, then the totals.
func Report(w io.Writer, runs []Run) error {
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "RUN\tRESULT\tEXIT\tSECONDS\tSCREEN\tBACKEND\tGPU\tREASON")
	for _, r := range runs {
		name := r.Dir
		if r.Index != nil {
			name = strconv.Itoa(*r.Index) + " " + r.Dir
		}
		result, screen, reason := "pass", "-", r.Reason
		if r.Failed {
			result = "FAIL"
		}
		if r.Frozen != "" {
			screen = r.Frozen
		}
		if r.Error != "" {
			reason = "unreadable: " + r.Error
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%.1f\t%s\t%s\t%s\t%s\n", name, result, r.ExitCode, r.Seconds, screen, dash(r.Backend), dash(r.GPU), oneLine(reason))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	t := Count(runs)
	_, err := fmt.Fprintf(w, "\n%d runs: %d passed, %d failed (%d with a frozen screen)\n", t.Runs, t.Passed, t.Failed, t.Frozen)
	return err
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 120 {
		s = s[:117] + "..."
	}
	return s
}
