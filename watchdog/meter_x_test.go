package watchdog

import (
	"context"
	"fmt"
	"image"
	"math"
	"testing"
	"time"

	"github.com/jezek/xgb"
	"github.com/jezek/xgb/damage"
	"github.com/jezek/xgb/res"
	"github.com/jezek/xgb/xproto"

	"github.com/xinit-go/xinit-go/internal/testutil"
	"github.com/xinit-go/xinit-go/internal/xpaint"
	"github.com/xinit-go/xinit-go/xscreen"
)

func painter(t *testing.T, display int) *xgb.Conn {
	t.Helper()
	c, err := xgb.NewConnDisplay(fmt.Sprintf(":%d", display))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// watching runs a meter until the test ends and waits until it watches; ctx
// ends with the test.
func watching(t *testing.T, o MeterOptions) (*Meter, context.Context) {
	t.Helper()
	m := NewMeter(o)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); m.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	testutil.Eventually(t, 10*time.Second, "the meter to watch", func() bool { return m.Status().Watching })
	return m, ctx
}

// TestMeterOnXvfb: against a real Xvfb, the meter's rate follows a client
// drawing 25 frames a second, its first frame waits out a black stretch, and a
// black screen never passes for a first frame.
func TestMeterOnXvfb(t *testing.T) {
	display := testutil.Xvfb(t)
	m, ctx := watching(t, MeterOptions{Display: xscreen.Display{Num: display}})

	mark := m.Mark()
	first := make(chan error, 1)
	started := time.Now()
	go func() {
		fctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		first <- m.FirstFrame(fctx, mark)
	}()
	pctx, stop := context.WithCancel(ctx)
	painted := make(chan int, 1)
	go func() {
		n, _ := xpaint.Paint(pctx, painter(t, display), 25, 1500*time.Millisecond, 0)
		painted <- n
	}()
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	if took := time.Since(started); took < 1500*time.Millisecond {
		t.Errorf("first frame after %v, inside the black stretch", took)
	}
	time.Sleep(RateWindow + 1500*time.Millisecond)
	st := m.Status()
	stop()
	n := <-painted
	// The bounds leave room for a loaded machine: a painter late by a frame or
	// more draws the late ones back to back, and two of those may be one
	// update; the exact count is TestDamageCountsEachFrame's, in lockstep.
	if math.Abs(st.PerSecond-25) > 25*0.1 {
		t.Errorf("%.2f updates a second, want 25 within 10%%", st.PerSecond)
	}
	testutil.Eventually(t, 5*time.Second, fmt.Sprintf("the total to reach %d frames less 2%%", n), func() bool {
		return m.Status().Total >= int64(n)-max(2, int64(n)/50)
	})
	if total := m.Status().Total; total > int64(n) {
		t.Errorf("total %d for %d frames", total, n)
	}
	if st.LongestGap > time.Second || st.LongestGap < 30*time.Millisecond {
		t.Errorf("longest gap %v at 25 a second", st.LongestGap)
	}

	// Black only: no first frame. The screen is made black first, and the
	// reports of earlier drawing let in, so that no update before the mark
	// is taken for one after it.
	if _, err := xpaint.Paint(ctx, painter(t, display), 25, time.Hour, 1); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	mark = m.Mark()
	fctx, fcancel := context.WithTimeout(ctx, 2*time.Second)
	defer fcancel()
	go func() { _, _ = xpaint.Paint(fctx, painter(t, display), 25, time.Hour, 0) }()
	if err := m.FirstFrame(fctx, mark); err == nil {
		t.Error("a black screen passed for a first frame")
	}
}

// TestFirstFrameStalledServer: a first-frame wait on an X server that answers
// the setup and then nothing ends with its context, and the meter's Run with
// it.
func TestFirstFrameStalledServer(t *testing.T) {
	real := testutil.Xvfb(t)
	stalled, _ := testutil.StallingProxy(t, real)
	m := NewMeter(MeterOptions{Display: xscreen.Display{Num: stalled}, DialTimeout: 300 * time.Millisecond})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	done := make(chan struct{})
	go func() { defer close(done); m.Run(ctx) }()
	// Pretend an update came: the wait then reads the stalled screen.
	m.mu.Lock()
	m.c.add(time.Now(), xscreen.Drawn{Area: image.Rect(0, 0, 64, 64)})
	m.mu.Unlock()
	start := time.Now()
	if err := m.FirstFrame(ctx, 0); err == nil {
		t.Fatal("a stalled server gave a first frame")
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("FirstFrame returned after %v", took)
	}
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run still runs after its context ended")
	}
	if st := m.Status(); st.Watching || st.Error == "" {
		t.Errorf("status %+v: want not watching, with why", st)
	}
}

// TestMeterSurvivesItsDamageDestroyed: any client may destroy the meter's
// damage object by its id (X-Resource lists the other clients' ids), after
// which the server reports no drawing at all; the meter notices within a few
// seconds and counts again, instead of showing a screen that never updates.
func TestMeterSurvivesItsDamageDestroyed(t *testing.T) {
	display := testutil.Xvfb(t)
	m, ctx := watching(t, MeterOptions{Display: xscreen.Display{Num: display}})

	c := painter(t, display)
	for _, err := range []error{res.Init(c), damage.Init(c)} {
		if err != nil {
			t.Fatal(err)
		}
	}
	if _, err := damage.QueryVersion(c, 1, 1).Reply(); err != nil {
		t.Fatal(err)
	}
	clients, err := res.QueryClients(c).Reply()
	if err != nil {
		t.Fatal(err)
	}
	self := xproto.Setup(c).ResourceIdBase
	destroyed := 0
	for _, cl := range clients.Clients {
		if cl.ResourceBase == self || cl.ResourceBase == 0 {
			continue
		}
		step := cl.ResourceMask & -cl.ResourceMask
		for i := uint32(0); i < 64; i++ {
			if damage.DestroyChecked(c, damage.Damage(cl.ResourceBase+i*step)).Check() == nil {
				destroyed++
			}
		}
	}
	if destroyed == 0 {
		t.Fatal("found no damage object to destroy")
	}
	before := m.Status().Total
	testutil.Eventually(t, 10*time.Second, "the meter to count again", func() bool {
		if _, err := xpaint.Paint(ctx, c, 5, 0, 1); err != nil {
			t.Fatal(err)
		}
		time.Sleep(200 * time.Millisecond)
		return m.Status().Total > before
	})
}

// TestFirstFrameDrawnBeforeTheWatch: an app that draws its one frame (a menu,
// a splash) before the meter has connected, and nothing after, has drawn its
// first frame: the meter reads the screen when its watch begins, since the
// drawing before it was not reported.
func TestFirstFrameDrawnBeforeTheWatch(t *testing.T) {
	display := testutil.Xvfb(t)
	m := NewMeter(MeterOptions{Display: xscreen.Display{Num: display}})
	mark := m.Mark()
	if _, err := xpaint.Paint(context.Background(), painter(t, display), 5, 0, 1); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); m.Run(ctx) }()
	defer func() { cancel(); <-done }()
	fctx, fcancel := context.WithTimeout(ctx, 5*time.Second)
	defer fcancel()
	if err := m.FirstFrame(fctx, mark); err != nil {
		t.Fatalf("a frame drawn before the watch began: %v", err)
	}
}

// TestFirstFrameReadAgainAfterAFailedRead: when the read after an app's one
// frame fails (the server grabbed by another client for longer than the
// read's deadline), the screen is read again, not left until an update that a
// static app never makes.
func TestFirstFrameReadAgainAfterAFailedRead(t *testing.T) {
	display := testutil.Xvfb(t)
	m, ctx := watching(t, MeterOptions{Display: xscreen.Display{Num: display}, DialTimeout: 300 * time.Millisecond})

	mark := m.Mark()
	c := painter(t, display)
	if _, err := xpaint.Paint(ctx, c, 5, 0, 1); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 5*time.Second, "the update to be counted", func() bool { return m.Status().Total > 0 })
	if err := xproto.GrabServerChecked(c).Check(); err != nil {
		t.Fatal(err)
	}
	first := make(chan error, 1)
	go func() {
		fctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		first <- m.FirstFrame(fctx, mark)
	}()
	// Longer than a read's deadline: the read after the update fails.
	time.Sleep(time.Second)
	if err := xproto.UngrabServerChecked(c).Check(); err != nil {
		t.Fatal(err)
	}
	if err := <-first; err != nil {
		t.Fatalf("the frame on the screen after a failed read: %v", err)
	}
}

// TestMeterCountsBandsOnce: a client that copies each frame in three bands,
// a millisecond apart (as a GL driver's PutImage in strips), is counted once
// a frame. Each frame is drawn when the meter has taken in the whole of the
// last one, so that a meter behind on a loaded machine does not see the last
// band of one frame and the first of the next as one report.
func TestMeterCountsBandsOnce(t *testing.T) {
	display := testutil.Xvfb(t)
	m, _ := watching(t, MeterOptions{Display: xscreen.Display{Num: display}})
	c := painter(t, display)
	s := xproto.Setup(c).DefaultScreen(c)
	gc, _ := xproto.NewGcontextId(c)
	if err := xproto.CreateGCChecked(c, gc, xproto.Drawable(s.Root), xproto.GcForeground, []uint32{0x406080}).Check(); err != nil {
		t.Fatal(err)
	}
	const frames = 60
	h := s.HeightInPixels / 3
	whole := image.Rect(0, 0, int(s.WidthInPixels), 3*int(h))
	for i := range frames {
		for b := range 3 {
			r := xproto.Rectangle{Y: int16(b) * int16(h), Width: s.WidthInPixels, Height: h}
			if err := xproto.PolyFillRectangleChecked(c, xproto.Drawable(s.Root), gc, []xproto.Rectangle{r}).Check(); err != nil {
				t.Fatal(err)
			}
			time.Sleep(time.Millisecond)
		}
		testutil.Eventually(t, 5*time.Second, fmt.Sprintf("the meter to take in frame %d", i), func() bool {
			m.mu.Lock()
			defer m.mu.Unlock()
			return m.c.total >= int64(i+1) && m.c.area == whole
		})
		// The next frame's first band comes as a new one would.
		time.Sleep(15 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond)
	if n := m.Status().Total; n != frames {
		t.Errorf("%d updates for %d frames of three bands", n, frames)
	}
}
