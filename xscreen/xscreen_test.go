package xscreen

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"image"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jezek/xgb"
	"github.com/jezek/xgb/shm"
	"github.com/jezek/xgb/xproto"
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

// TestReadLeavesLittleOnTheHeap: a whole 1080p screen read leaves at most a
// strip behind, through MIT-SHM and through the socket. xgb keeps the last
// reply's buffer until the next reply, and the frozen-screen sampler's
// connection is quiet between samples: with 4 MiB strips that was 4 MiB held
// for good, against xinit-go's 8 MiB soft memory limit, and the collector then
// ran at each of the meter's allocations (600 collections a second and 40 % of
// a core with an app drawing 500 frames a second). Through MIT-SHM a read
// allocates next to nothing: through the socket each strip is two buffers.
func TestReadLeavesLittleOnTheHeap(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		shm  bool
	}{{"MIT-SHM", nil, true}, {"socket", []string{"-extension", "MIT-SHM"}, false}} {
		t.Run(tc.name, func(t *testing.T) {
			d := Display{Num: testutil.XvfbScreen(t, "1920x1080x24", tc.args...)}
			c, err := Dial(context.Background(), d, 10*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			read := func() {
				t.Helper()
				n := 0
				if err := c.Read(context.Background(), func(_ int, data []byte) { n += len(data) }); err != nil {
					t.Fatal(err)
				}
				if want := 1920 * 1080 * 4; n != want {
					t.Fatalf("read %d bytes of the screen, want %d", n, want)
				}
			}
			read() // the first read sets up the segments
			if on, why := c.SHM(); on != tc.shm {
				t.Fatalf("MIT-SHM in use: %v (%s), want %v", on, why, tc.shm)
			} else if !on && !strings.Contains(why, "MIT-SHM") {
				t.Errorf("why not MIT-SHM: %q, want the extension named", why)
			}
			before := heapBytes()
			allocs := allocBytes()
			read()
			allocated := allocBytes() - allocs
			if kept := int64(heapBytes()) - int64(before); kept > 1<<20 {
				t.Errorf("%d bytes stay on the heap after the read; want at most 1 MiB (a strip is %d)", kept, stripBytes)
			}
			if tc.shm && allocated > 64<<10 {
				t.Errorf("a read through MIT-SHM allocated %d bytes; want at most 64 KiB", allocated)
			}
			t.Logf("a read allocated %d bytes", allocated)
		})
	}
}

func heapBytes() uint64 {
	runtime.GC()
	return readMetric("/memory/classes/heap/objects:bytes")
}

func allocBytes() uint64 { return readMetric("/gc/heap/allocs:bytes") }

func readMetric(name string) uint64 {
	s := []metrics.Sample{{Name: name}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// TestSHMReadsWhatTheSocketReads: the same screen, with something different
// in every strip, reads the same through MIT-SHM and through the socket, at
// sizes whose last strip is short and whose rows are not a whole number of
// strips.
func TestSHMReadsWhatTheSocketReads(t *testing.T) {
	for _, screen := range []string{"1920x1080x24", "1001x777x24", "640x480x16"} {
		t.Run(screen, func(t *testing.T) {
			d := Display{Num: testutil.XvfbScreen(t, screen)}
			// Both connect first: Xvfb resets its screen when its last
			// client goes.
			var conns [2]*Conn
			for i := range conns {
				c, err := Dial(context.Background(), d, 10*time.Second)
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				conns[i] = c
			}
			paintBands(t, d)
			var got [2][]byte
			for i, useSHM := range []bool{true, false} {
				c := conns[i]
				if !useSHM {
					c.shmTried, c.shmWhy = true, "switched off by the test"
				}
				if err := c.Read(context.Background(), func(_ int, data []byte) { got[i] = append(got[i], data...) }); err != nil {
					t.Fatal(err)
				}
				if on, why := c.SHM(); on != useSHM {
					t.Fatalf("MIT-SHM in use: %v (%s), want %v", on, why, useSHM)
				}
			}
			if len(got[0]) == 0 || !bytes.Equal(got[0], got[1]) {
				t.Fatalf("MIT-SHM read %d bytes, the socket %d, and they differ", len(got[0]), len(got[1]))
			}
			if bytes.Count(got[0], []byte{0}) == len(got[0]) {
				t.Fatal("the screen read all black: the bands were not drawn")
			}
		})
	}
}

// paintBands draws a band of its own colour every 7 rows across the screen.
func paintBands(t *testing.T, d Display) {
	t.Helper()
	x, err := xgb.NewConnDisplay(d.String())
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	s := xproto.Setup(x).DefaultScreen(x)
	gc, err := xproto.NewGcontextId(x)
	if err != nil {
		t.Fatal(err)
	}
	if err := xproto.CreateGCChecked(x, gc, xproto.Drawable(s.Root), 0, nil).Check(); err != nil {
		t.Fatal(err)
	}
	for y := 0; y < int(s.HeightInPixels); y += 7 {
		xproto.ChangeGC(x, gc, xproto.GcForeground, []uint32{uint32(y*2654435761) & 0xffffff})
		xproto.PolyFillRectangle(x, xproto.Drawable(s.Root), gc,
			[]xproto.Rectangle{{X: int16(y % 13), Y: int16(y), Width: s.WidthInPixels - uint16(y%13), Height: 7}})
	}
	if _, err := xproto.GetInputFocus(x).Reply(); err != nil { // a round trip: all drawn
		t.Fatal(err)
	}
}

// TestSHMSegmentsGoWithTheConn: a Conn's shared memory lives only as long as
// the Conn on both sides (the X server lets go of its own when the connection
// closes), a Conn made and closed many times leaves none behind, and none of it
// is a System V segment, whose id any user reads in /proc/sysvipc/shm and any
// client of an X server that holds it may then attach through the server.
func TestSHMSegmentsGoWithTheConn(t *testing.T) {
	d := Display{Num: testutil.XvfbScreen(t, "640x480x24")}
	// One client stays: Xvfb resets when its last client goes, and refuses
	// connections meanwhile.
	hold, err := Dial(context.Background(), d, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer hold.Close()
	server := strconv.Itoa(serverPID(t, hold))
	sysv := ourSegments(t)
	for range 20 {
		c, err := Dial(context.Background(), d, 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Read(context.Background(), func(int, []byte) {}); err != nil {
			t.Fatal(err)
		}
		if on, why := c.SHM(); !on {
			t.Fatalf("MIT-SHM not in use: %s", why)
		}
		if ours, theirs := memfdMaps(t, "self"), memfdMaps(t, server); ours != 1 || theirs < 1 {
			t.Fatalf("while a Conn reads: %d mappings here, %d in the X server; want 1 and at least 1", ours, theirs)
		}
		if n := ourSegments(t); n != sysv {
			t.Fatalf("%d System V segments of %d bytes while a Conn reads, %d before; want none made", n, stripBytes, sysv)
		}
		c.Close()
		if n := memfdMaps(t, "self"); n != 0 {
			t.Fatalf("%d mappings here after Close", n)
		}
	}
	testutil.Eventually(t, 10*time.Second, "the X server to let go", func() bool { return memfdMaps(t, server) == 0 })
}

// memfdMaps counts the mappings of a Conn's shared memory in process pid.
func memfdMaps(t *testing.T, pid string) int {
	t.Helper()
	b, err := os.ReadFile("/proc/" + pid + "/maps")
	if err != nil {
		t.Fatal(err)
	}
	return strings.Count(string(b), "/memfd:xinit-go-screen")
}

// ourSegments counts the System V segments of stripBytes that this process's
// user owns, mode 0600.
func ourSegments(t *testing.T) int {
	t.Helper()
	b, err := os.ReadFile("/proc/sysvipc/shm")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, line := range strings.Split(string(b), "\n")[1:] {
		f := strings.Fields(line)
		// key shmid perms size cpid lpid nattch uid ...
		// perms: 600, or 1600 once marked for removal (SHM_DEST).
		if len(f) > 7 && (f[2] == "600" || f[2] == "1600") && f[3] == strconv.Itoa(stripBytes) && f[7] == strconv.Itoa(os.Getuid()) {
			n++
		}
	}
	return n
}

// TestSegmentDetachedByAnotherClient: any X client may free another's
// resources by id, so the app can detach the segments xinit-go reads through.
// The read then fails at once with the server's error (MIT-SHM's errors are
// decoded), not at its deadline as a stalled server would, and the next Conn
// reads again.
func TestSegmentDetachedByAnotherClient(t *testing.T) {
	d := Display{Num: testutil.XvfbScreen(t, "640x480x24")}
	c := readingSHM(t, d)
	app := appConn(t, d)
	if err := enableExtensions(app); err != nil {
		t.Fatal(err)
	}
	if err := shm.DetachChecked(app, c.shm.seg).Check(); err != nil {
		t.Fatalf("another client's ShmDetach of our segment: %v", err)
	}
	start := time.Now()
	err := c.Read(context.Background(), func(int, []byte) {})
	if err == nil || Stalled(err) || time.Since(start) > 4*time.Second {
		t.Fatalf("read after the segment was detached: %v after %v; want the server's error at once", err, time.Since(start))
	}
	t.Logf("read after the detach: %v", err)
	readingSHM(t, d) // a new Conn reads again
}

// readingSHM is a Conn to d that has read the screen once, through MIT-SHM.
func readingSHM(t *testing.T, d Display) *Conn {
	t.Helper()
	c, err := Dial(context.Background(), d, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	if err := c.Read(context.Background(), func(int, []byte) {}); err != nil {
		t.Fatal(err)
	}
	if on, why := c.SHM(); !on {
		t.Fatalf("MIT-SHM not in use: %s", why)
	}
	return c
}

// appConn is another client's connection to d, the app's.
func appConn(t *testing.T, d Display) *xgb.Conn {
	t.Helper()
	app, err := xgb.NewConnDisplay(d.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(app.Close)
	return app
}
