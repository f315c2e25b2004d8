package xscreen

// What other clients of the display, and other users of the machine, can do
// to a Conn: its MIT-SHM segments, its X resources, its deadlines. Tests
// marked (guard) hold a property the Conn keeps; the others name a property
// it must keep.

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jezek/xgb"
	"github.com/jezek/xgb/shm"
	"github.com/jezek/xgb/xproto"
	"golang.org/x/sys/unix"

	"github.com/xinit-go/xinit-go/internal/testutil"
)

// helperEnv names the part a re-executed test binary plays.
const helperEnv = "XSCREEN_TEST_HELPER"

// reexec runs this test binary again, running only test name with env added,
// and returns its combined output and exit error.
func reexec(t *testing.T, bin, name string, cred *syscall.Credential, env ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(bin, "-test.run=^"+name+"$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), env...)
	if cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
		cmd.Dir = "/"
	}
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// serverPID is the process at the other end of a Conn's socket.
func serverPID(t *testing.T, c *Conn) int {
	t.Helper()
	rc, err := c.nc.(*net.UnixConn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var cred *unix.Ucred
	var cerr error
	if err := rc.Control(func(fd uintptr) {
		cred, cerr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	}); err != nil || cerr != nil {
		t.Fatal(err, cerr)
	}
	return int(cred.Pid)
}

// mappedSegments counts the shared memory of Conns (memfd "xinit-go-screen")
// mapped into this process, one mapping a Conn.
func mappedSegments(t *testing.T) int {
	t.Helper()
	b, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		t.Fatal(err)
	}
	return strings.Count(string(b), "/memfd:xinit-go-screen")
}

// blackScreen starts an Xvfb whose root is black, and a client that stays
// connected (Xvfb resets when its last client goes).
func blackScreen(t *testing.T, screen string) Display {
	t.Helper()
	d := Display{Num: testutil.XvfbScreen(t, screen, "-br")}
	hold, err := Dial(context.Background(), d, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(hold.Close)
	return d
}

// TestAnotherClientWritesIntoOurSegments: the X server lets any client name
// any other client's resources, MIT-SHM segments included, so an app that
// finds the id of a Conn's segment (it follows the Conn's resource-id base,
// which X-Resource lists) can have the server write pixels of its own choosing
// into it, with ShmGetImage from a drawable of its own. It could draw them on
// the screen as well, so the watchdog's samples may read them; a screenshot,
// the failure bundle's evidence, must not: Capture reads through the socket.
// The screen is all black; the app fills a Conn's segment with white as fast
// as it can; every screenshot must still be black.
func TestAnotherClientWritesIntoOurSegments(t *testing.T) {
	const w, h = 640, 480
	d := blackScreen(t, fmt.Sprintf("%dx%dx24", w, h))
	c := readingSHM(t, d)
	segs := []shm.Seg{c.shm.seg}

	app := appConn(t, d)
	if err := enableExtensions(app); err != nil {
		t.Fatal(err)
	}
	s := xproto.Setup(app).DefaultScreen(app)
	rows := stripBytes / (w * 4)
	pix, _ := xproto.NewPixmapId(app)
	gc, _ := xproto.NewGcontextId(app)
	if err := xproto.CreatePixmapChecked(app, s.RootDepth, pix, xproto.Drawable(s.Root), w, uint16(rows)).Check(); err != nil {
		t.Fatal(err)
	}
	if err := xproto.CreateGCChecked(app, gc, xproto.Drawable(pix), xproto.GcForeground, []uint32{0xffffff}).Check(); err != nil {
		t.Fatal(err)
	}
	xproto.PolyFillRectangle(app, xproto.Drawable(pix), gc, []xproto.Rectangle{{Width: w, Height: uint16(rows)}})
	if _, err := xproto.GetInputFocus(app).Reply(); err != nil {
		t.Fatal(err)
	}

	stop := make(chan struct{})
	var wrote atomic.Int64
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			for _, seg := range segs {
				if _, err := shm.GetImage(app, xproto.Drawable(pix), 0, 0, w, uint16(rows), 0xffffffff,
					xproto.ImageFormatZPixmap, seg, 0).Reply(); err == nil {
					wrote.Add(1)
				}
			}
		}
	}()
	defer func() { close(stop); wg.Wait() }()

	wrong := 0
	const reads = 20
	for range reads {
		img, err := Capture(context.Background(), d, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < len(img.Pix); i += 4 {
			if img.Pix[i] > 8 || img.Pix[i+1] > 8 || img.Pix[i+2] > 8 {
				wrong++
				break
			}
		}
	}
	if wrong > 0 {
		t.Errorf("%d of %d screenshots of an all-black screen were not black: another client's pixels "+
			"(%d writes of its own into a Conn's segment)", wrong, reads, wrote.Load())
	}
	if wrote.Load() == 0 {
		t.Error("the other client never wrote into the segment: the test proved nothing")
	}
}

// TestExtensionDecodersRaceOtherConnsReaders: xgb's reader goroutine of every
// connection reads xgb.NewEventFuncs at each event (and NewErrorFuncs at each
// error) with no lock; enableExtension adds to them the first time an
// extension is enabled in the process, under a lock of its own that the
// readers never take. In xinit-go the frozen-screen meter's DAMAGE connection
// receives events from the start, and the first-frame check's first Read then
// enables MIT-SHM: a map written while another goroutine reads it, which the
// race detector reports and the runtime may end the process for ("concurrent
// map read and map write"). It runs in a fresh process, where MIT-SHM has not
// been enabled yet; the race detector must report nothing there.
func TestExtensionDecodersRaceOtherConnsReaders(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	out, err := reexec(t, self, "TestHelperFreshProcess", nil, helperEnv+"=fresh")
	if !strings.Contains(out, "helper ran") {
		t.Fatalf("the fresh process: %v\n%s", err, out)
	}
	if strings.Contains(out, "DATA RACE") || strings.Contains(out, "concurrent map") || err != nil {
		i := strings.Index(out, "WARNING: DATA RACE")
		if i < 0 {
			i = 0
		}
		t.Fatalf("a fresh process with a DAMAGE watcher and conns enabling MIT-SHM: %v\n%s", err, out[i:min(len(out), i+6000)])
	}
}

// TestHelperFreshProcess runs for TestExtensionDecodersRaceOtherConnsReaders.
func TestHelperFreshProcess(t *testing.T) {
	if os.Getenv(helperEnv) != "fresh" {
		t.Skip("run by TestExtensionDecodersRaceOtherConnsReaders")
	}
	fmt.Println("helper ran")
	d := blackScreen(t, "320x240x24")
	ctx := context.Background()
	dm, err := WatchDamage(ctx, d, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var events atomic.Int64
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			if _, err := dm.Next(); err != nil {
				return
			}
			events.Add(1)
		}
	}()
	// An app drawing a frame every 10 ms.
	stop := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		app, err := xgb.NewConnDisplay(d.String())
		if err != nil {
			t.Error(err)
			return
		}
		defer app.Close()
		s := xproto.Setup(app).DefaultScreen(app)
		gc, _ := xproto.NewGcontextId(app)
		xproto.CreateGC(app, gc, xproto.Drawable(s.Root), 0, nil)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			xproto.ChangeGC(app, gc, xproto.GcForeground, []uint32{uint32(i)})
			xproto.PolyFillRectangle(app, xproto.Drawable(s.Root), gc, []xproto.Rectangle{{X: int16(i % 100), Width: 10, Height: 10}})
			_, _ = xproto.GetInputFocus(app).Reply()
			time.Sleep(10 * time.Millisecond)
		}
	}()
	// Another connection of the process that receives events all the time:
	// its reader looks each up in xgb.NewEventFuncs, and whoever takes them
	// from it sends nothing back.
	obs, err := xgb.NewConnDisplay(d.String())
	if err != nil {
		t.Fatal(err)
	}
	root := xproto.Setup(obs).DefaultScreen(obs).Root
	if err := xproto.ChangeWindowAttributesChecked(obs, root, xproto.CwEventMask,
		[]uint32{xproto.EventMaskPropertyChange}).Check(); err != nil {
		t.Fatal(err)
	}
	var seen atomic.Int64
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			ev, err := obs.WaitForEvent()
			if ev == nil && err == nil {
				return
			}
			seen.Add(1)
		}
	}()
	wg.Add(1)
	go func() {
		defer wg.Done()
		app, err := xgb.NewConnDisplay(d.String())
		if err != nil {
			t.Error(err)
			return
		}
		defer app.Close()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			xproto.ChangeProperty(app, xproto.PropModeReplace, root, xproto.AtomWmName, xproto.AtomString, 8, 1, []byte{byte(i)})
			if i%50 == 0 {
				_, _ = xproto.GetInputFocus(app).Reply()
			}
		}
	}()
	testutil.Eventually(t, 10*time.Second, "damage events", func() bool { return events.Load() > 2 && seen.Load() > 10 })
	// Screen readers and another DAMAGE watcher come and go meanwhile.
	var readers sync.WaitGroup
	for range 6 {
		readers.Add(1)
		go func() {
			defer readers.Done()
			for range 3 {
				c, err := Dial(ctx, d, 5*time.Second)
				if err != nil {
					t.Error(err)
					return
				}
				if err := c.Read(ctx, func(int, []byte) {}); err != nil {
					t.Error(err)
				}
				c.Close()
			}
		}()
	}
	readers.Add(1)
	go func() {
		defer readers.Done()
		in := NewInput(d, 5*time.Second)
		defer in.Close()
		if _, _, err := in.Size(); err != nil {
			t.Error(err)
		}
	}()
	readers.Wait()
	close(stop)
	dm.Close()
	obs.Close()
	wg.Wait()
}

// TestCloseDuringStalledRead (guard): with the X server stopped (SIGSTOP) in the
// middle of a read, while the first read attaches the segments and while a
// later one has strips asked for ahead, Close from another goroutine returns
// at once, the read returns at once and not as a stall, and the Conn's
// mappings are gone; the X server's go when it runs again.
func TestCloseDuringStalledRead(t *testing.T) {
	for _, when := range []string{"attaching", "mid-read"} {
		t.Run(when, func(t *testing.T) {
			d := blackScreen(t, "1024x768x24")
			c, err := Dial(context.Background(), d, 30*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			pid := serverPID(t, c)
			maps := mappedSegments(t)
			defer func() { _ = syscall.Kill(pid, syscall.SIGCONT) }()
			inFn := make(chan struct{}, 1)
			var strips atomic.Int32
			fn := func(int, []byte) {
				if strips.Add(1) == 2 {
					inFn <- struct{}{}
					time.Sleep(100 * time.Millisecond) // the stop lands with strips asked for ahead
				}
			}
			if when == "attaching" {
				if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
					t.Fatal(err)
				}
			} else {
				if err := c.Read(context.Background(), func(int, []byte) {}); err != nil {
					t.Fatal(err)
				}
				if on, why := c.SHM(); !on {
					t.Fatalf("MIT-SHM not in use: %s", why)
				}
				maps = mappedSegments(t) - 1
				go func() { <-inFn; _ = syscall.Kill(pid, syscall.SIGSTOP) }()
			}
			done := make(chan error, 1)
			go func() { done <- c.Read(context.Background(), fn) }()
			time.Sleep(500 * time.Millisecond)
			took, _ := within(t, 5*time.Second, func() error { c.Close(); return nil })
			if took > time.Second {
				t.Errorf("Close took %v with a read in progress on a stopped server", took)
			}
			select {
			case err := <-done:
				if err == nil || Stalled(err) {
					t.Errorf("the read after Close: %v; want an error that is no stall", err)
				}
				t.Logf("the read after Close: %v", err)
			case <-time.After(5 * time.Second):
				t.Fatal("the read still runs 5 s after Close")
			}
			if n := mappedSegments(t); n > maps {
				t.Errorf("%d segments mapped after Close, %d before the Conn", n, maps)
			}
		})
	}
}

// TestStoppedServerReadsEndAtTheDeadline (guard): a server stopped before the first
// read (segments not yet attached) or between two strips of a read through
// MIT-SHM holds Read for the Conn's timeout and no longer, and the error says
// stalled; after Close, nothing of the Conn stays mapped, and once the server
// runs again and the Conn is closed, no segment of it stays.
func TestStoppedServerReadsEndAtTheDeadline(t *testing.T) {
	for _, when := range []string{"before-attach", "mid-read"} {
		t.Run(when, func(t *testing.T) {
			d := blackScreen(t, "1024x768x24")
			before := ourSegments(t)
			maps := mappedSegments(t)
			const timeout = 500 * time.Millisecond
			c, err := Dial(context.Background(), d, timeout)
			if err != nil {
				t.Fatal(err)
			}
			pid := serverPID(t, c)
			defer func() { _ = syscall.Kill(pid, syscall.SIGCONT) }()
			var fn func(int, []byte)
			if when == "before-attach" {
				if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
					t.Fatal(err)
				}
				fn = func(int, []byte) {}
			} else {
				if err := c.Read(context.Background(), func(int, []byte) {}); err != nil {
					t.Fatal(err)
				}
				n := 0
				fn = func(int, []byte) {
					if n++; n == 2 {
						_ = syscall.Kill(pid, syscall.SIGSTOP)
						time.Sleep(20 * time.Millisecond)
					}
				}
			}
			took, err := within(t, 10*time.Second, func() error { return c.Read(context.Background(), fn) })
			if !Stalled(err) || took > timeout+time.Second {
				t.Errorf("read on a stopped server: %v after %v; want a stall at %v", err, took, timeout)
			}
			c.Close()
			if n := mappedSegments(t); n > maps {
				t.Errorf("%d segments mapped after Close, %d before", n, maps)
			}
			_ = syscall.Kill(pid, syscall.SIGCONT)
			testutil.Eventually(t, 10*time.Second, "the segments to go", func() bool { return ourSegments(t) <= before })
		})
	}
}

// TestGrabbedServerStallsOnlyAtTheDeadline (guard): a client that grabs the server
// holds every other client's requests; a read (the first, which sets up the
// segments, or a later one) then ends at its deadline as a stall, and a read
// after the grab ends reads again on a new Conn.
func TestGrabbedServerStallsOnlyAtTheDeadline(t *testing.T) {
	d := blackScreen(t, "640x480x24")
	app, err := xgb.NewConnDisplay(d.String())
	if err != nil {
		t.Fatal(err)
	}
	defer app.Close()
	const timeout = 400 * time.Millisecond
	for _, first := range []bool{true, false} {
		c, err := Dial(context.Background(), d, timeout)
		if err != nil {
			t.Fatal(err)
		}
		if !first {
			if err := c.Read(context.Background(), func(int, []byte) {}); err != nil {
				t.Fatal(err)
			}
		}
		if err := xproto.GrabServerChecked(app).Check(); err != nil {
			t.Fatal(err)
		}
		took, err := within(t, 10*time.Second, func() error { return c.Read(context.Background(), func(int, []byte) {}) })
		if !Stalled(err) || took < timeout || took > timeout+time.Second {
			t.Errorf("first read %v under a grab: %v after %v; want a stall at %v", first, err, took, timeout)
		}
		if err := xproto.UngrabServerChecked(app).Check(); err != nil {
			t.Fatal(err)
		}
		c.Close()
	}
	c, err := Dial(context.Background(), d, timeout)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Read(context.Background(), func(int, []byte) {}); err != nil {
		t.Fatalf("after the grab: %v", err)
	}
}

// TestManyConnsLeaveNothing (guard): Conns dialed, read through MIT-SHM and closed
// many times, some of them closed by a deadline in the middle of a read,
// leave no mapping in this process and no segment in the kernel.
func TestManyConnsLeaveNothing(t *testing.T) {
	d := blackScreen(t, "640x480x24")
	before := ourSegments(t)
	maps := mappedSegments(t)
	for i := range 1000 {
		c, err := Dial(context.Background(), d, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.Background(), context.CancelFunc(func() {})
		if i%3 == 0 {
			// A deadline that ends the read with strips asked for ahead.
			ctx, cancel = context.WithTimeout(context.Background(), 2*time.Millisecond)
		}
		err = c.Read(ctx, func(int, []byte) {
			if i%3 == 0 {
				time.Sleep(time.Millisecond)
			}
		})
		cancel()
		if err != nil && i%3 != 0 {
			t.Fatal(err)
		}
		c.Close()
	}
	if n := mappedSegments(t); n > maps {
		t.Errorf("%d segments mapped after 1000 Conns, %d before", n, maps)
	}
	testutil.Eventually(t, 10*time.Second, "the segments to go", func() bool { return ourSegments(t) <= before })
}

// TestKilledServerLeavesNoSegment (guard): an X server killed while it holds the
// segments leaves none behind once the Conn is closed.
func TestKilledServerLeavesNoSegment(t *testing.T) {
	before := ourSegments(t)
	d := Display{Num: testutil.XvfbScreen(t, "640x480x24")}
	c, err := Dial(context.Background(), d, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Read(context.Background(), func(int, []byte) {}); err != nil {
		t.Fatal(err)
	}
	pid := serverPID(t, c)
	_ = syscall.Kill(pid, syscall.SIGKILL)
	err = c.Read(context.Background(), func(int, []byte) {})
	if err == nil || Stalled(err) {
		t.Errorf("read from a killed server: %v; want an error that is no stall", err)
	}
	c.Close()
	testutil.Eventually(t, 10*time.Second, "the segments to go", func() bool { return ourSegments(t) <= before })
}

// TestAnotherClientKillsTheConn (guard): any client may disconnect another with
// KillClient and any of its resource ids (a segment's will do). A read in
// progress then fails at once, not at its deadline, and not as a stall.
func TestAnotherClientKillsTheConn(t *testing.T) {
	d := blackScreen(t, "1024x768x24")
	c := readingSHM(t, d)
	app := appConn(t, d)
	seg := uint32(c.shm.seg)
	n := 0
	took, err := within(t, 10*time.Second, func() error {
		return c.Read(context.Background(), func(int, []byte) {
			if n++; n == 2 {
				_ = xproto.KillClientChecked(app, seg).Check()
			}
		})
	})
	if err == nil || Stalled(err) || took > 2*time.Second {
		t.Errorf("a read whose connection another client killed: %v after %v; want an error at once that is no stall", err, took)
	}
}

// TestCloseWaitsForTheCallback (guard): Close from another goroutine while the read
// hands a strip to its callback does not unmap the strip under it: the
// callback still reads every byte of it afterwards, and Close returns only
// once the read has let go.
func TestCloseWaitsForTheCallback(t *testing.T) {
	d := blackScreen(t, "1024x768x24")
	c, err := Dial(context.Background(), d, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Read(context.Background(), func(int, []byte) {}); err != nil {
		t.Fatal(err)
	}
	closed := make(chan time.Time, 1)
	var fnDone time.Time
	n := 0
	_ = c.Read(context.Background(), func(_ int, data []byte) {
		if n++; n != 2 {
			return
		}
		go func() { c.Close(); closed <- time.Now() }()
		time.Sleep(200 * time.Millisecond)
		sum := 0
		for _, b := range data {
			sum += int(b)
		}
		if sum != 0 {
			t.Errorf("the strip changed under the callback: sum %d", sum)
		}
		fnDone = time.Now()
	})
	select {
	case at := <-closed:
		if at.Before(fnDone) {
			t.Errorf("Close returned %v before the callback did", fnDone.Sub(at))
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close still blocked 5 s after the read")
	}
}

func stallAtShmAttach(t *testing.T, d Display, opcode byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "X")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	var conns sync.WaitGroup
	t.Cleanup(func() { ln.Close(); conns.Wait() })
	conns.Add(1)
	go func() {
		defer conns.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("unix", filepath.Join(SocketDir, fmt.Sprintf("X%d", d.Num)))
			if err != nil {
				c.Close()
				continue
			}
			conns.Add(2)
			go func() { defer conns.Done(); _, _ = io.Copy(c, s); c.Close() }()
			go func() {
				defer conns.Done()
				defer s.Close()
				hdr := make([]byte, 12)
				if _, err := io.ReadFull(c, hdr); err != nil {
					return
				}
				n := pad4(int(hdr[6])|int(hdr[7])<<8) + pad4(int(hdr[8])|int(hdr[9])<<8)
				rest := make([]byte, n)
				if _, err := io.ReadFull(c, rest); err != nil {
					return
				}
				_, _ = s.Write(append(hdr, rest...))
				stalled := false
				for {
					h := make([]byte, 4)
					if _, err := io.ReadFull(c, h); err != nil {
						return
					}
					body := make([]byte, 4*(int(h[2])|int(h[3])<<8)-4)
					if _, err := io.ReadFull(c, body); err != nil {
						return
					}
					if h[0] == opcode && h[1] == 6 { // ShmAttachFd
						stalled = true
					}
					if !stalled {
						_, _ = s.Write(append(h, body...))
					}
				}
			}()
		}
	}()
	return path
}

// TestStallAtShmAttachEndsAtTheDeadline (guard): a server that stops answering at
// the first ShmAttach holds the first read for the Conn's timeout and no
// longer, as a stall; Close then leaves nothing mapped and no segment behind.
func TestStallAtShmAttachEndsAtTheDeadline(t *testing.T) {
	d := blackScreen(t, "640x480x24")
	x, err := xgb.NewConnDisplay(d.String())
	if err != nil {
		t.Fatal(err)
	}
	if err := enableExtensions(x); err != nil {
		t.Fatal(err)
	}
	opcode := x.Extensions["MIT-SHM"]
	x.Close()
	path := stallAtShmAttach(t, d, opcode)
	before, maps := ourSegments(t), mappedSegments(t)
	const timeout = 500 * time.Millisecond
	c, err := dial(context.Background(), Display{Num: 99}, path, timeout)
	if err != nil {
		t.Fatal(err)
	}
	took, err := within(t, 10*time.Second, func() error { return c.Read(context.Background(), func(int, []byte) {}) })
	if !Stalled(err) || took < timeout || took > timeout+time.Second {
		t.Errorf("first read with ShmAttach unanswered: %v after %v; want a stall at %v", err, took, timeout)
	}
	c.Close()
	if n := mappedSegments(t); n > maps {
		t.Errorf("%d segments mapped after Close, %d before", n, maps)
	}
	testutil.Eventually(t, 10*time.Second, "the segments to go", func() bool { return ourSegments(t) <= before })
}
