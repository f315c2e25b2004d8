package health

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/xinit-go/xinit-go/internal/prom"
	"github.com/xinit-go/xinit-go/supervisor"
)

// TestExtraReadiness: /readyz waits for a component added with AddReady (the
// browser view), and /metrics shows collectors added with Register.
func TestExtraReadiness(t *testing.T) {
	status := func() supervisor.Status {
		return supervisor.Status{Services: []supervisor.ServiceStatus{{Name: "x", Role: "required", State: supervisor.Ready}}}
	}
	s, err := Listen(Options{Addr: "127.0.0.1:0"}, status, Info{}, zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	var webUp atomic.Bool
	s.AddReady("web", func() error {
		if !webUp.Load() {
			return errors.New("not serving")
		}
		return nil
	})
	c := prom.NewCounter("xinit_test_total", "test")
	c.Add(3)
	if err := s.Register(c); err != nil {
		t.Fatal(err)
	}
	s.Start()
	defer s.Close(time.Second)
	get := func(path string) (int, string) {
		resp, err := http.Get("http://" + s.Addr() + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get("/readyz"); code != 503 || !strings.Contains(body, "web: not serving") {
		t.Errorf("readyz with the web view down: %d %q", code, body)
	}
	if _, body := get("/status"); !strings.Contains(body, `"ready": false`) {
		t.Errorf("status with the web view down: %s", body)
	}
	webUp.Store(true)
	if code, body := get("/readyz"); code != 200 {
		t.Errorf("readyz with the web view up: %d %q", code, body)
	}
	if _, body := get("/metrics"); !strings.Contains(body, "xinit_test_total 3") {
		t.Error("metrics lack the registered collector")
	}
}
