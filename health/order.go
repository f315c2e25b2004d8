package health

import (
	"net/http"
	"sort"
	"strings"

	"github.com/xinit-go/xinit-go/internal/prom"
)

// ownFirst serves the collectors' metrics with xinit-go's own families (xinit_*)
// before the Go runtime's and the process's, so that /metrics starts with what a
// person came to read; within each part the order (by name) stays.
func ownFirst(collectors func() []prom.Collector) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		ms := prom.Gather(collectors()...)
		sort.SliceStable(ms, func(i, j int) bool {
			return strings.HasPrefix(ms[i].Name(), "xinit_") && !strings.HasPrefix(ms[j].Name(), "xinit_")
		})
		w.Header().Set("Content-Type", prom.ContentType)
		w.Header().Set("Cache-Control", "no-store")
		_ = prom.Write(w, ms)
	})
}
