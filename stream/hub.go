package stream

import (
	"context"
	"sync"
	"time"
)

// Frame is one encoded picture as the viewers get it.
type Frame struct {
	AU
	// Seq counts the encoder's pictures since the hub was made.
	Seq uint64
	// At is when the whole picture had come from the encoder.
	At time.Time
	// Codec is the stream's codec string (from the latest SPS).
	Codec string
}

// Hub fans the encoder's pictures out to every viewer. It keeps the pictures
// since the latest keyframe, so a viewer that joins starts from that keyframe
// and has a picture at once. Each viewer has a queue of its own: one that falls
// behind by more than its bound drops its queue and skips to the next keyframe,
// and a keyframe that comes while a viewer is behind replaces its queue, so a
// slow viewer never builds a backlog and never holds up the others.
//
// The first viewer to join calls Options.OnFirst and the last to leave
// Options.OnLast (outside the hub's lock): the encoder runs only while someone
// watches.
type Hub struct {
	o HubOptions

	mu      sync.Mutex
	gop     []*Frame // the latest keyframe and the pictures after it
	codec   string
	seq     uint64
	viewers map[*Viewer]struct{}
}

// HubOptions configure a Hub.
type HubOptions struct {
	// Queue bounds the pictures a viewer may have waiting; 0 means 8.
	Queue int
	// MaxGOP bounds the pictures kept for a joining viewer; 0 means 600.
	MaxGOP int
	// OnFirst runs when the first viewer joins, OnLast when the last leaves.
	OnFirst, OnLast func()
	// OnSkip, when set, counts the pictures a slow viewer skipped.
	OnSkip func(n int)
}

// NewHub makes a hub.
func NewHub(o HubOptions) *Hub {
	if o.Queue <= 0 {
		o.Queue = 8
	}
	if o.MaxGOP <= 0 {
		o.MaxGOP = 600
	}
	return &Hub{o: o, viewers: map[*Viewer]struct{}{}}
}

// Viewer is one viewer's place in the hub.
type Viewer struct {
	h       *Hub
	notify  chan struct{}
	queue   []*Frame // guarded by h.mu
	limit   int      // the queue's bound now: larger while a join's catch-up drains
	needKey bool     // skipping until the next keyframe
	skipped int
}

// Publish hands a picture to every viewer.
func (h *Hub) Publish(au AU, at time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if c := Codec(au.SPS); c != "" {
		h.codec = c
	}
	h.seq++
	f := &Frame{AU: au, Seq: h.seq, At: at, Codec: h.codec}
	switch {
	case au.Key:
		h.gop = append(h.gop[:0:0], f)
	case len(h.gop) > 0 && len(h.gop) < h.o.MaxGOP:
		h.gop = append(h.gop, f)
	default:
		h.gop = nil // too long without a keyframe: a joiner waits for the next
	}
	for v := range h.viewers {
		if n := v.push(f); n > 0 && h.o.OnSkip != nil {
			h.o.OnSkip(n)
		}
	}
}

// Reset forgets the pictures kept for joiners: the encoder restarted, and its
// next pictures start from a new keyframe. Viewers skip to it.
func (h *Hub) Reset() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.gop = nil
	for v := range h.viewers {
		v.queue = nil
		v.needKey = true
	}
}

// push queues f for v; it returns how many pictures v skipped. h.mu is held.
func (v *Viewer) push(f *Frame) int {
	skipped := 0
	switch {
	case f.Key && len(v.queue) > 0:
		// Behind at a keyframe: the keyframe alone is all it needs.
		skipped = len(v.queue)
		v.queue = v.queue[:0]
		v.limit = v.h.o.Queue
	case v.needKey && !f.Key:
		v.skipped++
		return 1
	case len(v.queue) >= v.limit:
		skipped = len(v.queue) + 1
		v.queue = v.queue[:0]
		v.limit = v.h.o.Queue
		v.needKey = true
		v.skipped += skipped
		return skipped
	}
	v.needKey = false
	v.skipped += skipped
	v.queue = append(v.queue, f)
	select {
	case v.notify <- struct{}{}:
	default:
	}
	return skipped
}

// Join adds a viewer; it starts with the pictures since the latest keyframe.
func (h *Hub) Join() *Viewer {
	h.mu.Lock()
	v := &Viewer{h: h, notify: make(chan struct{}, 1)}
	v.queue = append(v.queue, h.gop...)
	v.limit = h.o.Queue + len(v.queue)
	v.needKey = len(v.queue) == 0
	if len(v.queue) > 0 {
		v.notify <- struct{}{}
	}
	h.viewers[v] = struct{}{}
	first := len(h.viewers) == 1
	h.mu.Unlock()
	if first && h.o.OnFirst != nil {
		h.o.OnFirst()
	}
	return v
}

// Leave removes the viewer; it may be called more than once.
func (v *Viewer) Leave() {
	h := v.h
	h.mu.Lock()
	_, in := h.viewers[v]
	delete(h.viewers, v)
	last := in && len(h.viewers) == 0
	h.mu.Unlock()
	if last && h.o.OnLast != nil {
		h.o.OnLast()
	}
}

// Viewers is how many viewers the hub has.
func (h *Hub) Viewers() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.viewers)
}

// Next waits for the viewer's next pictures and takes them all, oldest first.
func (v *Viewer) Next(ctx context.Context) ([]*Frame, error) {
	for {
		v.h.mu.Lock()
		if len(v.queue) > 0 {
			out := v.queue
			v.queue = nil
			if v.limit > v.h.o.Queue && len(out) > 0 {
				// The catch-up is taken: from here the usual bound.
				v.limit = v.h.o.Queue
			}
			v.h.mu.Unlock()
			return out, nil
		}
		v.h.mu.Unlock()
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-v.notify:
		}
	}
}

// Skipped is how many pictures the viewer has skipped so far.
func (v *Viewer) Skipped() int {
	v.h.mu.Lock()
	defer v.h.mu.Unlock()
	return v.skipped
}
