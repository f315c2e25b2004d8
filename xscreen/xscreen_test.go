package xscreen

import (
	"context"
	"encoding/binary"
	"errors"
	"image"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/xinit-go/xinit-go/internal/testutil"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func fakeServer(t *testing.T, behaviour int) (path string, gone *atomic.Int32) {
	path = filepath.Join(t.TempDir(), "X")
	return path, testutil.FakeX(t, path, behaviour)
}

// within runs f and fails the test when it has not returned by limit.
func within(t *testing.T, limit time.Duration, f func() error) (time.Duration, error) {
	t.Helper()
	start := time.Now()
	done := make(chan error, 1)
	go func() { done <- f() }()
	select {
	case err := <-done:
		return time.Since(start), err
	case <-time.After(limit):
		t.Fatalf("still blocked after %v", limit)
		return 0, nil
	}
}

// TestDialDeadline: a server that accepts and never answers holds Dial for the
// timeout, not longer; the socket is closed.
func TestDialDeadline(t *testing.T) {
	path, gone := fakeServer(t, testutil.XSilent)
	const timeout = 300 * time.Millisecond
	took, err := within(t, 10*time.Second, func() error {
		_, err := dial(context.Background(), Display{Num: 99}, path, timeout)
		return err
	})
	if !errors.Is(err, context.DeadlineExceeded) || !Stalled(err) {
		t.Fatalf("error %v, want one that wraps the deadline", err)
	}
	if took < timeout || took > timeout+2*time.Second {
		t.Errorf("returned after %v, want about %v", took, timeout)
	}
	testutil.Eventually(t, 10*time.Second, "the server to see the client go", func() bool { return gone.Load() == 1 })
}

// TestReadDeadline: a server that completes the handshake and then stalls
// holds Read for the Conn's timeout, whatever the caller's context; the socket
// is closed and the Conn refuses further reads at once.
func TestReadDeadline(t *testing.T) {
	path, gone := fakeServer(t, testutil.XStallAfterSetup)
	const timeout = 300 * time.Millisecond
	c, err := dial(context.Background(), Display{Num: 99}, path, timeout)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if f := c.Format(); f != (Format{Width: 64, Height: 48, Depth: 24, BitsPerPixel: 32}) {
		t.Fatalf("format %+v", f)
	}
	called := false
	took, err := within(t, 10*time.Second, func() error {
		return c.Read(context.Background(), func(int, []byte) { called = true })
	})
	if !Stalled(err) || called {
		t.Fatalf("error %v (strip handed over: %v), want one that wraps the deadline", err, called)
	}
	if took < timeout || took > timeout+2*time.Second {
		t.Errorf("returned after %v, want about %v", took, timeout)
	}
	testutil.Eventually(t, 10*time.Second, "the server to see the client go", func() bool { return gone.Load() == 1 })
	took, err = within(t, time.Second, func() error { return c.Read(context.Background(), func(int, []byte) {}) })
	if err == nil || took > 100*time.Millisecond {
		t.Errorf("a read on a timed-out connection: %v after %v, want an error at once", err, took)
	}
}

// TestCallerCancelEndsTheRead: the caller's context ends a read sooner than
// the timeout, and the error says it was cancelled, not stalled.
func TestCallerCancelEndsTheRead(t *testing.T) {
	path, _ := fakeServer(t, testutil.XStallAfterSetup)
	c, err := dial(context.Background(), Display{Num: 99}, path, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(200*time.Millisecond, cancel)
	took, err := within(t, 10*time.Second, func() error { return c.Read(ctx, func(int, []byte) {}) })
	if !errors.Is(err, context.Canceled) || Stalled(err) {
		t.Fatalf("error %v, want one that wraps context.Canceled", err)
	}
	if took > 5*time.Second {
		t.Errorf("returned after %v", took)
	}
}

func TestFormatDecode(t *testing.T) {
	cases := []struct {
		f     Format
		data  []byte
		want  [3]uint8
		black bool
	}{
		{Format{1, 1, 24, 32}, []byte{0x30, 0x20, 0x10, 0}, [3]uint8{0x10, 0x20, 0x30}, false},
		{Format{1, 1, 24, 32}, []byte{8, 8, 8, 0xff}, [3]uint8{8, 8, 8}, true},
		{Format{1, 1, 30, 32}, le32(0x3ff<<20 | 0<<10 | 0x200), [3]uint8{0xff, 0, 0x80}, false},
		{Format{1, 1, 30, 32}, le32(4<<20 | 4<<10 | 4), [3]uint8{1, 1, 1}, true},
		{Format{1, 1, 16, 16}, []byte{0x00, 0xf8}, [3]uint8{0xf8, 0, 0}, false},
		{Format{1, 1, 16, 16}, []byte{0x41, 0x08}, [3]uint8{8, 8, 8}, true},
	}
	for _, c := range cases {
		p := c.f.Pixel(c.data, 0)
		if [3]uint8{p.R, p.G, p.B} != c.want || p.A != 255 {
			t.Errorf("%+v % x: %v, want %v", c.f, c.data, p, c.want)
		}
		if got := c.f.Black(c.data); got != c.black {
			t.Errorf("%+v % x: black %v, want %v", c.f, c.data, got, c.black)
		}
		img := image.NewRGBA(image.Rect(0, 0, 1, 1))
		c.f.Decode(img, 0, c.data, len(c.data))
		if img.RGBAAt(0, 0) != p {
			t.Errorf("%+v: Decode %v, Pixel %v", c.f, img.RGBAAt(0, 0), p)
		}
	}
	if err := (Format{10, 10, 8, 8}).check(); err == nil {
		t.Error("depth 8 accepted")
	}
}

func le32(v uint32) []byte { return binary.LittleEndian.AppendUint32(nil, v) }

// TestReadLeavesLittleOnTheHeap: after a whole 1080p screen is read, what the
// connection keeps is a strip, not a quarter of the screen. xgb keeps the last
// reply's buffer until the next reply, and the frozen-screen sampler's
// connection is quiet between samples: with 4 MiB strips that was 4 MiB held
// for good, against xinit-go's 8 MiB soft memory limit, and the collector then
// ran at each of the meter's allocations (600 collections a second and 40 % of
// a core with an app drawing 500 frames a second).
func TestReadLeavesLittleOnTheHeap(t *testing.T) {
	d := Display{Num: testutil.XvfbScreen(t, "1920x1080x24")}
	c, err := Dial(context.Background(), d, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	heap := func() uint64 {
		runtime.GC()
		s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		metrics.Read(s)
		return s[0].Value.Uint64()
	}
	before := heap()
	var read int
	if err := c.Read(context.Background(), func(_ int, data []byte) { read += len(data) }); err != nil {
		t.Fatal(err)
	}
	if want := 1920 * 1080 * 4; read != want {
		t.Fatalf("read %d bytes of the screen, want %d", read, want)
	}
	if kept := int64(heap()) - int64(before); kept > 1<<20 {
		t.Errorf("%d bytes stay on the heap after the read; want at most 1 MiB (a strip is %d)", kept, stripBytes)
	}
}
