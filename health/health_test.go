package health

import (
	"strings"
	"testing"

	"github.com/xinit-go/xinit-go/supervisor"
)

func TestVitalOptionalServices(t *testing.T) {
	t.Parallel()
	set := func(vnc supervisor.State) supervisor.Status {
		return supervisor.Status{Services: []supervisor.ServiceStatus{
			{Name: "x", Role: "required", State: supervisor.Ready},
			{Name: "vnc", Role: "optional", State: vnc, LastReason: "exit code 1; restart budget spent"},
			{Name: "app", Role: "main", State: supervisor.Ready},
		}}
	}
	for _, tc := range []struct {
		vnc            supervisor.State
		vital          []string
		healthy, ready bool
		says           string // in the reason when not ok
	}{
		{supervisor.Ready, []string{"vnc"}, true, true, ""},
		{supervisor.Backoff, []string{"vnc"}, true, false, "vnc is"},
		{supervisor.Failed, []string{"vnc"}, false, false, "vnc failed: exit code 1; restart budget spent"},
		// Not vital: an optional service's failure is its own.
		{supervisor.Failed, nil, true, true, ""},
	} {
		st := set(tc.vnc)
		h, hr := Healthy(st, tc.vital...)
		r, rr := Ready(st, tc.vital...)
		if h != tc.healthy || r != tc.ready {
			t.Errorf("vnc %s, vital %v: healthy %v (%s), ready %v (%s); want %v, %v", tc.vnc, tc.vital, h, hr, r, rr, tc.healthy, tc.ready)
		}
		if !h && !strings.Contains(hr, tc.says) || !r && !strings.Contains(rr, "vnc") {
			t.Errorf("vnc %s: reasons %q, %q do not name vnc (%q)", tc.vnc, hr, rr, tc.says)
		}
	}
}
