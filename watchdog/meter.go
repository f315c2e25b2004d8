package watchdog

import (
	"context"
	"errors"
	"fmt"
	"image"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/xinit-go/xinit-go/xscreen"
)

// The Meter counts the screen's updates: the drawing the X server reports
// through DAMAGE on the root window (package xscreen), whoever drew it, one
// update per frame. It reads no pixels to count; the first-frame check reads
// the screen only while it waits, and only after an update.

// A report of drawing is a new update when it covers pixels the current update
// has drawn already (the next frame over the last), or comes more than
// SpreadMax after the current update's last report. Otherwise it is the same
// update: a frame copied in bands, one report per band, counts once.
const SpreadMax = 100 * time.Millisecond

// IntervalBounds are the upper bounds, in seconds, of the interval histogram's
// buckets: from a 1000 Hz app to a screen that changes once a minute.
var IntervalBounds = []float64{0.001, 0.002, 0.004, 0.008, 0.0167, 0.0334, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60}

// ringSeconds is how far back the per-second counts reach; the slow-screen
// window (at most MaxSlowWindow) and the longest-gap window fit in it.
const ringSeconds = 1024

// MaxSlowWindow is the longest window the slow-screen rule may take.
const MaxSlowWindow = 10 * time.Minute

// RateWindow is the stretch /status's updates per second cover, and GapWindow
// the stretch of its longest gap.
const (
	RateWindow = 5 * time.Second
	GapWindow  = 60 * time.Second
)

// MeterOptions configure a Meter.
type MeterOptions struct {
	Display xscreen.Display
	// DialTimeout bounds each connection's setup and the first frame's reads;
	// zero means xscreen.DefaultTimeout.
	DialTimeout time.Duration
	// Slow is the slow-screen rule; a zero Rate turns it off.
	Slow SlowRule
	// AppStarted is when the app's current run started; ok false while it does
	// not run (the slow-screen rule judges nothing then).
	AppStarted func() (t time.Time, ok bool)
	// OnSlow is called, on the meter's goroutine, once per slow stretch.
	OnSlow func(ctx context.Context, s Slow)
	Log    *zap.Logger
}

// SlowRule: the screen is slow when it updates fewer than Rate times a second
// on average over the last For, while the app has run for at least For. A
// screen that did not update at all in that window is static (a menu, a
// paused picture), not slow: the frozen-screen watchdog is for that.
type SlowRule struct {
	Rate float64
	For  time.Duration
}

// Slow describes a slow stretch.
type Slow struct {
	Updates int64         // updates in the window
	Window  time.Duration // its length
	Rate    float64       // the rule's rate
}

// PerSecond is the updates' rate over the window.
func (s Slow) PerSecond() float64 { return float64(s.Updates) / s.Window.Seconds() }

func (s Slow) String() string {
	return fmt.Sprintf("the screen updated %d times in the last %s (%.2f a second, fewer than %g)",
		s.Updates, s.Window, s.PerSecond(), s.Rate)
}

// MeterStatus is what /status and /metrics show.
type MeterStatus struct {
	Watching   bool   // connected to the X server and watching
	Error      string // why not, when not
	Total      int64
	PerSecond  float64       // over the last RateWindow's whole seconds
	LongestGap time.Duration // between updates over the last GapWindow, the current one included
	SinceLast  time.Duration // since the last update (or the watch began); 0 before the watch began
	// Counts[i] is the number of intervals at most IntervalBounds[i]; Intervals
	// all of them, IntervalSum their total in seconds.
	Counts      []uint64
	Intervals   uint64
	IntervalSum float64
	Slow        bool // a slow stretch was reported and the rate has not recovered since
}

// Meter counts updates of a display's screen. Make one with NewMeter, call
// Run once.
type Meter struct {
	o   MeterOptions
	log *zap.Logger

	mu       sync.Mutex
	c        counts
	slow     slowState
	watching bool
	since    time.Time // when the watch began, the gap's origin before any update
	err      string
	// seen counts the updates and the watches begun: FirstFrame reads the
	// screen after either, since drawing before a watch began was not
	// reported. changed is closed at each, then replaced.
	seen    int64
	changed chan struct{}
}

// counts is the meter's memory; add is the only place it changes.
type counts struct {
	total     int64
	first     time.Time       // the start of the latest update
	last      time.Time       // the latest report of drawing
	area      image.Rectangle // what the latest update has drawn, bounded
	ring      [ringSeconds]second
	hist      []uint64
	intervals uint64
	sum       float64
}

// second holds the updates that started in one whole second of Unix time and
// the longest interval that ended in it.
type second struct {
	at  int64
	n   int64
	gap time.Duration
}

// slowState is the slow-screen rule's memory; judge is the only place it
// changes.
type slowState struct {
	run   time.Time // the app's run it judges
	fired bool
}

// NewMeter makes a Meter.
func NewMeter(o MeterOptions) *Meter {
	if o.DialTimeout <= 0 {
		o.DialTimeout = xscreen.DefaultTimeout
	}
	if o.Log == nil {
		o.Log = zap.NewNop()
	}
	if o.AppStarted == nil {
		o.AppStarted = func() (time.Time, bool) { return time.Time{}, false }
	}
	return &Meter{o: o, log: o.Log.Named("meter"), c: counts{hist: make([]uint64, len(IntervalBounds))},
		changed: make(chan struct{})}
}

// add takes one report of drawing at now; it reports whether it began a new
// update.
func (c *counts) add(now time.Time, d xscreen.Drawn) bool {
	same := !c.first.IsZero() && now.Sub(c.last) <= SpreadMax && !now.Before(c.last) && !d.Area.Overlaps(c.area)
	c.last = now
	if same {
		c.area = c.area.Union(d.Area)
		return false
	}
	c.area = d.Area
	if !c.first.IsZero() {
		gap := now.Sub(c.first)
		for i, ub := range IntervalBounds {
			if gap.Seconds() <= ub {
				c.hist[i]++
			}
		}
		c.intervals++
		c.sum += gap.Seconds()
		b := c.at(now.Unix())
		b.gap = max(b.gap, gap)
	}
	c.at(now.Unix()).n++
	c.total++
	c.first = now
	return true
}

// at is the ring's slot of a second, emptied when it last held an older one.
func (c *counts) at(sec int64) *second {
	b := &c.ring[uint64(sec)%ringSeconds]
	if b.at != sec {
		*b = second{at: sec}
	}
	return b
}

// in is the number of updates that started in the whole seconds from..to-1.
func (c *counts) in(from, to int64) int64 {
	var n int64
	for s := max(from, to-ringSeconds+1); s < to; s++ {
		if b := &c.ring[uint64(s)%ringSeconds]; b.at == s {
			n += b.n
		}
	}
	return n
}

// longestGap is the longest interval that ended in the seconds from..now,
// or the current one when longer.
func (c *counts) longestGap(from int64, now time.Time, origin time.Time) time.Duration {
	var g time.Duration
	for s := max(from, now.Unix()-ringSeconds+1); s <= now.Unix(); s++ {
		if b := &c.ring[uint64(s)%ringSeconds]; b.at == s {
			g = max(g, b.gap)
		}
	}
	if !c.first.IsZero() {
		origin = c.first
	}
	if !origin.IsZero() {
		g = max(g, now.Sub(origin))
	}
	return g
}

// judge applies the slow-screen rule at now: fire is true when the screen has
// just become slow. appStart is the start of the app's current run; running
// false judges nothing.
func judge(s *slowState, c *counts, rule SlowRule, now, appStart time.Time, running bool) (fire bool, sl Slow) {
	if rule.Rate <= 0 || rule.For <= 0 || !running {
		return false, Slow{}
	}
	if !appStart.Equal(s.run) {
		// A new run of the app is judged afresh.
		s.run, s.fired = appStart, false
	}
	secs := int64((rule.For + time.Second - 1) / time.Second)
	to := now.Unix() // the current second is not whole yet
	if appStart.Unix() >= to-secs {
		// The window must lie wholly within this run.
		return false, Slow{}
	}
	n := c.in(to-secs, to)
	window := time.Duration(secs) * time.Second
	switch {
	case n == 0:
		// Static: the frozen-screen watchdog's business.
		return false, Slow{}
	case float64(n) >= rule.Rate*window.Seconds():
		s.fired = false
		return false, Slow{}
	case s.fired:
		return false, Slow{}
	}
	s.fired = true
	return true, Slow{Updates: n, Window: window, Rate: rule.Rate}
}

// Status is a snapshot, safe from any goroutine.
func (m *Meter) Status() MeterStatus {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.status(time.Now())
}

func (m *Meter) status(now time.Time) MeterStatus {
	c := &m.c
	st := MeterStatus{Watching: m.watching, Error: m.err, Total: c.total, Counts: append([]uint64(nil), c.hist...),
		Intervals: c.intervals, IntervalSum: c.sum, Slow: m.slow.fired}
	win := int64(RateWindow / time.Second)
	st.PerSecond = float64(c.in(now.Unix()-win, now.Unix())) / float64(win)
	st.LongestGap = c.longestGap(now.Unix()-int64(GapWindow/time.Second), now, m.since)
	switch {
	case !c.first.IsZero():
		st.SinceLast = now.Sub(c.first)
	case !m.since.IsZero():
		st.SinceLast = now.Sub(m.since)
	}
	return st
}

// Mark is where FirstFrame starts from: it waits for an update after it, or
// for a watch that began after it (which may have missed the drawing).
func (m *Meter) Mark() int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.seen
}

// next is the channel closed at the next update or watch, and the count of
// them now.
func (m *Meter) next() (<-chan struct{}, int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.changed, m.seen
}

// saw counts an update or a watch begun, and wakes FirstFrame. m.mu is held.
func (m *Meter) saw() {
	m.seen++
	close(m.changed)
	m.changed = make(chan struct{})
}

// firstFrameWait is the least time between two reads of the screen while
// FirstFrame waits: a black screen redrawn at 500 Hz is read 10 times a
// second, not 500.
const firstFrameWait = 100 * time.Millisecond

// FirstFrame waits until the screen has been updated since mark and shows
// something that is not entirely black (a channel above 8 of 255 somewhere).
// A watch that began after mark counts as an update: what was drawn before it
// (an app's one frame, drawn while the meter was still connecting) was not
// reported. It reads the screen only after an update (and again after a
// failed read), at most ten times a second, each read under the meter's
// DialTimeout: a stalled X server costs it a failed read, not its caller's
// deadline. It returns nil, or ctx's error.
func (m *Meter) FirstFrame(ctx context.Context, mark int64) error {
	var c *xscreen.Conn
	defer func() {
		if c != nil {
			c.Close()
		}
	}()
	for {
		ch, total := m.next()
		if total > mark {
			black, err := m.black(ctx, &c)
			if err == nil && !black {
				return nil
			}
			if err == nil {
				mark = total
			} else if ctx.Err() == nil {
				// Read again: a static app's frame sends no other update.
				m.log.Debug("first frame: cannot read the screen", zap.Error(err))
			}
			wait := time.NewTimer(firstFrameWait)
			select {
			case <-ctx.Done():
				wait.Stop()
				return ctx.Err()
			case <-wait.C:
			}
			continue
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-ch:
		}
	}
}

// black reads the screen through *c (dialing first when nil; a failed read
// drops the connection) and reports whether it is entirely black.
func (m *Meter) black(ctx context.Context, c **xscreen.Conn) (bool, error) {
	if *c == nil {
		conn, err := xscreen.Dial(ctx, m.o.Display, m.o.DialTimeout)
		if err != nil {
			return false, err
		}
		*c = conn
	}
	f := (*c).Format()
	black := true
	err := (*c).Read(ctx, func(_ int, data []byte) {
		if black {
			black = f.Black(data)
		}
	})
	if err != nil {
		(*c).Close()
		*c = nil
		return false, err
	}
	return black, nil
}

// redial is the wait before connecting again after the X server went away
// or did not answer.
const redial = 250 * time.Millisecond

// verifyEvery is how often the meter checks that its damage object is still
// there: any client may destroy it by its id, and the server then reports no
// drawing at all.
const verifyEvery = time.Second

// Run watches the display until ctx ends: it connects (again and again while
// the X server is not there yet or after it restarted), counts each update and
// applies the slow-screen rule once a second. It never blocks anyone but
// itself: a stalled X server stops the count, nothing else.
func (m *Meter) Run(ctx context.Context) {
	if m.o.Slow.Rate > 0 {
		m.log.Info("watching the screen's rate", zap.Float64("slow_below", m.o.Slow.Rate), zap.Duration("slow_for", m.o.Slow.For))
		go m.judgeEverySecond(ctx)
	}
	for ctx.Err() == nil {
		dm, err := xscreen.WatchDamage(ctx, m.o.Display, m.o.DialTimeout)
		if err != nil {
			m.setErr(err)
			sleep(ctx, redial)
			continue
		}
		m.watch(ctx, dm)
		sleep(ctx, redial)
	}
}

func (m *Meter) setErr(err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err != err.Error() {
		m.log.Debug("not watching the screen", zap.Error(err))
	}
	m.watching, m.err = false, err.Error()
}

// watch counts dm's updates until the connection ends or ctx does.
func (m *Meter) watch(ctx context.Context, dm *xscreen.Damage) {
	stop := context.AfterFunc(ctx, dm.Close)
	defer stop()
	defer dm.Close()
	m.mu.Lock()
	if !m.watching {
		m.log.Debug("watching the screen's updates")
	}
	m.watching, m.err = true, ""
	if m.since.IsZero() {
		m.since = time.Now()
	}
	m.saw()
	m.mu.Unlock()
	tick := time.NewTicker(verifyEvery)
	defer tick.Stop()
	ended := make(chan struct{})
	defer close(ended)
	go func() {
		for {
			select {
			case <-ended:
				return
			case <-tick.C:
				// Only while nothing is reported: a report proves the damage
				// is there, and a Verify between an event and its report
				// would empty the damage the report reads.
				m.mu.Lock()
				idle := time.Since(m.c.last) >= verifyEvery
				m.mu.Unlock()
				if idle {
					dm.Verify()
				}
			}
		}
	}()
	for {
		d, err := dm.Next()
		if err != nil {
			if !errors.Is(err, xscreen.ErrClosed) || ctx.Err() == nil {
				m.setErr(err)
			}
			return
		}
		now := time.Now()
		m.mu.Lock()
		if m.c.add(now, d) {
			m.saw()
		}
		m.mu.Unlock()
	}
}

func (m *Meter) judgeEverySecond(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		start, running := m.o.AppStarted()
		m.mu.Lock()
		fire, sl := judge(&m.slow, &m.c, m.o.Slow, time.Now(), start, running)
		m.mu.Unlock()
		if fire {
			m.log.Warn("slow screen: "+sl.String(), zap.Int64("updates", sl.Updates), zap.Duration("window", sl.Window),
				zap.Float64("per_second", sl.PerSecond()))
			if m.o.OnSlow != nil {
				m.o.OnSlow(ctx, sl)
			}
		}
	}
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
