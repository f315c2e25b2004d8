package testutil

import (
	"fmt"
	"net"
	"os"
	"time"
)

// removeStaleDisplay removes the lock file and socket of display n when no X
// server answers on it any more: an X server killed with SIGKILL (a test's, or
// one the end of a PID namespace killed) leaves them in /tmp, with a pid from its
// namespace that may be a live process out here, and a later run would take the
// display for busy.
func removeStaleDisplay(n int) {
	sock := fmt.Sprintf("/tmp/.X11-unix/X%d", n)
	if c, err := net.DialTimeout("unix", sock, time.Second); err == nil {
		c.Close()
		return
	}
	_ = os.Remove(fmt.Sprintf("/tmp/.X%d-lock", n))
	_ = os.Remove(sock)
}
