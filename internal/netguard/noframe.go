package netguard

import "net/http"

// NoFraming keeps every answer of h out of other sites' frames (a page framed
// invisibly could take a viewer's clicks and keys) and its types from being
// sniffed.
func NoFraming(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Frame-Options", "DENY")
		w.Header().Set("Content-Security-Policy", "frame-ancestors 'none'")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		h.ServeHTTP(w, r)
	})
}
