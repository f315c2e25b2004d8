package health

import (
	"context"
	"time"
)

// Limits of the health server. It is PID 1's own port, reachable from the pod's
// network: a slow or greedy client must not hold goroutines or memory for long.
const (
	maxConns          = 16
	maxPerClient      = 4
	maxProbeConns     = 8 // on the probe's Unix socket
	readHeaderTimeout = 2 * time.Second
	readTimeout       = 5 * time.Second
	writeTimeout      = 10 * time.Second
	idleTimeout       = 5 * time.Second
	maxHeaderBytes    = 8 << 10
)

// Close stops the server: requests in flight get up to grace to finish, then
// every connection is closed. It returns when the serving goroutine has.
func (s *Server) Close(grace time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	if err := s.srv.Shutdown(ctx); err != nil {
		_ = s.srv.Close()
	}
	s.wg.Wait()
}
