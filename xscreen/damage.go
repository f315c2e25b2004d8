package xscreen

import (
	"context"
	"errors"
	"fmt"
	"image"
	"time"

	"github.com/jezek/xgb/damage"
	"github.com/jezek/xgb/xfixes"
)

// Damage reports drawing on screen 0 through the X DAMAGE extension: events
// only, no pixels read. It watches the root window, so drawing into any window
// counts (a GL swap, a Vulkan present, PutImage, any X client's drawing), and
// costs nothing while nothing is drawn.
//
// It asks for one event when the screen goes from undamaged to damaged
// (DamageReportLevelNonEmpty). At each event it empties the damage into a
// region of its own, at least DamageQuiet after it last did, and fetches that
// region's bounding box: one report holds everything drawn from the event to
// then. So events come at most one per DamageQuiet and round trip however much
// is drawn (a client that floods the server with tiny requests costs one event
// a millisecond, not one a request), an app drawing less often than that is
// reported at once, and each report says where the drawing was.
type Damage struct {
	c       *Conn
	damage  damage.Damage
	parts   xfixes.Region
	emptied time.Time // when the damage was last emptied
}

// DamageQuiet is the least time between two reports: drawing in that time is
// part of the same report.
const DamageQuiet = time.Millisecond

// Drawn is one report of drawing.
type Drawn struct {
	// Area is the bounding box of what was drawn, empty when another client
	// emptied the damage first.
	Area image.Rectangle
}

// WatchDamage connects to a display (under ctx and timeout, as Dial) and
// starts watching screen 0's root window. Next returns each drawing.
func WatchDamage(ctx context.Context, d Display, timeout time.Duration) (*Damage, error) {
	c, err := Dial(ctx, d, timeout)
	if err != nil {
		return nil, err
	}
	dm, err := c.watchDamage(ctx)
	if err != nil {
		c.Close()
		return nil, err
	}
	return dm, nil
}

func (c *Conn) watchDamage(ctx context.Context) (*Damage, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	stop := context.AfterFunc(ctx, func() { c.nc.Close() })
	id, parts, err := c.createDamage()
	if !stop() {
		return nil, fmt.Errorf("display %s: no answer to the DAMAGE extension's setup: %w", c.display, ctx.Err())
	}
	if err != nil {
		return nil, fmt.Errorf("display %s: %w", c.display, err)
	}
	return &Damage{c: c, damage: id, parts: parts}, nil
}

func (c *Conn) createDamage() (damage.Damage, xfixes.Region, error) {
	if err := enableExtensions(c.x); err != nil {
		return 0, 0, err
	}
	if !hasExtension(c.x, "DAMAGE") {
		return 0, 0, errors.New("the X server has no DAMAGE extension")
	}
	if !hasExtension(c.x, "XFIXES") {
		return 0, 0, errors.New("the X server has no XFIXES extension")
	}
	// The versions must be asked before any other request of the extensions.
	if _, err := xfixes.QueryVersion(c.x, 2, 0).Reply(); err != nil {
		return 0, 0, fmt.Errorf("XFIXES QueryVersion: %w", err)
	}
	if _, err := damage.QueryVersion(c.x, 1, 1).Reply(); err != nil {
		return 0, 0, fmt.Errorf("DAMAGE QueryVersion: %w", err)
	}
	parts, err := xfixes.NewRegionId(c.x)
	if err != nil {
		return 0, 0, err
	}
	if err := xfixes.CreateRegionChecked(c.x, parts, nil).Check(); err != nil {
		return 0, 0, fmt.Errorf("XFIXES CreateRegion: %w", err)
	}
	id, err := damage.NewDamageId(c.x)
	if err != nil {
		return 0, 0, err
	}
	if err := damage.CreateChecked(c.x, id, c.root, damage.ReportLevelNonEmpty).Check(); err != nil {
		return 0, 0, fmt.Errorf("DAMAGE Create on the root window: %w", err)
	}
	// The server reports a new damage object on a window as the whole window
	// damaged, at once: that event came before the reply above, so it is in
	// the queue now. It is no drawing; it is dropped and the damage emptied.
	for {
		ev, _ := c.x.PollForEvent()
		if ev == nil {
			break
		}
	}
	damage.Subtract(c.x, id, 0, 0)
	return id, parts, nil
}

// ErrClosed is Next's error once the connection has ended (Close, or the X
// server gone).
var ErrClosed = errors.New("xscreen: the connection to the X server has ended")

// Next waits for the next report of drawing on the screen. It blocks until
// there is one: Close (from another goroutine) ends the wait with ErrClosed.
// Only one goroutine may call Next.
func (dm *Damage) Next() (Drawn, error) {
	for {
		ev, err := dm.c.x.WaitForEvent()
		if ev == nil && err == nil {
			return Drawn{}, ErrClosed
		}
		if err != nil {
			// An X error of an unchecked request: the damage object is gone
			// (another client destroyed it), or the region.
			return Drawn{}, fmt.Errorf("display %s: %w", dm.c.display, err)
		}
		n, ok := ev.(damage.NotifyEvent)
		if !ok || n.Damage != dm.damage {
			continue
		}
		// At most one report a DamageQuiet: drawing until then is in this
		// one. Then move the damage into the region (emptying it: the next
		// drawing sends the next event) and read where it was.
		time.Sleep(time.Until(dm.emptied.Add(DamageQuiet)))
		damage.Subtract(dm.c.x, dm.damage, 0, dm.parts)
		dm.emptied = time.Now()
		r, ferr := xfixes.FetchRegion(dm.c.x, dm.parts).Reply()
		if ferr != nil {
			return Drawn{}, fmt.Errorf("display %s: XFIXES FetchRegion: %w", dm.c.display, ferr)
		}
		e := r.Extents
		return Drawn{Area: image.Rect(int(e.X), int(e.Y), int(e.X)+int(e.Width), int(e.Y)+int(e.Height))}, nil
	}
}

// Verify asks the server, without waiting, about the damage object: when it
// is gone (any client may destroy it by its id) the server reports no drawing
// at all, and Verify makes the Next in progress return an error instead. Safe
// from any goroutine; it empties the damage, which costs at most one more
// event, never a drawing unseen.
func (dm *Damage) Verify() {
	damage.Subtract(dm.c.x, dm.damage, 0, 0)
}

// Format is screen 0's size and pixel layout.
func (dm *Damage) Format() Format { return dm.c.format }

// Close ends the watch and the connection at once, without waiting for the
// server; a Next in progress returns ErrClosed.
func (dm *Damage) Close() {
	dm.c.nc.Close()
	dm.c.x.Close()
}
