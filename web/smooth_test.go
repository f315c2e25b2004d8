package web

import (
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
)

// With the smooth view, / is its page and noVNC's page moves to /novnc; its
// WebSocket gets the bridge's checks before the handler sees a request.
func TestSmoothRoutes(t *testing.T) {
	var reached atomic.Int32
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reached.Add(1)
		w.WriteHeader(http.StatusTeapot)
	})
	s, _ := start(t, Options{Smooth: h, MaxViewers: 1})
	base := "http://" + s.Addr()
	c := &http.Client{}
	if code, body := get(t, c, base+"/"); code != 200 || !strings.Contains(body, "xinit-smooth.js") {
		t.Errorf("/: %d, not the smooth page", code)
	}
	if code, body := get(t, c, base+"/xinit-smooth.js"); code != 200 || !strings.Contains(body, "VideoDecoder") {
		t.Errorf("/xinit-smooth.js: %d", code)
	}
	if code, body := get(t, c, base+"/novnc"); code != 200 || !strings.Contains(body, "xinit-view.js") {
		t.Errorf("/novnc: %d, not noVNC's page", code)
	}
	if code, _ := get(t, c, base+"/stream"); code != http.StatusUpgradeRequired {
		t.Errorf("/stream without an upgrade: %d", code)
	}
	ws := func(origin string) int {
		req, _ := http.NewRequest("GET", base+"/stream", nil)
		req.Header.Set("Upgrade", "websocket")
		req.Header.Set("Connection", "Upgrade")
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := ws("http://evil.example"); code != http.StatusForbidden || reached.Load() != 0 {
		t.Errorf("another origin: %d, handler reached %d times", code, reached.Load())
	}
	if code := ws(base); code != http.StatusTeapot || reached.Load() != 1 {
		t.Errorf("this origin: %d, handler reached %d times", code, reached.Load())
	}

	// Without it, / stays noVNC's page.
	s2, _ := start(t, Options{})
	if code, body := get(t, c, "http://"+s2.Addr()+"/"); code != 200 || !strings.Contains(body, "xinit-view.js") {
		t.Errorf("/ without the smooth view: %d, not noVNC's page", code)
	}
	if code, _ := get(t, c, "http://"+s2.Addr()+"/stream"); code != http.StatusNotFound {
		t.Errorf("/stream without the smooth view: %d", code)
	}
}
