package testutil

import (
	"fmt"
	"net"
	"os"
	"testing"
)

func TestStaleDisplayRemovedLiveKept(t *testing.T) {
	if os.Geteuid() != 0 {
		missing(t, "needs root to write /tmp/.X11-unix")
	}
	if err := os.MkdirAll("/tmp/.X11-unix", 0o1777); err != nil {
		t.Fatal(err)
	}
	stale, live := FreeDisplay(t), FreeDisplay(t)
	for _, n := range []int{stale, live} {
		if err := os.WriteFile(fmt.Sprintf("/tmp/.X%d-lock", n), []byte("         3\n"), 0o444); err != nil {
			t.Fatal(err)
		}
	}
	// A stale socket: a file nobody listens on.
	if err := os.WriteFile(fmt.Sprintf("/tmp/.X11-unix/X%d", stale), nil, 0o666); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("unix", fmt.Sprintf("/tmp/.X11-unix/X%d", live))
	if err != nil {
		t.Fatal(err)
	}
	removeStaleDisplay(stale)
	removeStaleDisplay(live)
	if _, err := os.Stat(fmt.Sprintf("/tmp/.X%d-lock", stale)); !os.IsNotExist(err) {
		t.Errorf("the stale display's lock stayed: %v", err)
	}
	if _, err := os.Stat(fmt.Sprintf("/tmp/.X%d-lock", live)); err != nil {
		t.Errorf("the live display's lock was removed: %v", err)
	}
	l.Close()
	_ = os.Remove(fmt.Sprintf("/tmp/.X%d-lock", live))
}

// TestFreePortNeverRepeats: a test that asks for two ports gets two, even
// where the kernel hands the same ephemeral port back after a close.
func TestFreePortNeverRepeats(t *testing.T) {
	seen := map[int]bool{}
	for range 200 {
		p := FreePort(t)
		if seen[p] {
			t.Fatalf("port %d handed out twice", p)
		}
		seen[p] = true
	}
}
