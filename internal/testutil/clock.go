package testutil

import (
	"fmt"
	"os"
	"time"

	"github.com/jezek/xgb"
	"github.com/jezek/xgb/xproto"
)

// ClockSquare is the square the clock stand-in paints at the top left of the
// screen, and ClockStep the red level it adds each second.
const (
	ClockSquare = 128
	ClockStep   = 16
)

// ClockSeconds reads the clock stand-in's seconds from a pixel's red level
// (8 bits): the square's red is ClockStep times the seconds since it started.
func ClockSeconds(red uint8) int { return (int(red) + ClockStep/2) / ClockStep }

// clock paints, on the root window of $DISPLAY, a square whose red level is
// ClockStep times the whole seconds since it started, once a second; the rest
// of the screen stays as it is (a static screen). It runs until killed.
func clock() int {
	c, err := xgb.NewConn()
	if err != nil {
		fmt.Fprintln(os.Stderr, "clock:", err)
		return 1
	}
	defer c.Close()
	root := xproto.Setup(c).DefaultScreen(c).Root
	gc, err := xproto.NewGcontextId(c)
	if err != nil {
		fmt.Fprintln(os.Stderr, "clock:", err)
		return 1
	}
	if err := xproto.CreateGCChecked(c, gc, xproto.Drawable(root), 0, nil).Check(); err != nil {
		fmt.Fprintln(os.Stderr, "clock:", err)
		return 1
	}
	start := time.Now()
	for {
		s := int(time.Since(start) / time.Second)
		red := uint32(min(s*ClockStep, 255))
		xproto.ChangeGC(c, gc, xproto.GcForeground, []uint32{red << 16})
		if err := xproto.PolyFillRectangleChecked(c, xproto.Drawable(root), gc,
			[]xproto.Rectangle{{X: 0, Y: 0, Width: ClockSquare, Height: ClockSquare}}).Check(); err != nil {
			fmt.Fprintln(os.Stderr, "clock:", err)
			return 1
		}
		time.Sleep(time.Until(start.Add(time.Duration(s+1) * time.Second)))
	}
}
