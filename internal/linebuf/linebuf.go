package linebuf

import (
	"strings"
	"sync"
)

// Ring keeps the last Max lines added. It is safe for concurrent use.
type Ring struct {
	Max int

	mu    sync.Mutex
	lines []string
}

// New returns a Ring of max lines.
func New(max int) *Ring { return &Ring{Max: max} }

// Add keeps line, dropping the oldest when Max are kept.
func (r *Ring) Add(line string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lines = append(r.lines, line)
	if len(r.lines) > r.Max {
		r.lines = append(r.lines[:0], r.lines[len(r.lines)-r.Max:]...)
	}
}

// Lines is a copy of the lines kept, oldest first.
func (r *Ring) Lines() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.lines...)
}

// Text is the lines kept, each ended by a newline; "" when none.
func (r *Ring) Text() string {
	l := r.Lines()
	if len(l) == 0 {
		return ""
	}
	return strings.Join(l, "\n") + "\n"
}

// Reset forgets every line.
func (r *Ring) Reset() {
	r.mu.Lock()
	r.lines = nil
	r.mu.Unlock()
}
