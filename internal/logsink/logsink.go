package logsink

import (
	"errors"
	"io"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// DefaultMax is the queue's bound in bytes: about a thousand log lines.
const DefaultMax = 256 << 10

// Sink queues writes for one writer goroutine. The zero value is not usable; use
// New.
type Sink struct {
	w   io.Writer
	max int

	mu      sync.Mutex
	q       [][]byte
	size    int
	dropped int // lines dropped since the last notice
	lost    int // lines dropped in all
	dead    bool
	closing bool
	notice  func(dropped int) []byte
	wake    chan struct{}
	done    chan struct{}
}

// New starts the writer goroutine for w. max bounds the queued bytes (<= 0:
// DefaultMax). The goroutine ends when Close has been called and the queue is
// written out, or at once when w is gone; a write that never returns keeps it
// (and nothing else) until the process exits.
func New(w io.Writer, max int) *Sink {
	if max <= 0 {
		max = DefaultMax
	}
	s := &Sink{w: w, max: max, wake: make(chan struct{}, 1), done: make(chan struct{})}
	go s.loop()
	return s
}

// SetNotice sets how the line that reports dropped lines is written (in the
// log's own format); without it the sink writes a plain line.
func (s *Sink) SetNotice(f func(dropped int) []byte) {
	s.mu.Lock()
	s.notice = f
	s.mu.Unlock()
}

// Write queues a copy of p. It never blocks on the writer and never fails.
func (s *Sink) Write(p []byte) (int, error) {
	s.mu.Lock()
	switch {
	case s.dead:
		s.lost++
	case s.size+len(p) > s.max && s.size > 0:
		// Full. A line longer than the whole queue still goes when the queue
		// is empty: the reader keeps up, it is only a long line.
		s.dropped++
		s.lost++
	default:
		s.q = append(s.q, append([]byte(nil), p...))
		s.size += len(p)
	}
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
	return len(p), nil
}

// Sync does nothing: the sink never waits for the writer, and an fsync of a
// pipe or terminal means nothing. Close is the only wait.
func (s *Sink) Sync() error { return nil }

// Lost is how many lines were not written: dropped while the queue was full, or
// written after the reader was gone.
func (s *Sink) Lost() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lost
}

// Close waits until what is queued has been written, or the writer is gone, but
// not past deadline. It reports whether everything was written out.
func (s *Sink) Close(deadline time.Time) bool {
	s.mu.Lock()
	s.closing = true
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
	t := time.NewTimer(time.Until(deadline))
	defer t.Stop()
	select {
	case <-s.done:
		s.mu.Lock()
		defer s.mu.Unlock()
		return !s.dead && len(s.q) == 0
	case <-t.C:
		return false
	}
}

func (s *Sink) loop() {
	defer close(s.done)
	for {
		<-s.wake
		s.mu.Lock()
		q, dropped, notice := s.q, s.dropped, s.notice
		s.q, s.size, s.dropped = nil, 0, 0
		closing := s.closing
		s.mu.Unlock()
		if dropped > 0 {
			q = append([][]byte{noticeLine(notice, dropped)}, q...)
		}
		for i, b := range q {
			_, err := s.w.Write(b)
			if err == nil {
				continue
			}
			s.mu.Lock()
			s.lost++
			s.mu.Unlock()
			if gone(err) {
				s.mu.Lock()
				s.dead = true
				s.lost += len(q) - i - 1 + len(s.q)
				s.q, s.size = nil, 0
				s.mu.Unlock()
				return
			}
		}
		if closing && len(q) == 0 {
			return
		}
		if closing {
			// Whatever came while writing gets one more pass.
			select {
			case s.wake <- struct{}{}:
			default:
			}
		}
	}
}

// gone: the reader will never read again. Other errors (a full disk) lose the
// line but not the log.
func gone(err error) bool {
	return errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.EBADF) || errors.Is(err, syscall.EIO) ||
		errors.Is(err, io.ErrClosedPipe)
}

func noticeLine(f func(int) []byte, n int) []byte {
	if f != nil {
		return f(n)
	}
	return []byte("xinit-go: " + strconv.Itoa(n) + " log lines dropped: the log reader did not keep up\n")
}
