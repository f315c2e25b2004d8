package web

import (
	"net/http"
	"strings"

	"go.uber.org/zap"
)

// pageRoutes adds the pages: noVNC's on /novnc, and on / the smooth view's
// when there is one (the page itself turns to noVNC in a browser without
// WebCodecs' H.264), else noVNC's; and the smooth view's WebSocket on /stream.
func (s *Server) pageRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /novnc", s.servePage("page/index.html"))
	if s.o.Smooth == nil {
		mux.HandleFunc("GET /{$}", s.servePage("page/index.html"))
		return
	}
	mux.HandleFunc("GET /{$}", s.servePage("page/smooth.html"))
	mux.HandleFunc("GET /xinit-smooth.js", s.servePage("page/smooth.js"))
	mux.HandleFunc("GET /stream", s.smooth)
}

// smooth applies the bridge's checks (a WebSocket, the same origin, a viewer
// slot) and hands the connection to the smooth view, which asks for the
// password itself.
func (s *Server) smooth(w http.ResponseWriter, r *http.Request) {
	log := s.log.With(zap.String("remote", r.RemoteAddr))
	if !strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
		w.Header().Set("Upgrade", "websocket")
		http.Error(w, "a WebSocket endpoint: open / in a browser", http.StatusUpgradeRequired)
		return
	}
	if !sameOrigin(r) {
		s.m.rejected.WithLabelValues(rejectOrigin).Inc()
		log.Warn("smooth view: refused a viewer from another origin", zap.String("origin", r.Header.Get("Origin")), zap.String("host", r.Host))
		http.Error(w, "origin not allowed", http.StatusForbidden)
		return
	}
	select {
	case s.viewers <- struct{}{}:
		defer func() { <-s.viewers }()
	default:
		s.m.rejected.WithLabelValues(rejectLimit).Inc()
		log.Warn("smooth view: too many viewers", zap.Int("max", s.o.MaxViewers))
		w.Header().Set("Retry-After", "5")
		http.Error(w, "too many viewers", http.StatusServiceUnavailable)
		return
	}
	s.o.Smooth.ServeHTTP(w, r)
}
