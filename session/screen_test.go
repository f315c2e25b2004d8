package session

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/xinit-go/xinit-go/internal/testutil"
	"github.com/xinit-go/xinit-go/xscreen"
)

// startXvfb runs a bare Xvfb (no -auth: local clients need no cookie) and returns
// its display.
func startXvfb(t *testing.T) int {
	t.Helper()
	testutil.Need(t, "Xvfb")
	display := testutil.FreeDisplay(t)
	x := exec.Command("Xvfb", ":"+strconv.Itoa(display), "-nolisten", "tcp", "-screen", "0", "640x480x24")
	if err := x.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = x.Process.Kill(); _ = x.Wait() })
	testutil.Eventually(t, 20*time.Second, "Xvfb's socket", func() bool {
		c, err := net.Dial("unix", filepath.Join(SocketDir, fmt.Sprintf("X%d", display)))
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	return display
}

// stallingProxy serves a display that passes the connection setup through to a
// real X server, then swallows every reply: a server that completed the
// handshake and then stalled (a GPU stuck reading memory). It counts the
// connections its clients have closed.
func stallingProxy(t *testing.T, real int) (display int, closed *atomic.Int32) {
	t.Helper()
	display = testutil.FreeDisplay(t)
	path := filepath.Join(SocketDir, fmt.Sprintf("X%d", display))
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close(); os.Remove(path) })
	closed = &atomic.Int32{}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("unix", filepath.Join(SocketDir, fmt.Sprintf("X%d", real)))
			if err != nil {
				c.Close()
				continue
			}
			go func() { _, _ = io.Copy(s, c); closed.Add(1); s.Close() }()
			go func() {
				head := make([]byte, 8)
				if _, err := io.ReadFull(s, head); err != nil {
					return
				}
				rest := make([]byte, 4*int(binary.LittleEndian.Uint16(head[6:])))
				if _, err := io.ReadFull(s, rest); err != nil {
					return
				}
				_, _ = c.Write(append(head, rest...))
				_, _ = io.Copy(io.Discard, s) // the stall
			}()
		}
	}()
	return display, closed
}

// TestCaptureReturnsWhenTheServerStalls: a screenshot of a server that stops
// answering after the handshake ends with the context, and lets go of the
// connection.
func TestCaptureReturnsWhenTheServerStalls(t *testing.T) {
	real := startXvfb(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := xscreen.Capture(ctx, xscreen.Display{Num: real}, 0); err != nil {
		t.Fatalf("the real server: %v", err)
	}
	display, closed := stallingProxy(t, real)
	for _, f := range []func(ctx context.Context) error{
		func(ctx context.Context) error {
			_, err := xscreen.Capture(ctx, xscreen.Display{Num: display}, 0)
			return err
		},
		func(ctx context.Context) error {
			return xscreen.WritePNG(ctx, xscreen.Display{Num: display}, filepath.Join(t.TempDir(), "shot.png"))
		},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		done := make(chan error, 1)
		go func() { done <- f(ctx) }()
		select {
		case err := <-done:
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("error %v, want one that wraps the context's deadline", err)
			}
		case <-time.After(60 * time.Second):
			t.Fatal("the capture was still blocked 60 s after its context ended")
		}
		cancel()
	}
	testutil.Eventually(t, 20*time.Second, "the connections to be closed", func() bool { return closed.Load() == 2 })
}

// TestScreenshotTempFileSwapDoesNotChmodTheTarget: the screenshot directory is
// usually the app user's; while the PNG is encoded, that user swaps the temporary
// file for a link to a root-only file. Root must not chmod the link's target.
func TestScreenshotTempFileSwapDoesNotChmodTheTarget(t *testing.T) {
	t.Parallel()
	victim := target(t)
	dir := t.TempDir()
	img := image.NewRGBA(image.Rect(0, 0, 1200, 1200))
	for i := range img.Pix {
		img.Pix[i] = byte(i * 7919 >> 3) // noise: a slow encode, a wide window
	}
	stop := make(chan struct{})
	swapped := make(chan bool, 1)
	go func() {
		n := false
		defer func() { swapped <- n }()
		for {
			select {
			case <-stop:
				return
			default:
			}
			ents, _ := os.ReadDir(dir)
			for _, e := range ents {
				if strings.HasPrefix(e.Name(), ".screenshot-") && e.Type().IsRegular() {
					p := filepath.Join(dir, e.Name())
					if os.Rename(p, p+".moved") == nil && os.Symlink(victim, p) == nil {
						n = true
					}
				}
			}
		}
	}()
	err := xscreen.SavePNG(filepath.Join(dir, "shot.png"), img)
	close(stop)
	if !<-swapped {
		t.Fatalf("the temporary file was never swapped (err %v): the test proves nothing", err)
	}
	untouched(t, victim)
}
