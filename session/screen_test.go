package session

import (
	"context"
	"errors"
	"image"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/xinit-go/xinit-go/internal/testutil"
	"github.com/xinit-go/xinit-go/xscreen"
)

// TestCaptureReturnsWhenTheServerStalls: a screenshot of a server that stops
// answering after the handshake ends with the context, and lets go of the
// connection.
func TestCaptureReturnsWhenTheServerStalls(t *testing.T) {
	real := testutil.Xvfb(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := xscreen.Capture(ctx, xscreen.Display{Num: real}, 0); err != nil {
		t.Fatalf("the real server: %v", err)
	}
	display, closed := testutil.StallingProxy(t, real)
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
