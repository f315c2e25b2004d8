package record

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestWindow(t *testing.T) {
	for _, c := range []struct {
		last time.Duration
		seg  time.Duration
		n    int
	}{{4 * time.Second, 2 * time.Second, 4}, {60 * time.Second, 10 * time.Second, 8}, {10 * time.Minute, 100 * time.Second, 8}} {
		if s, n := Segment(c.last), Segments(c.last); s != c.seg || n != c.n {
			t.Errorf("last %v: segment %v x %d, want %v x %d", c.last, s, n, c.seg, c.n)
		}
	}
}

func TestSpec(t *testing.T) {
	dir := t.TempDir()
	r, err := New(Options{Path: filepath.Join(dir, "run.mp4"), FPS: 10, Display: ":5", Width: 800, Height: 600, After: "x"})
	if err != nil {
		t.Fatal(err)
	}
	sp := r.Spec()
	argv := strings.Join(sp.Argv, " ")
	for _, want := range []string{"-f x11grab", "-framerate 10", "-video_size 800x600", "-i :5.0+0,0", "-c:v libx264",
		"-pix_fmt yuv420p", "-movflags +frag_keyframe+empty_moov+default_base_moof", "-flush_packets 1", filepath.Join(dir, "run.mp4")} {
		if !strings.Contains(argv, want) {
			t.Errorf("argv lacks %q: %s", want, argv)
		}
	}
	if sp.StopSignal != syscall.SIGINT || sp.Role.String() != "optional" || sp.After[0] != "x" {
		t.Errorf("spec %+v", sp)
	}
	rr, err := New(Options{Path: filepath.Join(dir, "run.mp4"), Last: time.Minute, Display: ":5", Width: 800, Height: 600, Encoder: NVENC})
	if err != nil {
		t.Fatal(err)
	}
	argv = strings.Join(rr.Argv(), " ")
	if !strings.Contains(argv, "-f segment -segment_time 10 -segment_wrap 8") || !strings.Contains(argv, "-c:v h264_nvenc") ||
		!strings.Contains(argv, "-segment_format_options movflags=+frag_keyframe+empty_moov+default_base_moof:flush_packets=1") ||
		!strings.HasPrefix(rr.SegmentsDir(), filepath.Join(dir, ".xinit-record-")) {
		t.Errorf("rolling argv: %s (%s)", argv, rr.SegmentsDir())
	}
	if _, err := New(Options{Path: "/nonexistent-dir/run.mp4"}); err == nil || !strings.Contains(err.Error(), "XINIT_RECORD") {
		t.Errorf("missing directory: %v", err)
	}
}

func TestPlayable(t *testing.T) {
	dir := t.TempDir()
	head := filepath.Join(dir, "head.mp4")
	_ = os.WriteFile(head, []byte("\x00\x00\x00\x1cftypisom"), 0o644)
	whole := filepath.Join(dir, "whole.mp4")
	_ = os.WriteFile(whole, []byte("....ftyp....moov....moof....mdat"), 0o644)
	if Playable(head) || !Playable(whole) || Playable(filepath.Join(dir, "absent")) {
		t.Error("Playable")
	}
	// A link to a whole file, and a FIFO (which an open would wait on for a
	// writer), are not read: Playable returns at once, false.
	link := filepath.Join(dir, "link.mp4")
	if err := os.Symlink(whole, link); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(dir, "fifo.mp4")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	done := make(chan bool, 2)
	go func() { done <- Playable(link) }()
	go func() { done <- Playable(fifo) }()
	for range 2 {
		select {
		case ok := <-done:
			if ok {
				t.Error("a link or a FIFO counts as playable")
			}
		case <-time.After(10 * time.Second):
			t.Fatal("Playable waited on a FIFO")
		}
	}
}

func TestFirstLine(t *testing.T) {
	if got := firstLine("[h264_nvenc @ 0x5655] Cannot load libcuda.so.1\nError initializing", nil); got != "Cannot load libcuda.so.1" {
		t.Errorf("%q", got)
	}
}

// TestStitchThatFailsKeepsTheNewestSegment: a stitch that cannot finish (here its
// context is over before it starts; in life, a large window past the 2 s
// bound) leaves the newest segment as the video instead of nothing.
func TestStitchThatFailsKeepsTheNewestSegment(t *testing.T) {
	dir := t.TempDir()
	r, err := New(Options{Path: filepath.Join(dir, "run.mp4"), Last: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if err := os.MkdirAll(r.SegmentsDir(), 0o700); err != nil {
		t.Fatal(err)
	}
	base := time.Now().Add(-time.Minute)
	for i, name := range []string{"seg001.mp4", "seg002.mp4", "seg000.mp4"} {
		p := filepath.Join(r.SegmentsDir(), name)
		if err := os.WriteFile(p, []byte("....ftyp....moov....moof....mdat "+name), 0o644); err != nil {
			t.Fatal(err)
		}
		at := base.Add(time.Duration(i) * 10 * time.Second)
		if err := os.Chtimes(p, at, at); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	v, err := r.Finish(ctx, true)
	if v != filepath.Join(dir, "run.mp4") || err == nil || !strings.Contains(err.Error(), "newest segment alone") {
		t.Fatalf("Finish = %q, %v; want the output path and an error that says the newest segment was kept", v, err)
	}
	b, _ := os.ReadFile(v)
	if !strings.HasSuffix(string(b), "seg000.mp4") {
		t.Errorf("the video is %q, want the newest segment (seg000.mp4, the ring wrapped)", b)
	}
	if _, err := os.Stat(r.SegmentsDir()); !os.IsNotExist(err) {
		t.Errorf("the segments' directory is still there: %v", err)
	}
}
