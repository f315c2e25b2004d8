package health

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"go.uber.org/zap/zaptest"

	"github.com/xinit-go/xinit-go/supervisor"
)

func TestGLInStatusAndMetrics(t *testing.T) {
	st := supervisor.Status{Services: []supervisor.ServiceStatus{svc("x", "required", supervisor.Ready), svc("gl", "optional", supervisor.Done)}}
	var gl *GL
	info := Info{GL: func() *GL { return gl }}
	s, err := Listen(Options{Addr: "127.0.0.1:0"}, func() supervisor.Status { return st }, info, zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	s.Start()
	defer s.Close(0)
	get := func(path string) string {
		t.Helper()
		req, _ := http.NewRequestWithContext(context.Background(), "GET", "http://"+s.Addr()+path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	if m := get("/metrics"); strings.Contains(m, "xinit_gl_renderer_info{") || !strings.Contains(m, `xinit_service_up{service="gl"} 1`) {
		t.Fatalf("before a result:\n%s", m)
	}
	if strings.Contains(get("/status"), `"gl":`) {
		t.Fatal("/status shows a GL result before any")
	}
	gl = &GL{Renderer: "llvmpipe (LLVM 15.0.6, 256 bits)", Vendor: "Mesa/X.org", Version: "4.5 (Compatibility Profile) Mesa 22.3.6", Direct: true, Software: true}
	want := `xinit_gl_renderer_info{renderer="llvmpipe (LLVM 15.0.6, 256 bits)",software="true",vendor="Mesa/X.org",version="4.5 (Compatibility Profile) Mesa 22.3.6"} 1`
	if m := get("/metrics"); !strings.Contains(m, want) {
		t.Fatalf("want %s in\n%s", want, m)
	}
	var doc struct {
		GL *GL `json:"gl"`
	}
	if err := json.Unmarshal([]byte(get("/status")), &doc); err != nil || doc.GL == nil || *doc.GL != *gl {
		t.Fatalf("%v %+v", err, doc.GL)
	}
}
