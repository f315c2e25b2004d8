package bundle

import (
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestAssemble: what each kind of run's end leaves in its bundle, decided
// without a file system (Stat is a table).
func TestAssemble(t *testing.T) {
	start := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	before, after := start.Add(-time.Hour), start.Add(time.Minute)
	files := map[string]struct {
		mod  time.Time
		size int64
	}{
		"/run/last-screen.png":   {after, 1000},
		"/run/frozen-screen.png": {after, 1000},
		"/art/old-shot.png":      {before, 1000},
		"/art/run.mp4":           {after, 5 << 20},
		"/art/huge.mp4":          {after, MaxVideo + 1},
	}
	stat := func(p string) (time.Time, int64, error) {
		f, ok := files[p]
		if !ok {
			return time.Time{}, 0, os.ErrNotExist
		}
		return f.mod, f.size, nil
	}
	logs := map[string]string{"x": "X line\n", "app": "", "vnc": "vnc line\n"}
	for _, c := range []struct {
		name    string
		end     End
		src     Sources
		files   []string          // copied, in order
		missing map[string]string // files marked missing (substring of why)
		blobs   []string
	}{
		{"a passing run: the summary alone",
			End{Code: 0, Reason: "app exited with 0", Video: "/art/run.mp4"},
			Sources{Screenshot: "/run/last-screen.png", Logs: logs, Status: []byte("{}"), GPU: []byte("{}")},
			nil, nil, nil},
		{"a failed run: screenshot, video, logs, status, GPU",
			End{Code: 3, Reason: "app exited with 3", Video: "/art/run.mp4"},
			Sources{Screenshot: "/run/last-screen.png", FrozenScreen: "/run/frozen-screen.png", Logs: logs, Status: []byte("{}"), GPU: []byte("{}")},
			[]string{"screenshot.png", "video.mp4"}, nil, []string{"status.json", "logs/app.log", "logs/vnc.log", "logs/x.log", "gpu.json"}},
		{"a frozen, failed run on Xorg: both pictures, the X log and its configuration",
			End{Code: 75, Reason: "frozen", Frozen: "the screen has not changed for 2m0s"},
			Sources{Screenshot: "/run/last-screen.png", FrozenScreen: "/run/frozen-screen.png", XLog: "/run/Xorg.0.log", XorgConf: "/run/xorg.conf", Status: []byte("{}")},
			[]string{"screenshot.png", "frozen-screen.png", "Xorg.log", "xorg.conf"}, nil, []string{"status.json"}},
		{"an app user's bundle withholds a root service's log",
			End{Code: 2, Reason: "app exited with 2"},
			Sources{Logs: map[string]string{"x": "X line\n"}, Withheld: map[string]string{"uploader": "a root service's output"}},
			nil, map[string]string{"logs/uploader.log": "a root service's output"}, []string{"logs/x.log"}},
		{"a screenshot this run did not take is not this run's",
			End{Code: 1, Reason: "app exited with 1"},
			Sources{Screenshot: "/art/old-shot.png"},
			nil, map[string]string{"screenshot.png": "not taken in this run"}, nil},
		{"a screenshot never taken, a video too long to copy",
			End{Code: 1, Reason: "app exited with 1", Video: "/art/huge.mp4"},
			Sources{Screenshot: "/art/none.png"},
			nil, map[string]string{"screenshot.png": "not taken"}, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			c.end.Started, c.end.Ended = start, start.Add(90*time.Second)
			c.src.Stat = stat
			name, b := Assemble(c.end, c.src)
			if want := "xinit-go-20261204T100000Z-exit" + strconv.Itoa(c.end.Code); name != want {
				t.Errorf("name %q, want %q", name, want)
			}
			sum := b.Summary.(*Summary)
			if sum.ExitCode != c.end.Code || sum.Failed != (c.end.Code != 0) || sum.DurationSeconds != 90 || sum.Frozen != c.end.Frozen || sum.Video != c.end.Video {
				t.Errorf("summary %+v", sum)
			}
			var copied []string
			missing := map[string]string{}
			for _, f := range b.Files {
				if f.Missing != "" {
					missing[f.Name] = f.Missing
				} else {
					copied = append(copied, f.Name)
				}
			}
			if !slices.Equal(copied, c.files) {
				t.Errorf("files %q, want %q", copied, c.files)
			}
			for n, why := range c.missing {
				if !strings.Contains(missing[n], why) {
					t.Errorf("%s missing because %q, want %q", n, missing[n], why)
				}
			}
			if len(missing) != len(c.missing) {
				t.Errorf("missing %v, want %v", missing, c.missing)
			}
			var blobs []string
			for _, bl := range b.Blobs {
				blobs = append(blobs, bl.Name)
			}
			if !slices.Equal(blobs, c.blobs) {
				t.Errorf("blobs %q, want %q", blobs, c.blobs)
			}
		})
	}
}
