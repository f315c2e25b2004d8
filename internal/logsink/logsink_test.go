package logsink

import (
	"bytes"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// blocked is a reader that stopped reading: every write waits until released.
type blocked struct {
	release chan struct{}
	mu      sync.Mutex
	got     bytes.Buffer
}

func (b *blocked) Write(p []byte) (int, error) {
	<-b.release
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.got.Write(p)
}

func TestWriteNeverBlocksOnAStalledReader(t *testing.T) {
	b := &blocked{release: make(chan struct{})}
	s := New(b, 1024)
	start := time.Now()
	for i := 0; i < 10000; i++ {
		if n, err := s.Write([]byte("a line of the log, about forty bytes\n")); n != 37 || err != nil {
			t.Fatalf("Write = %d, %v", n, err)
		}
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("10000 writes took %v", d)
	}
	if s.Close(time.Now().Add(50 * time.Millisecond)) {
		t.Fatal("Close reported everything written while the reader is stalled")
	}
	if s.Lost() < 9000 {
		t.Fatalf("lost %d lines, want most of 10000 with a 1 KiB queue", s.Lost())
	}
	close(b.release) // the writer goroutine ends once its write returns
	<-s.done
}

func TestDropsAreReportedWhenTheReaderIsBack(t *testing.T) {
	b := &blocked{release: make(chan struct{})}
	s := New(b, 100)
	s.SetNotice(func(n int) []byte { return []byte("dropped " + strconv.Itoa(n) + "\n") })
	s.Write([]byte("first\n"))
	// Wait until the writer holds "first" in its blocked write; then fill.
	time.Sleep(20 * time.Millisecond)
	for i := 0; i < 50; i++ {
		s.Write([]byte("0123456789\n"))
	}
	close(b.release)
	if !s.Close(time.Now().Add(5 * time.Second)) {
		t.Fatal("Close did not finish with the reader back")
	}
	out := b.got.String()
	if !strings.HasPrefix(out, "first\n") || !strings.Contains(out, "dropped ") {
		t.Fatalf("output %q: want the first line, then a notice of the dropped lines", out)
	}
	if got := strings.Count(out, "0123456789\n"); got == 0 || got > 9 {
		t.Fatalf("%d queued lines written, want what fits in 100 bytes", got)
	}
}

// TestAGoneReaderEndsTheWriting: after EPIPE nothing more is written, so no
// further write can raise SIGPIPE.
func TestAGoneReaderEndsTheWriting(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	r.Close()
	defer w.Close()
	c := &counting{w: w}
	s := New(c, 0)
	for i := 0; i < 100; i++ {
		s.Write([]byte("line\n"))
		time.Sleep(time.Millisecond)
	}
	s.Close(time.Now().Add(5 * time.Second))
	if c.n != 1 {
		t.Fatalf("%d writes reached the broken pipe, want 1", c.n)
	}
	if s.Lost() != 100 {
		t.Fatalf("lost %d, want 100", s.Lost())
	}
}

type counting struct {
	w *os.File
	n int
}

func (c *counting) Write(p []byte) (int, error) {
	c.n++
	n, err := c.w.Write(p)
	if err != nil && !errorsIsEPIPE(err) {
		panic(err)
	}
	return n, err
}

func errorsIsEPIPE(err error) bool {
	pe, ok := err.(*os.PathError)
	return ok && pe.Err == syscall.EPIPE
}

func TestCloseWritesEverything(t *testing.T) {
	var buf bytes.Buffer
	s := New(&buf, 0)
	for i := 0; i < 1000; i++ {
		s.Write([]byte("x\n"))
	}
	if !s.Close(time.Now().Add(5 * time.Second)) {
		t.Fatal("Close did not write everything")
	}
	if buf.Len() != 2000 || s.Lost() != 0 {
		t.Fatalf("wrote %d bytes, lost %d", buf.Len(), s.Lost())
	}
}

// TestALongLineGoesWhenTheReaderKeepsUp: a line longer than the queue is
// written when nothing waits before it.
func TestALongLineGoesWhenTheReaderKeepsUp(t *testing.T) {
	var buf bytes.Buffer
	s := New(&buf, 100)
	long := bytes.Repeat([]byte("x"), 1000)
	s.Write(long)
	if !s.Close(time.Now().Add(5 * time.Second)) {
		t.Fatal("Close did not write everything")
	}
	if buf.Len() != 1000 || s.Lost() != 0 {
		t.Fatalf("wrote %d bytes, lost %d; want the whole line", buf.Len(), s.Lost())
	}
}
