package bundle

import (
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"time"
)

// MaxVideo: a longer recording (no rolling window) is named in the summary
// instead of copied, so the bundle stays inside its time bound.
const MaxVideo = 256 << 20

// Summary is summary.json: what a run was and how it ended. Every duration is in
// seconds, and its key says so.
type Summary struct {
	ExitCode        int               `json:"exit_code"`
	Failed          bool              `json:"failed"`
	Reason          string            `json:"reason"`
	Frozen          string            `json:"frozen,omitempty"`
	Slow            string            `json:"slow,omitempty"`
	Started         time.Time         `json:"started"`
	Ended           time.Time         `json:"ended"`
	DurationSeconds float64           `json:"duration_seconds"`
	Services        []ServiceSummary  `json:"services"`
	Video           string            `json:"video,omitempty"`
	VideoError      string            `json:"video_error,omitempty"`
	Encoder         string            `json:"encoder,omitempty"`
	Settings        any               `json:"settings"`
	Files           []string          `json:"files"`
	Missing         map[string]string `json:"missing,omitempty"`
	AppOutput       string            `json:"app_output"`
}

// ServiceSummary is one service at the run's end.
type ServiceSummary struct {
	Name              string  `json:"name"`
	State             string  `json:"state"`
	Restarts          int     `json:"restarts"`
	ReadyAfterSeconds float64 `json:"ready_after_seconds"`
	LastExitCode      int     `json:"last_exit_code"`
	LastReason        string  `json:"last_reason,omitempty"`
}

// SetFiles is called by Write with what the bundle holds.
func (s *Summary) SetFiles(files []string, missing map[string]string) {
	s.Files, s.Missing = files, missing
	s.AppOutput = "the app writes to the container's stdout and stderr; its output is in the container's log"
}

// End is how a run ended.
type End struct {
	Code     int
	Reason   string
	Started  time.Time
	Ended    time.Time
	Services []ServiceSummary
	Frozen   string // the freeze, "" when the screen was not frozen
	Slow     string // the slow stretch, "" when the screen was not slow
	Settings any    // the configuration, without secrets
	Video    string // the recording kept, "" when none
	// VideoError says why there is no recording, or what went wrong with it.
	VideoError string
	Encoder    string
	Owner      *Owner
}

// Sources are what a failed run's bundle holds besides the summary: files by
// path, copied by Write, and texts.
type Sources struct {
	Screenshot   string // the last screen's picture, "" when none was to be taken
	FrozenScreen string // the frozen screen's picture, when End.Frozen is set
	SlowScreen   string // the slow screen's picture, when End.Slow is set
	XLog         string // the X server's log, "" under Xvfb
	XorgConf     string
	Logs         map[string]string // the last lines of each service's output
	// Withheld are logs the bundle does not hold, by service name, with why
	// (a root service's output in a bundle the app's user owns).
	Withheld map[string]string
	Status   []byte // the final /status
	GPU      []byte // the GPU snapshot
	// Stat reads a file's modification time and size; nil means os.Lstat.
	Stat func(path string) (mod time.Time, size int64, err error)
}

// Assemble is the bundle of a run: its directory's name and what Write puts in
// it. A passing run gets its summary alone; a failed run the screenshots (each
// marked missing when this run did not take it: a failed screenshot leaves an
// earlier run's file, which must not pass for this run's screen), the video
// when it is not too long, the X server's log and configuration, the services'
// last lines, the final status and the GPU snapshot.
func Assemble(e End, s Sources) (name string, b Bundle) {
	failed := e.Code != 0
	sum := &Summary{ExitCode: e.Code, Failed: failed, Reason: e.Reason, Frozen: e.Frozen, Slow: e.Slow,
		Started: e.Started.UTC(), Ended: e.Ended.UTC(), DurationSeconds: e.Ended.Sub(e.Started).Seconds(),
		Services: e.Services, Video: e.Video, VideoError: e.VideoError, Encoder: e.Encoder, Settings: e.Settings}
	name = fmt.Sprintf("xinit-go-%s-exit%d", e.Started.UTC().Format("20060102T150405Z"), e.Code)
	b = Bundle{Summary: sum, Owner: e.Owner}
	if !failed {
		return name, b
	}
	stat := s.Stat
	if stat == nil {
		stat = lstat
	}
	thisRun := func(name, path string) File {
		mod, _, err := stat(path)
		switch {
		case err != nil:
			return File{Name: name, Path: path, Missing: "not taken: " + err.Error()}
		case mod.Before(e.Started):
			return File{Name: name, Path: path, Missing: "not taken in this run (the screenshot failed; see the log)"}
		}
		return File{Name: name, Path: path}
	}
	if s.Screenshot != "" {
		b.Files = append(b.Files, thisRun("screenshot.png", s.Screenshot))
	}
	if e.Frozen != "" && s.FrozenScreen != "" {
		b.Files = append(b.Files, thisRun("frozen-screen.png", s.FrozenScreen))
	}
	if e.Slow != "" && s.SlowScreen != "" {
		b.Files = append(b.Files, thisRun("slow-screen.png", s.SlowScreen))
	}
	if e.Video != "" {
		if _, size, err := stat(e.Video); err == nil && size <= MaxVideo {
			b.Files = append(b.Files, File{Name: "video.mp4", Path: e.Video})
		}
	}
	if s.XLog != "" {
		b.Files = append(b.Files, File{Name: "Xorg.log", Path: s.XLog})
	}
	if s.XorgConf != "" {
		b.Files = append(b.Files, File{Name: "xorg.conf", Path: s.XorgConf})
	}
	if s.Status != nil {
		b.Blobs = append(b.Blobs, Blob{Name: "status.json", Data: s.Status})
	}
	names := make([]string, 0, len(s.Logs))
	for n := range s.Logs {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		b.Blobs = append(b.Blobs, Blob{Name: "logs/" + n + ".log", Data: []byte(s.Logs[n])})
	}
	withheld := make([]string, 0, len(s.Withheld))
	for n := range s.Withheld {
		withheld = append(withheld, n)
	}
	sort.Strings(withheld)
	for _, n := range withheld {
		b.Files = append(b.Files, File{Name: "logs/" + n + ".log", Missing: s.Withheld[n]})
	}
	if s.GPU != nil {
		b.Blobs = append(b.Blobs, Blob{Name: "gpu.json", Data: s.GPU})
	}
	return name, b
}

func lstat(path string) (time.Time, int64, error) {
	st, err := os.Lstat(path)
	if err != nil {
		return time.Time{}, 0, err
	}
	return st.ModTime(), st.Size(), nil
}

// JSON is v as indented JSON with a final newline, for a blob.
func JSON(v any) []byte {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return []byte(fmt.Sprintf("{\"error\": %q}\n", err.Error()))
	}
	return append(b, '\n')
}
