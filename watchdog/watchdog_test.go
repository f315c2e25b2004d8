package watchdog

import (
	"testing"
	"time"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

type sample struct {
	at    time.Duration
	hash  uint64
	black bool
	fire  bool // expected
}

func TestObserve(t *testing.T) {
	const timeout = 3 * time.Second
	cases := []struct {
		name     string
		appStart time.Duration
		samples  []sample
	}{
		{"a changing picture never fires", 0, []sample{
			{0, 1, false, false}, {time.Second, 2, false, false}, {5 * time.Second, 3, false, false}, {10 * time.Second, 4, false, false}}},
		{"an unchanged picture fires once at the timeout", 0, []sample{
			{0, 1, false, false}, {2 * time.Second, 1, false, false}, {3 * time.Second, 1, false, true},
			{4 * time.Second, 1, false, false}, {60 * time.Second, 1, false, false}}},
		{"a change re-arms it", 0, []sample{
			{0, 1, false, false}, {3 * time.Second, 1, false, true}, {4 * time.Second, 2, false, false},
			{6 * time.Second, 2, false, false}, {7 * time.Second, 2, false, true}}},
		{"black for the timeout fires, even when the black changes", 0, []sample{
			{0, 1, true, false}, {time.Second, 2, true, false}, {2 * time.Second, 3, true, false}, {3 * time.Second, 4, true, true}}},
		{"black after a picture counts from the first black sample", 0, []sample{
			{0, 1, false, false}, {time.Second, 2, false, false}, {2 * time.Second, 3, true, false},
			{4 * time.Second, 3, true, false}, {5 * time.Second, 3, true, true}}},
		{"the app's (re)start restarts the clock", 10 * time.Second, []sample{
			{0, 1, false, false}, {11 * time.Second, 1, false, false}, {12 * time.Second, 1, false, false}, {13 * time.Second, 1, false, true}}},
	}
	// A restarted app on the same frozen picture fires again, a timeout after its start.
	t.Run("a restart re-arms it", func(t *testing.T) {
		var s state
		steps := []struct {
			at, start time.Duration
			fire      bool
		}{{0, 0, false}, {3 * time.Second, 0, true}, {4 * time.Second, 0, false}, {5 * time.Second, 5 * time.Second, false},
			{7 * time.Second, 5 * time.Second, false}, {8 * time.Second, 5 * time.Second, true}}
		for _, x := range steps {
			if fire, _ := observe(&s, t0.Add(x.at), 1, true, t0.Add(x.start), timeout); fire != x.fire {
				t.Fatalf("at +%v: fire %v, want %v", x.at, fire, x.fire)
			}
		}
	})
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var s state
			for _, x := range tc.samples {
				fire, f := observe(&s, t0.Add(x.at), x.hash, x.black, t0.Add(tc.appStart), timeout)
				if fire != x.fire {
					t.Fatalf("at +%v: fire %v, want %v (state %+v)", x.at, fire, x.fire, s)
				}
				if fire && (f.Unchanged < timeout || f.Black != x.black) {
					t.Fatalf("at +%v: %+v", x.at, f)
				}
			}
		})
	}
}

func TestIsBlack(t *testing.T) {
	black := make([]byte, 64)
	if !isBlack(black, 32, 24) || !isBlack(black, 16, 16) || !isBlack(black, 32, 30) {
		t.Fatal("zeros are black")
	}
	nearly := append([]byte(nil), black...)
	nearly[5], nearly[3] = 7, 0xff // a dark channel, and the pad byte of 32 bpp
	if !isBlack(nearly, 32, 24) {
		t.Fatal("a dark pixel with a set pad byte is black")
	}
	grey := append([]byte(nil), black...)
	grey[60] = 40
	if isBlack(grey, 32, 24) || isBlack(grey, 16, 16) {
		t.Fatal("a grey pixel is not black")
	}
}

func TestInterval(t *testing.T) {
	for _, c := range []struct{ timeout, want time.Duration }{
		{time.Second, 200 * time.Millisecond}, {5 * time.Second, time.Second}, {time.Minute, 2 * time.Second}} {
		if got := New(Options{Timeout: c.timeout}).Interval(); got != c.want {
			t.Errorf("timeout %v: interval %v, want %v", c.timeout, got, c.want)
		}
	}
}
