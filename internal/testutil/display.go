package testutil

import (
	"fmt"
	"net"
	"os"
	"time"
)

// removeStaleDisplay removes the lock file and socket of display n once no X
// server answers on it: an X server killed with SIGKILL (a test's, or one the
// end of a PID namespace killed) leaves them in /tmp, with a pid from its
// namespace that may be a live process out here, and a later run would take the
// display for busy. It runs when the test that reserved n ends, so what still
// answers is the test's own server on its way out, or a child that inherited
// its listening socket: Xvfb killed while it starts leaves xkbcomp holding it
// for a moment. It waits up to staleWait for that to go.
func removeStaleDisplay(n int) {
	sock := fmt.Sprintf("/tmp/.X11-unix/X%d", n)
	for end := time.Now().Add(staleWait); ; time.Sleep(50 * time.Millisecond) {
		c, err := net.DialTimeout("unix", sock, time.Second)
		if err != nil {
			break
		}
		c.Close()
		if time.Now().After(end) {
			return
		}
	}
	_ = os.Remove(fmt.Sprintf("/tmp/.X%d-lock", n))
	_ = os.Remove(sock)
}

// staleWait bounds removeStaleDisplay's wait for a server on its way out.
var staleWait = 10 * time.Second
