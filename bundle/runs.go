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
	// Index is the run's index when a directory on its path is a number or
	// run-NUMBER, as a Kubernetes Indexed Job's runs lay them out (the
	// innermost such directory).
	Index    *int    `json:"index,omitempty"`
	ExitCode int     `json:"exit_code"`
	Failed   bool    `json:"failed"`
	Reason   string  `json:"reason"`
	Frozen   string  `json:"frozen,omitempty"`
	Seconds  float64 `json:"duration_seconds"`
	Started  string  `json:"started,omitempty"`
	Backend  string  `json:"backend,omitempty"`
	GPU      string  `json:"gpu,omitempty"`
	// Retried: a later run of the same index exists; this one's result is not
	// the index's (the Job retried it), and it counts in no total.
	Retried bool `json:"retried,omitempty"`
	// Error is set when the summary could not be read, or what stood where a
	// run was looked for could not be (a link, an unreadable or too deep
	// directory, a summary that is not a regular file); such a run counts as
	// failed: nothing a run's user can do hides a failure.
	Error string `json:"error,omitempty"`
}

// maxSummary bounds the read of one summary.json: they are a few KiB.
const maxSummary = 1 << 20

// maxDepth bounds how deep Scan looks below its root.
const maxDepth = 6

var indexRe = regexp.MustCompile(`^(?:run-)?(\d{1,9})$`)

// Scan finds every summary.json under root (at most maxDepth directories down)
// and reads each. The tree is usually written by the runs' users while root
// reads it, so it is walked by descriptor: each directory opened relative to
// the one before with O_NOFOLLOW, each summary opened relative to its
// directory and read only when it is a regular file; a name swapped for a link
// or a FIFO meanwhile redirects nothing and blocks nothing. What cannot be read
// (a link, an unreadable directory, a tree too deep, a hidden directory that
// holds a summary: an unfinished bundle) is a failed Run naming why. Runs come
// back sorted by index, then start time, then directory; of the runs of one
// index all but the latest are marked Retried.
func Scan(root string) ([]Run, error) {
	fd, err := unix.Open(strings.TrimRight(root, "/")+"/.", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: root, Err: err}
	}
	var st unix.Stat_t
	if err := unix.Lstat(strings.TrimRight(root, "/"), &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFDIR {
		unix.Close(fd)
		return nil, fmt.Errorf("%s is not a directory (a link to one is not followed)", root)
	}
	var runs []Run
	scanDir(fd, ".", 0, &runs)
	sort.SliceStable(runs, func(i, j int) bool {
		a, b := runs[i], runs[j]
		if (a.Index == nil) != (b.Index == nil) {
			return a.Index != nil
		}
		if a.Index != nil && *a.Index != *b.Index {
			return *a.Index < *b.Index
		}
		if a.Started != b.Started {
			return a.Started < b.Started
		}
		return a.Dir < b.Dir
	})
	for i := 0; i+1 < len(runs); i++ {
		if runs[i].Index != nil && runs[i+1].Index != nil && *runs[i].Index == *runs[i+1].Index {
			runs[i].Retried = true
		}
	}
	return runs, nil
}

// scanDir reads the directory fd (which it closes), named rel below the root.
func scanDir(fd int, rel string, depth int, runs *[]Run) {
	f := os.NewFile(uintptr(fd), rel)
	defer f.Close()
	ents, err := f.ReadDir(-1)
	if err != nil {
		*runs = append(*runs, failedRun(rel, "cannot read the directory: "+err.Error()))
		return
	}
	sort.Slice(ents, func(i, j int) bool { return ents[i].Name() < ents[j].Name() })
	for _, e := range ents {
		name := e.Name()
		path := filepath.Join(rel, name)
		if name == "summary.json" {
			*runs = append(*runs, readRun(fd, rel))
			continue
		}
		switch {
		case e.Type()&fs.ModeSymlink != 0:
			if strings.HasPrefix(name, "run-") || indexRe.MatchString(name) || strings.HasPrefix(name, "xinit-go-") {
				*runs = append(*runs, failedRun(path, "a link where a run's directory belongs: not followed"))
			}
			continue
		case !e.IsDir():
			continue
		}
		sub, err := unix.Openat(fd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err != nil {
			*runs = append(*runs, failedRun(path, "cannot open the directory: "+err.Error()))
			continue
		}
		if strings.HasPrefix(name, ".") {
			// A bundle being written, or one that never finished; or the
			// recorder's segments. Only a summary in it is said.
			var st unix.Stat_t
			if unix.Fstatat(sub, "summary.json", &st, unix.AT_SYMLINK_NOFOLLOW) == nil {
				*runs = append(*runs, failedRun(path, "a summary in a hidden directory: an unfinished bundle"))
			}
			unix.Close(sub)
			continue
		}
		if depth+1 >= maxDepth {
			unix.Close(sub)
			*runs = append(*runs, failedRun(path, fmt.Sprintf("deeper than %d levels: not read", maxDepth)))
			continue
		}
		scanDir(sub, path, depth+1, runs)
	}
}

func failedRun(dir, why string) Run {
	return Run{Dir: dir, Index: indexOf(dir), Failed: true, Error: why}
}

// indexOf is the number of the innermost directory named N or run-N.
func indexOf(dir string) *int {
	parts := strings.Split(dir, string(filepath.Separator))
	for i := len(parts) - 1; i >= 0; i-- {
		if m := indexRe.FindStringSubmatch(parts[i]); m != nil {
			n, _ := strconv.Atoi(m[1])
			return &n
		}
	}
	return nil
}

// readRun reads dirfd's summary.json.
func readRun(dirfd int, dir string) Run {
	r := Run{Dir: dir, Index: indexOf(dir)}
	if err := r.read(dirfd); err != nil {
		r.Failed, r.Error = true, err.Error()
	}
	return r
}

func (r *Run) read(dirfd int) error {
	fd, err := unix.Openat(dirfd, "summary.json", unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("summary.json: %w", err)
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return fmt.Errorf("summary.json is not a regular file")
	}
	if st.Size > maxSummary {
		return fmt.Errorf("summary.json is over %d bytes", maxSummary)
	}
	// A regular file: reads return at once, O_NONBLOCK or not.
	b := make([]byte, st.Size+1)
	n := 0
	for n < len(b) {
		m, err := unix.Read(fd, b[n:])
		if m <= 0 || err != nil {
			break
		}
		n += m
	}
	if n > maxSummary {
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
	if err := json.Unmarshal(b[:n], &s); err != nil {
		return fmt.Errorf("summary.json: %w", err)
	}
	if s.ExitCode == nil {
		return fmt.Errorf("summary.json has no exit_code")
	}
	r.ExitCode, r.Failed, r.Reason, r.Frozen, r.Seconds = *s.ExitCode, s.Failed || *s.ExitCode != 0, s.Reason, s.Frozen, s.Seconds
	if !s.Started.IsZero() {
		r.Started = s.Started.UTC().Format(time.RFC3339Nano)
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
	// Retried runs are earlier runs of an index that ran again; they count in
	// none of the others.
	Retried int `json:"retried"`
}

// Count adds runs up.
func Count(runs []Run) Totals {
	var t Totals
	for _, r := range runs {
		if r.Retried {
			t.Retried++
			continue
		}
		t.Runs++
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
		name := clean(r.Dir)
		if r.Index != nil {
			name = strconv.Itoa(*r.Index) + " " + name
		}
		result, screen, reason := "pass", "-", r.Reason
		if r.Failed {
			result = "FAIL"
		}
		if r.Retried {
			result = "retried"
		}
		if r.Frozen != "" {
			screen = oneLine(r.Frozen, 60)
		}
		if r.Error != "" {
			reason = "unreadable: " + r.Error
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%.1f\t%s\t%s\t%s\t%s\n", name, result, r.ExitCode, min(r.Seconds, 1e9), screen, dash(oneLine(r.Backend, 20)), dash(oneLine(r.GPU, 40)), oneLine(reason, 120))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	t := Count(runs)
	retried := ""
	if t.Retried > 0 {
		retried = fmt.Sprintf("; %d earlier runs retried", t.Retried)
	}
	_, err := fmt.Fprintf(w, "\n%d runs: %d passed, %d failed (%d with a frozen screen)%s\n", t.Runs, t.Passed, t.Failed, t.Frozen, retried)
	return err
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// clean makes s safe for a terminal and a table: control characters (a
// newline, a tab, an escape sequence) and invalid UTF-8 are written as Go
// escapes, so a name or a value cannot forge a row or drive the terminal.
func clean(s string) string {
	q := strconv.QuoteToGraphic(s)
	q = q[1 : len(q)-1]
	return strings.ReplaceAll(q, `\"`, `"`)
}

// oneLine is s cleaned, with its spaces collapsed, cut to max runes.
func oneLine(s string, max int) string {
	s = clean(strings.Join(strings.Fields(s), " "))
	if r := []rune(s); len(r) > max {
		s = string(r[:max-3]) + "..."
	}
	return s
}
