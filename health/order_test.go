package health

import (
	"io"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/xinit-go/xinit-go/internal/prom"
)

func TestMetricsStartWithOwnFamilies(t *testing.T) {
	own := prom.NewGauge("xinit_test_up", "test")
	rec := httptest.NewRecorder()
	ownFirst(func() []prom.Collector { return []prom.Collector{prom.GoCollector{}, own} }).
		ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	b, _ := io.ReadAll(rec.Body)
	if !strings.HasPrefix(string(b), "# HELP xinit_test_up") || !strings.Contains(string(b), "go_goroutines") {
		t.Fatalf("/metrics does not start with xinit's own families:\n%s", b)
	}
}
