// Package xpaint draws on an X display at a known rate: the stand-in app of
// the tests and benchmarks that check what xinit-go reports of the screen.
package xpaint

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/jezek/xgb"
	"github.com/jezek/xgb/xproto"
)

// Paint fills the whole of screen 0's root window, rate times a second on a
// fixed schedule (a late frame does not shift the ones after it), until ctx
// ends or frames have been drawn (0: no limit). For the first black stretch it
// paints black, then two colours in turn, none of them black: each frame is
// one request that changes every pixel, as a GL app's swap does. Each frame
// waits for the server to have drawn it. It returns the frames drawn.
func Paint(ctx context.Context, c *xgb.Conn, rate float64, black time.Duration, frames int) (int, error) {
	s := xproto.Setup(c).DefaultScreen(c)
	gc, err := xproto.NewGcontextId(c)
	if err != nil {
		return 0, err
	}
	if err := xproto.CreateGCChecked(c, gc, xproto.Drawable(s.Root), 0, nil).Check(); err != nil {
		return 0, err
	}
	full := []xproto.Rectangle{{Width: s.WidthInPixels, Height: s.HeightInPixels}}
	period := time.Duration(float64(time.Second) / rate)
	start := time.Now()
	for n := 0; frames == 0 || n < frames; n++ {
		colour := uint32(0x2060a0)
		switch {
		case time.Since(start) < black:
			colour = 0
		case n%2 == 1:
			colour = 0xa06020
		}
		xproto.ChangeGC(c, gc, xproto.GcForeground, []uint32{colour})
		if err := xproto.PolyFillRectangleChecked(c, xproto.Drawable(s.Root), gc, full).Check(); err != nil {
			return n, err
		}
		t := time.NewTimer(time.Until(start.Add(time.Duration(n+1) * period)))
		select {
		case <-ctx.Done():
			t.Stop()
			return n + 1, nil
		case <-t.C:
		}
	}
	return frames, nil
}

// Run paints $DISPLAY's screen at rate, black for the first black, until
// killed: the body of a stand-in program. It returns an exit code.
func Run(rate float64, black time.Duration) int {
	c, err := xgb.NewConn()
	if err != nil {
		fmt.Fprintln(os.Stderr, "paint:", err)
		return 1
	}
	defer c.Close()
	// Its own count, every 5 s, as glxgears prints it.
	for {
		ctx, cancel := context.WithTimeout(context.Background(), ReportEvery)
		start := time.Now()
		n, err := Paint(ctx, c, rate, black, 0)
		cancel()
		if err != nil {
			fmt.Fprintln(os.Stderr, "paint:", err)
			return 1
		}
		took := time.Since(start).Seconds()
		fmt.Printf("%d frames in %.1f seconds = %.3f FPS\n", n, took, float64(n)/took)
		black = max(0, black-time.Since(start))
	}
}

// ReportEvery is how often Run prints its own count.
const ReportEvery = 5 * time.Second

// Still fills $DISPLAY's screen once with a colour, then blocks until killed:
// an app that shows a menu and waits. It returns an exit code.
func Still() int {
	c, err := xgb.NewConn()
	if err != nil {
		fmt.Fprintln(os.Stderr, "still:", err)
		return 1
	}
	defer c.Close()
	if _, err := Paint(context.Background(), c, 1, 0, 1); err != nil {
		fmt.Fprintln(os.Stderr, "still:", err)
		return 1
	}
	select {}
}
