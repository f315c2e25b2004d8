package xscreen

import (
	"context"
	"errors"
	"fmt"
	"image"
	"sync"
	"time"

	"github.com/jezek/xgb/damage"
	"github.com/jezek/xgb/xfixes"
	"github.com/jezek/xgb/xproto"
)

// Damage reports drawing on screen 0 through the X DAMAGE extension: events
// only, no pixels read. It watches the root window, so drawing into any window
// counts (a GL swap, a Vulkan present, PutImage, any X client's drawing), and
// costs nothing while nothing is drawn.
//
// It asks for a report of each drawing request, with where it drew
// (DamageReportLevelRawRectangles): the server sends it as part of the
// request, so a request is reported even when the server is busy all the time
// (an app whose copies keep it so: vkcube through the Vulkan layer at 1,190
// frames a second on an H200). The reports that arrive together, one burst of
// the server's work, are one Drawn. Each rectangle of a report is one event, so
// a client that floods the server with tiny requests (or draws around many
// small windows) would cost one event a rectangle: past RawMost events in a
// RawWindow, the Damage asks instead for one event when
// the screen goes from undamaged to damaged (DamageReportLevelNonEmpty) and,
// at each, empties the damage into a region of its own, at least DamageQuiet
// after it last did, and fetches that region's bounding box: one report then
// holds everything drawn from the event to then, one event a millisecond
// however much is drawn. After FloodHold it asks for each request's report
// again.
type Damage struct {
	c       *Conn
	parts   xfixes.Region
	emptied time.Time // when the damage was last emptied (per-emptying reports)

	mu     sync.Mutex    // guards damage: Verify reads it from any goroutine
	damage damage.Damage // the damage object; a new one when the level changes

	raw      bool          // reports each request; false: per emptying (a flood)
	skip     damage.Damage // a new raw damage object whose first report (the whole window) is no drawing
	window   time.Time     // the current RawWindow's start
	inWindow int           // reports in it
	rawAgain time.Time     // when a flood's per-emptying reports end
	pending  error         // an error met while gathering a report, for the next Next
}

// DamageQuiet is the least time between two reports while the Damage reports
// per emptying: drawing in that time is part of the same report.
const DamageQuiet = time.Millisecond

// RawMost events in RawWindow make a flood; FloodHold is how long the Damage
// then reports per emptying.
const (
	RawWindow = 100 * time.Millisecond
	RawMost   = 400
	FloodHold = 2 * time.Second
)

// mergeMost bounds the events one Drawn gathers from those already queued.
const mergeMost = 64

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
	return &Damage{c: c, damage: id, parts: parts, raw: true}, nil
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
	if err := damage.CreateChecked(c.x, id, c.root, damage.ReportLevelRawRectangles).Check(); err != nil {
		return 0, 0, fmt.Errorf("DAMAGE Create on the root window: %w", err)
	}
	// The server reports a new damage object on a window as the whole window
	// damaged, at once: that event came before the reply above, so it is in
	// the queue now. It is no drawing; it is dropped and the damage emptied
	// (the raw level reports each request whatever the damage holds; emptying
	// keeps the server's region small).
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
	if err := dm.pending; err != nil {
		return Drawn{}, err
	}
	for {
		n, err := dm.event()
		if err != nil {
			return Drawn{}, err
		}
		// Only this goroutine changes dm.damage (relevel): no lock to read it.
		if n.Damage != dm.damage {
			continue // the damage object before a change of level
		}
		if dm.raw {
			area, events, err := dm.request(n)
			if err != nil {
				return Drawn{}, err
			}
			if n.Damage == dm.skip {
				dm.skip = 0
				continue
			}
			// The reports already here came in the same burst of the server's
			// work (a client's requests served together: an X app's
			// background and content, a frame copied in bands): one report,
			// of at most mergeMost events, so a stream of them cannot hold
			// Next.
			for gathered := events; gathered < mergeMost; {
				ev, perr := dm.c.x.PollForEvent()
				if ev == nil && perr == nil {
					break
				}
				if perr != nil {
					dm.pending = fmt.Errorf("display %s: %w", dm.c.display, perr)
					break
				}
				m, ok := ev.(damage.NotifyEvent)
				if !ok || m.Damage != n.Damage {
					continue
				}
				more, k, err := dm.request(m)
				if err != nil {
					dm.pending = err
					break
				}
				area = area.Union(more)
				gathered += k
				events += k
			}
			now := time.Now()
			if now.Sub(dm.window) >= RawWindow {
				dm.window, dm.inWindow = now, 0
				// Now and then: the server's region of a raw damage only grows.
				damage.Subtract(dm.c.x, n.Damage, 0, 0)
			}
			// Events, not requests, make a flood: a request's damage may be
			// many rectangles (drawing around a thousand small windows).
			if dm.inWindow += events; dm.inWindow > RawMost {
				dm.rawAgain = now.Add(FloodHold)
				dm.relevel(damage.ReportLevelNonEmpty)
			}
			return Drawn{Area: area}, nil
		}
		// Per emptying, at most one report a DamageQuiet: drawing until then
		// is in this one. Then move the damage into the region (emptying it:
		// the next drawing sends the next event) and read where it was. A new
		// object's first report (it starts out holding the whole window) is an
		// ordinary one, so drawing served since its creation is in it.
		time.Sleep(time.Until(dm.emptied.Add(DamageQuiet)))
		damage.Subtract(dm.c.x, n.Damage, 0, dm.parts)
		dm.emptied = time.Now()
		r, ferr := xfixes.FetchRegion(dm.c.x, dm.parts).Reply()
		if ferr != nil {
			return Drawn{}, fmt.Errorf("display %s: XFIXES FetchRegion: %w", dm.c.display, ferr)
		}
		if dm.emptied.After(dm.rawAgain) {
			dm.relevel(damage.ReportLevelRawRectangles)
		}
		return Drawn{Area: rect(r.Extents)}, nil
	}
}

// request is the area of one drawing request's report that begins with n,
// and the events it took: its rectangles come as events, all but the last
// with the "more" bit.
func (dm *Damage) request(n damage.NotifyEvent) (image.Rectangle, int, error) {
	area, events := rect(n.Area), 1
	for n.Level&0x80 != 0 {
		var err error
		if n, err = dm.event(); err != nil {
			return area, events, err
		}
		area = area.Union(rect(n.Area))
		events++
	}
	return area, events, nil
}

// event waits for the next event about a damage object, or the connection's
// end.
func (dm *Damage) event() (damage.NotifyEvent, error) {
	for {
		ev, err := dm.c.x.WaitForEvent()
		if ev == nil && err == nil {
			return damage.NotifyEvent{}, ErrClosed
		}
		if err != nil {
			// An X error of an unchecked request: the damage object is gone
			// (another client destroyed it), or the region.
			return damage.NotifyEvent{}, fmt.Errorf("display %s: %w", dm.c.display, err)
		}
		if n, ok := ev.(damage.NotifyEvent); ok {
			return n, nil
		}
	}
}

// relevel replaces the damage object with one at level: the new one first, so
// no drawing goes unreported between them. A new raw object's first report,
// the whole window, is skipped; a new per-emptying object's is an ordinary
// report (it holds the drawing since its creation). Errors come back through
// Next, as the server's errors of unchecked requests.
func (dm *Damage) relevel(level byte) {
	id, err := damage.NewDamageId(dm.c.x)
	if err != nil {
		return // no id left: stay at this level
	}
	damage.Create(dm.c.x, id, dm.c.root, level)
	// Under mu: a Verify never names the old object after its Destroy.
	dm.mu.Lock()
	old := dm.damage
	dm.damage = id
	damage.Destroy(dm.c.x, old)
	dm.mu.Unlock()
	dm.raw = level == damage.ReportLevelRawRectangles
	dm.skip = 0
	if dm.raw {
		dm.skip = id // its first report is the whole window, sent at its creation
	}
	dm.window, dm.inWindow = time.Time{}, 0
}

func rect(r xproto.Rectangle) image.Rectangle {
	return image.Rect(int(r.X), int(r.Y), int(r.X)+int(r.Width), int(r.Y)+int(r.Height))
}

// Verify asks the server, without waiting, about the damage object: when it
// is gone (any client may destroy it by its id) the server reports no drawing
// at all, and Verify makes the Next in progress return an error instead. Safe
// from any goroutine; it empties the damage, which costs at most one more
// event, never a drawing unseen.
func (dm *Damage) Verify() {
	dm.mu.Lock()
	defer dm.mu.Unlock()
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
