package soak

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"
)

// TestSamplerLeavesNoConnection: the sampler's own requests must not stay in the
// files and goroutines it counts. A client that keeps its connections alive (the
// default) leaves the server's end open for the idle timeout, which is how a
// short soak once read one file and one goroutine more at its end than after
// its warm-up; get closes from the client's side and quiet waits for the
// server's end to go.
func TestSamplerLeavesNoConnection(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("ok"))
	}))
	defer srv.Close()
	addr := srv.Listener.Addr().String()
	pid := os.Getpid()

	// What HealthConns sees: a kept-alive connection is counted, once, on the
	// server's side (the client's end has another local port).
	keep := &http.Client{}
	resp, err := keep.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.ReadAll(resp.Body) // read to the end, or the client does not keep it
	resp.Body.Close()
	if n := HealthConns(pid, addr); n != 1 {
		t.Fatalf("a kept-alive connection: healthConns = %d, want 1", n)
	}
	keep.CloseIdleConnections()

	r := &runner{o: Options{PID: pid, Health: addr}, client: &http.Client{Timeout: 5 * time.Second}}
	for i := 0; i < 20; i++ {
		if code, _, err := r.get("/"); err != nil || code != 200 {
			t.Fatalf("get: %d %v", code, err)
		}
		r.quiet()
		if n := HealthConns(pid, addr); n != 0 {
			t.Fatalf("after get %d and quiet: %d connections of the server still open", i, n)
		}
	}
}
