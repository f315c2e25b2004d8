package web

import (
	"net/http"

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
	if !s.webSocketFromOurPage(w, r, log, "smooth view") || !s.takeViewerSlot(w, log, "smooth view") {
		return
	}
	defer s.leaveViewerSlot()
	s.o.Smooth.ServeHTTP(w, r)
}
