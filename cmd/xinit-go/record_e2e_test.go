package main

import (
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/xinit-go/xinit-go/internal/procfs"
	"github.com/xinit-go/xinit-go/internal/testutil"
	"github.com/xinit-go/xinit-go/record"
	"github.com/xinit-go/xinit-go/supervisor"
)

// These tests run the recorder, the failure bundle and the frozen-screen
// watchdog with xinit-go as PID 1, a real Xvfb, ffmpeg and glxgears.

type probe struct {
	Streams []struct {
		RFrameRate string `json:"r_frame_rate"`
		Width      int    `json:"width"`
		Height     int    `json:"height"`
	} `json:"streams"`
	Format struct {
		Duration string `json:"duration"`
	} `json:"format"`
}

// ffprobe reads a video's duration, frame rate and size.
func ffprobe(t *testing.T, path string) (time.Duration, string, image.Point, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "ffprobe", "-v", "error", "-select_streams", "v:0",
		"-show_entries", "format=duration:stream=r_frame_rate,width,height", "-of", "json", path).Output()
	if err != nil {
		return 0, "", image.Point{}, fmt.Errorf("ffprobe %s: %v", path, err)
	}
	var p probe
	if err := json.Unmarshal(out, &p); err != nil || len(p.Streams) == 0 {
		return 0, "", image.Point{}, fmt.Errorf("ffprobe %s: %s", path, out)
	}
	secs, _ := strconv.ParseFloat(p.Format.Duration, 64)
	return time.Duration(secs * float64(time.Second)), p.Streams[0].RFrameRate, image.Pt(p.Streams[0].Width, p.Streams[0].Height), nil
}

// frameAt extracts one frame of a video as an image.
func frameAt(t *testing.T, path string, at time.Duration) image.Image {
	t.Helper()
	out := filepath.Join(t.TempDir(), "frame.png")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "ffmpeg", "-v", "error", "-ss", fmt.Sprintf("%.2f", at.Seconds()), "-i", path, "-frames:v", "1", out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("extract a frame: %v: %s", err, b)
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func needRecord(t *testing.T) {
	t.Helper()
	testutil.Need(t, "ffmpeg", "ffprobe")
}

// waitDuration waits until the (growing, fragmented) video is readable and
// holds at least d.
func waitDuration(t *testing.T, s *xsession, path string, d time.Duration) {
	t.Helper()
	testutil.Eventually(t, 90*time.Second, fmt.Sprintf("%s to hold %s of video", path, d), func() bool {
		if s.p.Exited() {
			t.Fatalf("xinit-go exited\n%s", s.p.Stderr.String())
		}
		got, _, _, err := ffprobe(t, path)
		return err == nil && got >= d
	})
}

func TestRecordVideo(t *testing.T) {
	needRecord(t)
	out := filepath.Join(t.TempDir(), "run.mp4")
	s := startX(t, "xvfb", []string{"XINIT_RECORD=" + out, "XINIT_RECORD_FPS=10", "XINIT_STOP_GRACE=2s"}, []string{"glxgears"})
	s.waitReady()
	// The file is readable while it is being written: that is what survives a kill.
	waitDuration(t, s, out, 3*time.Second)
	s.p.Signal(syscall.SIGTERM)
	// A deadline to wait for, not a measure of speed: the stop's bound plus the finish.
	code := s.p.Wait(supervisor.StopBound(2*time.Second, false) + finishBound + 30*time.Second)
	if code != 143 {
		t.Errorf("exit %d, want 143", code)
	}
	d, rate, size, err := ffprobe(t, out)
	if err != nil {
		t.Fatal(err)
	}
	if d < 3*time.Second || rate != "10/1" || size != image.Pt(1024, 768) {
		t.Errorf("video: %v at %s, %v; want at least 3s at 10/1, 1024x768", d, rate, size)
	}
	if n := colourful(frameAt(t, out, d/2)); n < 200 {
		t.Errorf("a frame from the middle of the video has %d colourful pixels: no gears", n)
	}
	if !strings.Contains(s.p.Stderr.String(), `"encoder":"libx264"`) && !strings.Contains(s.p.Stderr.String(), `"encoder":"h264_nvenc"`) {
		t.Error("the log does not say which encoder")
	}
}

func TestRecordSurvivesKilledFFmpeg(t *testing.T) {
	needRecord(t)
	out := filepath.Join(t.TempDir(), "run.mp4")
	s := startX(t, "xvfb", []string{"XINIT_RECORD=" + out, "XINIT_RECORD_FPS=10", "XINIT_STOP_GRACE=2s"}, []string{"glxgears"})
	s.waitReady()
	waitDuration(t, s, out, 2*time.Second)
	pids := testutil.ProcsWithArg(out)
	if len(pids) != 1 {
		t.Fatalf("ffmpeg processes writing %s: %v", out, pids)
	}
	if err := syscall.Kill(pids[0], syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	// The recorder restarts (a kill is a failure) and keeps the killed run's file aside.
	first := strings.TrimSuffix(out, ".mp4") + ".1.mp4"
	testutil.Eventually(t, 60*time.Second, "the recorder to restart", func() bool {
		_, err := os.Stat(first)
		return err == nil && len(testutil.ProcsWithArg(out)) == 1
	})
	d, _, _, err := ffprobe(t, first)
	if err != nil || d < 2*time.Second {
		t.Fatalf("the SIGKILLed recording: %v, %v", d, err)
	}
	if n := colourful(frameAt(t, first, d/2)); n < 200 {
		t.Errorf("the SIGKILLed recording shows no gears (%d colourful pixels)", n)
	}
	s.p.Signal(syscall.SIGTERM)
	s.p.Wait(60 * time.Second)
}

func TestRecordRollingWindow(t *testing.T) {
	needRecord(t)
	dir := t.TempDir()
	out := filepath.Join(dir, "run.mp4")
	const last = 4 * time.Second
	s := startX(t, "xvfb", []string{"XINIT_RECORD=" + out, "XINIT_RECORD_FPS=10", "XINIT_RECORD_LAST=4s", "XINIT_STOP_GRACE=2s"}, []string{"glxgears"})
	s.waitReady()
	bound := record.Segments(last)
	segDir := ""
	wrapped := func() bool {
		if segDir == "" {
			m, _ := filepath.Glob(filepath.Join(dir, ".xinit-record-*"))
			if len(m) != 1 {
				return false
			}
			segDir = m[0]
		}
		ents, _ := os.ReadDir(segDir)
		if len(ents) > bound {
			t.Fatalf("%d segments on disk, more than the bound %d", len(ents), bound)
		}
		st0, err0 := os.Stat(filepath.Join(segDir, "seg000.mp4"))
		stN, errN := os.Stat(filepath.Join(segDir, fmt.Sprintf("seg%03d.mp4", bound-1)))
		// The ring has come round: the first name has been written again after the last.
		return err0 == nil && errN == nil && stN.Size() > 0 && st0.ModTime().After(stN.ModTime())
	}
	testutil.Eventually(t, 120*time.Second, "the segments to wrap around", func() bool {
		if s.p.Exited() {
			t.Fatalf("xinit-go exited\n%s", s.p.Stderr.String())
		}
		return wrapped()
	})
	s.p.Signal(syscall.SIGTERM)
	s.p.Wait(60 * time.Second)
	d, rate, _, err := ffprobe(t, out)
	if err != nil {
		t.Fatal(err)
	}
	seg := record.Segment(last)
	if d < last-seg/2 || d > last+2*seg || rate != "10/1" {
		t.Errorf("stitched window: %v at %s; want about %v (%v to %v)", d, rate, last, last-seg/2, last+2*seg)
	}
	if _, err := os.Stat(segDir); err == nil {
		t.Error("the segments' directory is still there after the stitch")
	}
}

type bundleSummary struct {
	ExitCode int               `json:"exit_code"`
	Failed   bool              `json:"failed"`
	Reason   string            `json:"reason"`
	Frozen   string            `json:"frozen"`
	Slow     string            `json:"slow"`
	Files    []string          `json:"files"`
	Missing  map[string]string `json:"missing"`
	Video    string            `json:"video"`
	Settings map[string]any    `json:"settings"`
	Services []struct {
		Name string `json:"name"`
	} `json:"services"`
}

// oneBundle reads the only bundle in dir.
func oneBundle(t *testing.T, dir string) (string, bundleSummary) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil || len(ents) != 1 || !ents[0].IsDir() || !strings.HasPrefix(ents[0].Name(), "xinit-go-") {
		t.Fatalf("want one bundle in %s: %v %v", dir, ents, err)
	}
	path := filepath.Join(dir, ents[0].Name())
	b, err := os.ReadFile(filepath.Join(path, "summary.json"))
	if err != nil {
		t.Fatal(err)
	}
	var s bundleSummary
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	return path, s
}

func TestFailingRunLeavesABundle(t *testing.T) {
	needRecord(t)
	art, vid := t.TempDir(), t.TempDir()
	out := filepath.Join(vid, "run.mp4")
	s := startX(t, "xvfb", []string{"VNC_PASSWORD=" + password, "XINIT_ARTIFACTS=" + art, "XINIT_RECORD=" + out,
		"XINIT_RECORD_LAST=4s", "XINIT_RECORD_KEEP=failure", "XINIT_STOP_GRACE=2s"}, []string{"glxgears"})
	s.waitReady()
	waitDuration := func() bool {
		m, _ := filepath.Glob(filepath.Join(vid, ".xinit-record-*", "seg*.mp4"))
		for _, f := range m {
			if record.Playable(f) {
				return true
			}
		}
		return false
	}
	testutil.Eventually(t, 90*time.Second, "a first segment", waitDuration)
	// The app dies of a signal: a failure.
	signalComm(t, s, "glxgears", syscall.SIGSEGV)
	if code := s.p.Wait(60 * time.Second); code != 128+int(syscall.SIGSEGV) {
		t.Errorf("exit %d", code)
	}
	path, sum := oneBundle(t, art)
	if sum.ExitCode != 139 || !sum.Failed || !strings.Contains(sum.Reason, "SIGSEGV") {
		t.Errorf("summary: %+v", sum)
	}
	for _, f := range []string{"summary.json", "screenshot.png", "video.mp4", "status.json", "gpu.json", "logs/x.log", "logs/vnc.log", "logs/record.log"} {
		st, err := os.Stat(filepath.Join(path, f))
		if err != nil || (st.Size() == 0 && !strings.HasPrefix(f, "logs/")) {
			t.Errorf("bundle file %s: %v", f, err)
		}
	}
	if len(sum.Missing) != 0 {
		t.Errorf("missing: %v", sum.Missing)
	}
	if d, _, _, err := ffprobe(t, filepath.Join(path, "video.mp4")); err != nil || d <= 0 {
		t.Errorf("bundle video: %v %v", d, err)
	}
	var gpuSnap struct {
		Error string `json:"error"`
		GPUs  []any  `json:"gpus"`
	}
	b, _ := os.ReadFile(filepath.Join(path, "gpu.json"))
	if err := json.Unmarshal(b, &gpuSnap); err != nil || (gpuSnap.Error == "" && len(gpuSnap.GPUs) == 0) ||
		(gpuSnap.Error != "" && !strings.HasPrefix(gpuSnap.Error, "no GPU")) {
		t.Errorf("gpu.json: %s", b)
	}
	var st struct {
		Services []struct{ Name, State string } `json:"services"`
	}
	b, _ = os.ReadFile(filepath.Join(path, "status.json"))
	if err := json.Unmarshal(b, &st); err != nil || len(st.Services) < 3 {
		t.Errorf("status.json: %s", b)
	}
	// The password is nowhere in the bundle.
	_ = filepath.Walk(path, func(p string, info os.FileInfo, err error) error {
		if err == nil && info.Mode().IsRegular() {
			if b, _ := os.ReadFile(p); strings.Contains(string(b), password) {
				t.Errorf("%s holds the VNC password", p)
			}
		}
		return nil
	})
	if _, err := os.Stat(out); err != nil {
		t.Errorf("a failed run keeps its recording: %v", err)
	}
	if m, _ := filepath.Glob(filepath.Join(art, ".bundle-*")); len(m) != 0 {
		t.Errorf("half bundles left: %v", m)
	}
}

func TestPassingRunLeavesTheSummaryOnly(t *testing.T) {
	needRecord(t)
	art, vid := t.TempDir(), t.TempDir()
	out := filepath.Join(vid, "run.mp4")
	appDir := t.TempDir()
	s := startX(t, "xvfb", []string{"XINIT_ARTIFACTS=" + art, "XINIT_RECORD=" + out, "XINIT_RECORD_KEEP=failure", "XINIT_STOP_GRACE=2s"},
		helperCmd("trap", "0", filepath.Join(appDir, "ready")))
	s.waitReady()
	testutil.Eventually(t, 90*time.Second, "the recording to start", func() bool {
		_, err := os.Stat(out)
		return err == nil
	})
	s.p.Signal(syscall.SIGTERM) // the app exits 0 on it: a pass
	if code := s.p.Wait(60 * time.Second); code != 0 {
		t.Fatalf("exit %d", code)
	}
	path, sum := oneBundle(t, art)
	ents, _ := os.ReadDir(path)
	if len(ents) != 1 || sum.ExitCode != 0 || sum.Failed || strings.Join(sum.Files, ",") != "summary.json" {
		t.Errorf("a pass: %v, %+v", ents, sum)
	}
	if sum.Settings["vnc_port"] == nil || sum.Settings["record_keep"] != "failure" {
		t.Errorf("settings: %v", sum.Settings)
	}
	if _, err := os.Stat(out); err == nil {
		t.Error("XINIT_RECORD_KEEP=failure kept the recording of a pass")
	}
}

// signalComm signals every process whose command name is comm (not xinit-go,
// whose argv may name it too).
// signalComm signals the processes named comm in one session, never another's
// (other tests, or other sessions on the machine, may run the same program).
func signalComm(t *testing.T, s *xsession, comm string, sig syscall.Signal) {
	t.Helper()
	n := 0
	for _, pid := range descendants(s.p.PID()) {
		if st, err := procfs.Default.Stat(pid); err == nil && st.Comm == comm {
			if err := syscall.Kill(pid, sig); err == nil {
				n++
			}
		}
	}
	if n == 0 {
		t.Fatalf("no %s process to signal", comm)
	}
}

// TestSummaryOfRealRuns: runs laid out as an Indexed Job lays them out (one
// directory per index on the artifacts volume), one passing and one failing,
// each leaving its summary.json; `xinit-go summary` prints both and exits 1,
// and its JSON says the same.
func TestSummaryOfRealRuns(t *testing.T) {
	root := t.TempDir()
	for i, code := range []string{"0", "3"} {
		p := testutil.Start(t, testutil.Options{Namespace: true, Args: helperCmd("fail-after", "100", code),
			Env: append([]string{"XINIT_ARTIFACTS=" + filepath.Join(root, "run-"+strconv.Itoa(i), "bundles")}, plain...)})
		if got := p.Wait(30 * time.Second); strconv.Itoa(got) != code {
			t.Fatalf("run %d exited %d, want %s", i, got, code)
		}
	}
	bin := testutil.Binary(t)
	cmd := exec.Command(bin, "summary", root)
	out, err := cmd.Output()
	if cmd.ProcessState.ExitCode() != 1 {
		t.Fatalf("summary exit %v, want 1 (a run failed):\n%s", err, out)
	}
	for _, w := range []string{"0 run-0/bundles/xinit-go-", "pass", "1 run-1/bundles/xinit-go-", "FAIL", "2 runs: 1 passed, 1 failed"} {
		if !strings.Contains(string(out), w) {
			t.Errorf("summary lacks %q:\n%s", w, out)
		}
	}
	out, _ = exec.Command(bin, "summary", "--json", root).Output()
	var js struct {
		Runs []struct {
			Index    *int `json:"index"`
			ExitCode int  `json:"exit_code"`
			Failed   bool `json:"failed"`
		} `json:"runs"`
		Totals struct{ Runs, Passed, Failed int } `json:"totals"`
	}
	if err := json.Unmarshal(out, &js); err != nil {
		t.Fatalf("summary --json: %v\n%s", err, out)
	}
	if len(js.Runs) != 2 || js.Runs[0].Index == nil || *js.Runs[0].Index != 0 || js.Runs[0].Failed || js.Runs[1].ExitCode != 3 || !js.Runs[1].Failed ||
		js.Totals.Runs != 2 || js.Totals.Failed != 1 {
		t.Errorf("summary --json:\n%s", out)
	}
	// Only the passing run: exit 0.
	if err := exec.Command(bin, "summary", filepath.Join(root, "run-0")).Run(); err != nil {
		t.Errorf("summary of the passing run alone: %v, want exit 0", err)
	}
	// Nothing there: exit 1, and it says why.
	cmd = exec.Command(bin, "summary", t.TempDir())
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if cmd.Run(); cmd.ProcessState.ExitCode() != 1 || !strings.Contains(stderr.String(), "no summary.json") {
		t.Errorf("summary of an empty directory: exit %d, %q", cmd.ProcessState.ExitCode(), stderr.String())
	}
}

// TestKilledContainerKeepsTheVideo: the README promises that when the whole
// container is killed, at most the last second of the recording is lost. A
// static 1080p screen with a clock (a square whose red counts the seconds)
// compresses to a few kilobytes a second, which ffmpeg used to keep in its
// output buffer: a SIGKILL of the PID namespace left a 28-byte, unplayable
// file, and a rolling window lost its whole current segment. Now each fragment
// (one a second) reaches the file when it is complete. The kill comes 7.7 s
// after ffmpeg wrote its first bytes (the file's header, which the old code
// wrote out too), late in a 2 s segment, so a lost segment shows; 300 ms are
// allowed for the polling and the encoder.
func TestKilledContainerKeepsTheVideo(t *testing.T) {
	needRecord(t)
	const n, slack = 7700 * time.Millisecond, 300 * time.Millisecond
	for _, tc := range []struct{ name, last string }{{"whole recording", ""}, {"rolling window", "10s"}} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			out := filepath.Join(dir, "run.mp4")
			env := []string{"XINIT_RECORD=" + out, "XINIT_RECORD_FPS=10", "SCREEN_RESOLUTION=1920x1080x24"}
			if tc.last != "" {
				env = append(env, "XINIT_RECORD_LAST="+tc.last)
			}
			s := startX(t, "xvfb", env, helperCmd("clock"))
			head := out
			if tc.last != "" {
				head = filepath.Join(dir, ".xinit-record-*", "seg000.mp4")
			}
			var started time.Time
			testutil.Eventually(t, 60*time.Second, "ffmpeg's first bytes", func() bool {
				if s.p.Exited() {
					t.Fatalf("xinit-go exited\n%s", s.p.Stderr.String())
				}
				m, _ := filepath.Glob(head)
				if len(m) == 1 {
					if st, err := os.Stat(m[0]); err == nil && st.Size() > 0 {
						started = time.Now()
						return true
					}
				}
				return false
			})
			time.Sleep(time.Until(started.Add(n))) // what is recorded: n seconds of the clock
			s.p.Signal(syscall.SIGKILL)
			s.p.Wait(30 * time.Second)
			videos := []string{out}
			if tc.last != "" {
				videos, _ = filepath.Glob(filepath.Join(dir, ".xinit-record-*", "seg*.mp4"))
			}
			total := time.Duration(0)
			first, lastSec := -1, -1
			for _, v := range videos {
				st, _ := os.Stat(v)
				d, _, _, err := ffprobe(t, v)
				t.Logf("%s: %d bytes, %v (%v)", filepath.Base(v), st.Size(), d, err)
				if err != nil || d <= 0 {
					continue
				}
				total += d
				a, b := clockAt(t, v, 0), clockAt(t, v, d-150*time.Millisecond)
				if first < 0 || a < first {
					first = a
				}
				lastSec = max(lastSec, b)
			}
			if want := n - time.Second - slack; total < want {
				t.Fatalf("%v of video after %v of recording and a SIGKILL; want at least %v", total, n, want)
			}
			// The clock in the video moved on for as long: the seconds are real ones.
			if lastSec-first < int((n-2*time.Second)/time.Second) {
				t.Errorf("the clock in the video goes from %d s to %d s; want at least %v apart", first, lastSec, n-2*time.Second)
			}
		})
	}
}

// clockAt reads the clock stand-in's seconds from a video's frame.
func clockAt(t *testing.T, path string, at time.Duration) int {
	t.Helper()
	r, _, _, _ := frameAt(t, path, at).At(testutil.ClockSquare/2, testutil.ClockSquare/2).RGBA()
	return testutil.ClockSeconds(uint8(r >> 8))
}
