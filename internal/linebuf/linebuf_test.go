package linebuf

import (
	"strconv"
	"sync"
	"testing"
)

func TestRing(t *testing.T) {
	r := New(3)
	if r.Text() != "" || len(r.Lines()) != 0 {
		t.Fatal("a new ring holds lines")
	}
	for i := 1; i <= 5; i++ {
		r.Add(strconv.Itoa(i))
	}
	if got := r.Text(); got != "3\n4\n5\n" {
		t.Fatalf("Text = %q, want the last 3", got)
	}
	l := r.Lines()
	l[0] = "changed"
	if r.Lines()[0] != "3" {
		t.Fatal("Lines is not a copy")
	}
	r.Reset()
	if r.Text() != "" {
		t.Fatal("Reset kept lines")
	}
}

func TestRingConcurrent(t *testing.T) {
	r := New(10)
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 1000; j++ {
				r.Add("x")
				_ = r.Text()
			}
		}()
	}
	wg.Wait()
	if n := len(r.Lines()); n != 10 {
		t.Fatalf("%d lines, want 10", n)
	}
}
