package stream

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/xinit-go/xinit-go/internal/testutil"
)

// xvfb starts an X server for a test, with a picture that moves (glxgears).
func xvfb(t *testing.T, w, h int) string {
	t.Helper()
	testutil.Need(t, "Xvfb", "ffmpeg", "glxgears")
	n := testutil.FreeDisplay(t)
	d := ":" + strconv.Itoa(n)
	x := exec.Command("Xvfb", d, "-screen", "0", fmt.Sprintf("%dx%dx24", w, h), "-nolisten", "tcp")
	if err := x.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { x.Process.Kill(); x.Wait() })
	testutil.Eventually(t, 10*time.Second, "Xvfb's socket", func() bool {
		c, err := net.Dial("unix", fmt.Sprintf("/tmp/.X11-unix/X%d", n))
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	g := exec.Command("glxgears")
	g.Env = append(os.Environ(), "DISPLAY="+d)
	if err := g.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.Process.Kill(); g.Wait() })
	return d
}

// The real ffmpeg: a viewer gets a keyframe with the parameter sets first,
// then pictures at about the frame rate; when it leaves, ffmpeg stops.
func TestEncoderWithFFmpeg(t *testing.T) {
	d := xvfb(t, 640, 480)
	m := NewMetrics()
	var e *Encoder
	hub := NewHub(HubOptions{OnFirst: func() { e.Want(true) }, OnLast: func() { e.Want(false) }})
	var mu sync.Mutex
	var pids []int
	e, err := NewEncoder(EncoderOptions{
		Display: d, Width: 640, Height: 480, FPS: 30, Env: []string{"PATH=" + os.Getenv("PATH"), "HOME=/"},
		CanStart: func() error { return nil }, Hub: hub, Metrics: m, Log: zaptest.NewLogger(t),
		started: func(pid int) { mu.Lock(); pids = append(pids, pid); mu.Unlock() },
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); e.Run(ctx) }()
	defer func() { cancel(); <-done }()

	v := hub.Join()
	start := time.Now()
	nctx, ncancel := context.WithTimeout(ctx, 20*time.Second)
	defer ncancel()
	var got []*Frame
	for len(got) < 60 {
		fs, err := v.Next(nctx)
		if err != nil {
			t.Fatalf("after %d pictures: %v", len(got), err)
		}
		got = append(got, fs...)
	}
	took := time.Since(start)
	if !got[0].Key || got[0].Codec == "" || len(got[0].SPS) == 0 {
		t.Errorf("the first picture: key %v, codec %q", got[0].Key, got[0].Codec)
	}
	if got[0].Codec[:7] != "avc1.42" {
		t.Errorf("codec %s: want constrained baseline (avc1.42...)", got[0].Codec)
	}
	keys := 0
	for _, f := range got {
		if f.Key {
			keys++
		}
	}
	t.Logf("60 pictures in %v (%d keyframes), codec %s", took, keys, got[0].Codec)
	if keys < 2 {
		t.Errorf("%d keyframes in 60 pictures at 30 fps; want one a second", keys)
	}
	v.Leave()
	mu.Lock()
	pid := pids[0]
	mu.Unlock()
	// The test stands in for the supervisor's reaper.
	var ws syscall.WaitStatus
	wctx := testutil.Context(t, 5*time.Second)
	for {
		if p, _ := syscall.Wait4(pid, &ws, syscall.WNOHANG, nil); p == pid {
			break
		}
		if wctx.Err() != nil {
			t.Fatal("ffmpeg still runs after the last viewer left")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if v := m.frames.WithLabelValues("encoded").Value(); v < 60 {
		t.Errorf("encoded %v pictures", v)
	}
	if v := m.starts.Value(); v != 1 {
		t.Errorf("%v encoder starts", v)
	}
}

// When the session stops (CanStart fails) ffmpeg stops at once, viewers or
// not, and does not start again until it may.
func TestEncoderStopsWhenTheSessionStops(t *testing.T) {
	d := xvfb(t, 320, 240)
	var stopping atomic.Bool
	var e *Encoder
	hub := NewHub(HubOptions{OnFirst: func() { e.Want(true) }, OnLast: func() { e.Want(false) }})
	pids := make(chan int, 4)
	e, err := NewEncoder(EncoderOptions{
		Display: d, Width: 320, Height: 240, FPS: 30, Env: []string{"PATH=" + os.Getenv("PATH"), "HOME=/"},
		CanStart: func() error {
			if stopping.Load() {
				return errors.New("the session is stopping")
			}
			return nil
		},
		Hub: hub, Log: zaptest.NewLogger(t), started: func(pid int) { pids <- pid },
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); e.Run(ctx) }()
	defer func() { cancel(); <-done }()
	v := hub.Join()
	defer v.Leave()
	nctx, ncancel := context.WithTimeout(ctx, 20*time.Second)
	defer ncancel()
	if _, err := v.Next(nctx); err != nil {
		t.Fatal(err)
	}
	pid := <-pids
	stopping.Store(true)
	wctx := testutil.Context(t, 5*time.Second)
	var ws syscall.WaitStatus
	for {
		if p, _ := syscall.Wait4(pid, &ws, syscall.WNOHANG, nil); p == pid {
			break
		}
		if wctx.Err() != nil {
			t.Fatal("ffmpeg still runs while the session stops")
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(time.Second)
	select {
	case p := <-pids:
		t.Errorf("ffmpeg %d started while the session stops", p)
	default:
	}
}
