package stream

import (
	"context"
	"testing"
	"time"
)

func key() AU   { return AU{Data: []byte{0, 0, 0, 1, 0x65}, Key: true, SPS: sps} }
func delta() AU { return AU{Data: []byte{0, 0, 0, 1, 0x41}} }

// take returns the viewer's queued pictures' numbers without waiting.
func take(t *testing.T, v *Viewer) []uint64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
	defer cancel()
	fs, err := v.Next(ctx)
	if err != nil {
		return nil
	}
	var out []uint64
	for _, f := range fs {
		out = append(out, f.Seq)
	}
	return out
}

func equal(a, b []uint64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestHubEncoderRunsOnlyWhileWatched(t *testing.T) {
	firsts, lasts := 0, 0
	h := NewHub(HubOptions{OnFirst: func() { firsts++ }, OnLast: func() { lasts++ }})
	a := h.Join()
	b := h.Join()
	if firsts != 1 || lasts != 0 {
		t.Fatalf("two joins: OnFirst %d, OnLast %d times", firsts, lasts)
	}
	a.Leave()
	a.Leave() // twice is harmless
	if lasts != 0 {
		t.Fatal("OnLast with a viewer left")
	}
	b.Leave()
	if lasts != 1 || h.Viewers() != 0 {
		t.Fatalf("OnLast %d times, %d viewers", lasts, h.Viewers())
	}
	h.Join()
	if firsts != 2 {
		t.Fatalf("a join after the last left: OnFirst %d times", firsts)
	}
}

// A viewer that joins gets the latest keyframe and what came after it, in
// order, and then every new picture; the codec string comes from the SPS.
func TestHubJoinStartsAtTheKeyframe(t *testing.T) {
	h := NewHub(HubOptions{})
	h.Publish(delta(), time.Now()) // 1: before any keyframe, kept for nobody
	h.Publish(key(), time.Now())   // 2
	h.Publish(delta(), time.Now()) // 3
	h.Publish(delta(), time.Now()) // 4
	v := h.Join()
	if got := take(t, v); !equal(got, []uint64{2, 3, 4}) {
		t.Errorf("a joiner got %v, want [2 3 4]", got)
	}
	h.Publish(delta(), time.Now())
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	fs, err := v.Next(ctx)
	if err != nil || len(fs) != 1 || fs[0].Seq != 5 || fs[0].Codec != "avc1.42c01f" {
		t.Errorf("next: %v %v", fs, err)
	}
	// Nothing before a keyframe: a joiner waits for one.
	h2 := NewHub(HubOptions{})
	h2.Publish(delta(), time.Now())
	w := h2.Join()
	h2.Publish(delta(), time.Now())
	if got := take(t, w); got != nil {
		t.Errorf("without a keyframe a joiner got %v", got)
	}
	h2.Publish(key(), time.Now())
	if got := take(t, w); !equal(got, []uint64{3}) {
		t.Errorf("got %v, want the keyframe 3", got)
	}
}

// A viewer that does not keep up drops its backlog and skips to the next
// keyframe; one that keeps up gets every picture; a keyframe replaces a queue
// that is behind.
func TestHubSlowViewerSkipsToKeyframe(t *testing.T) {
	skips := 0
	h := NewHub(HubOptions{Queue: 3, OnSkip: func(n int) { skips += n }})
	h.Publish(key(), time.Now()) // 1
	slow, fast := h.Join(), h.Join()
	take(t, slow)
	take(t, fast)
	var fastGot []uint64
	for range 5 { // 2..6: the slow one reads nothing
		h.Publish(delta(), time.Now())
		fastGot = append(fastGot, take(t, fast)...)
	}
	if !equal(fastGot, []uint64{2, 3, 4, 5, 6}) {
		t.Errorf("the fast viewer got %v", fastGot)
	}
	// 2, 3, 4 queued; 5 overflowed: all dropped; 6 skipped waiting for a keyframe.
	if got := take(t, slow); got != nil {
		t.Errorf("the slow viewer still has %v", got)
	}
	if slow.Skipped() != 5 || skips != 5 {
		t.Errorf("skipped %d (counted %d), want 5", slow.Skipped(), skips)
	}
	h.Publish(key(), time.Now())   // 7
	h.Publish(delta(), time.Now()) // 8
	if got := take(t, slow); !equal(got, []uint64{7, 8}) {
		t.Errorf("after the skip: %v, want [7 8]", got)
	}
	// Behind by two at a keyframe: the keyframe alone.
	h.Publish(delta(), time.Now()) // 9
	h.Publish(delta(), time.Now()) // 10
	h.Publish(key(), time.Now())   // 11
	if got := take(t, slow); !equal(got, []uint64{11}) {
		t.Errorf("behind at a keyframe: %v, want [11]", got)
	}
}

// A joiner's catch-up may be longer than the usual bound; once taken, the
// usual bound applies.
func TestHubJoinCatchUpExceedsBound(t *testing.T) {
	h := NewHub(HubOptions{Queue: 2})
	h.Publish(key(), time.Now())
	for range 5 {
		h.Publish(delta(), time.Now())
	}
	v := h.Join()
	h.Publish(delta(), time.Now()) // 7: still within the catch-up's bound
	if got := take(t, v); !equal(got, []uint64{1, 2, 3, 4, 5, 6, 7}) {
		t.Errorf("catch-up: %v", got)
	}
	for range 3 {
		h.Publish(delta(), time.Now())
	}
	if got := take(t, v); got != nil || v.Skipped() != 3 {
		t.Errorf("after the catch-up the usual bound: got %v, skipped %d", got, v.Skipped())
	}
}

// Reset (the encoder restarted): nobody gets an old picture; all wait for the
// new keyframe.
func TestHubReset(t *testing.T) {
	h := NewHub(HubOptions{})
	h.Publish(key(), time.Now())
	v := h.Join()
	h.Reset()
	h.Publish(delta(), time.Now())
	if got := take(t, v); got != nil {
		t.Errorf("after a reset: %v", got)
	}
	if got := take(t, h.Join()); got != nil {
		t.Errorf("a joiner after a reset: %v", got)
	}
	h.Publish(key(), time.Now())
	if got := take(t, v); !equal(got, []uint64{3}) {
		t.Errorf("got %v, want [3]", got)
	}
}

func TestViewerNextEndsWithContext(t *testing.T) {
	v := NewHub(HubOptions{}).Join()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := v.Next(ctx); err == nil {
		t.Error("Next returned no error on a canceled context")
	}
}
