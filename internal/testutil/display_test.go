package testutil

import (
	"fmt"
	"net"
	"os"
	"testing"
	"time"
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
	defer func(w time.Duration) { staleWait = w }(staleWait)
	staleWait = 300 * time.Millisecond
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

// TestFreeDisplaySkipsOneAnotherProcessHolds: a display number that another
// test binary has reserved (its abstract socket bound) is not handed out here,
// though no X server has made its lock file yet.
func TestFreeDisplaySkipsOneAnotherProcessHolds(t *testing.T) {
	next := 200 + (os.Getpid()%300)*20 + int(displaySeq.Load()) + 1
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: fmt.Sprintf("@xinit-go-test/display/%d", next), Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if n := FreeDisplay(t); n == next {
		t.Fatalf("display %d handed out while another process holds it", n)
	}
	// And the one handed out is held: a second claim on it fails.
	n := FreeDisplay(t)
	if _, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: fmt.Sprintf("@xinit-go-test/display/%d", n), Net: "unixgram"}); err == nil {
		t.Fatalf("display %d handed out but not held", n)
	}
}

// TestStaleDisplayWaitsForAServerOnItsWayOut: a socket that still answers for a
// moment after its server was killed (Xvfb killed as it starts leaves xkbcomp
// holding the listening socket it inherited) is removed once it stops, not
// left behind in /tmp for the next run.
func TestStaleDisplayWaitsForAServerOnItsWayOut(t *testing.T) {
	if os.Geteuid() != 0 {
		missing(t, "needs root to write /tmp/.X11-unix")
	}
	if err := os.MkdirAll("/tmp/.X11-unix", 0o1777); err != nil {
		t.Fatal(err)
	}
	n := FreeDisplay(t)
	path := fmt.Sprintf("/tmp/.X11-unix/X%d", n)
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	l.SetUnlinkOnClose(false) // as a killed server leaves it
	go func() { time.Sleep(500 * time.Millisecond); l.Close() }()
	removeStaleDisplay(n)
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		os.Remove(path)
		t.Fatalf("the socket of a server that went half a second later stayed: %v", err)
	}
}
