package netguard

import (
	"fmt"
	"net"
	"net/http"
	"strings"
)

// Hosts is the set of names a server answers to.
type Hosts struct {
	names    map[string]bool
	suffixes []string // ".example.com" from "*.example.com"
	setting  string   // the setting that adds names, for the refusal's advice
}

// NewHosts is the set for a server listening on listen (HOST:PORT or :PORT) on a
// machine called hostname, plus extra names ("name" or "*.domain"). setting
// names the variable a user sets to add one, for the refusal's message.
func NewHosts(listen, hostname string, extra []string, setting string) *Hosts {
	h := &Hosts{names: map[string]bool{"localhost": true, "localhost.localdomain": true}, setting: setting}
	if host, _, err := net.SplitHostPort(listen); err == nil && host != "" {
		h.names[normal(host)] = true
	}
	if hostname != "" {
		h.names[normal(hostname)] = true
	}
	for _, e := range extra {
		e = normal(e)
		if rest, ok := strings.CutPrefix(e, "*."); ok && rest != "" {
			h.suffixes = append(h.suffixes, "."+rest)
		} else if e != "" {
			h.names[e] = true
		}
	}
	return h
}

func normal(name string) string { return strings.TrimSuffix(strings.ToLower(name), ".") }

// Allowed reports whether a request's Host (name or address, with or without a
// port) is one of this server's names.
func (h *Hosts) Allowed(hostport string) bool {
	host := hostport
	if hh, _, err := net.SplitHostPort(hostport); err == nil {
		host = hh
	}
	host = normal(strings.TrimSuffix(strings.TrimPrefix(host, "["), "]"))
	if host == "" {
		return false
	}
	// An address literal names no domain a page could rebind.
	if ip, _, _ := strings.Cut(host, "%"); net.ParseIP(ip) != nil {
		return true
	}
	// RFC 6761: browsers resolve every name under .localhost to loopback themselves.
	if h.names[host] || strings.HasSuffix(host, ".localhost") {
		return true
	}
	for _, s := range h.suffixes {
		if strings.HasSuffix(host, s) {
			return true
		}
	}
	return false
}

// Handler answers 421 Misdirected Request, with a body that says how to allow
// the name, to a request for a Host that is not one of the set's.
func (h *Hosts) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if h.Allowed(r.Host) {
			next.ServeHTTP(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Connection", "close")
		w.WriteHeader(http.StatusMisdirectedRequest)
		fmt.Fprintf(w, "xinit-go: the host %q is not one of this server's names (a web page that another site's name leads here is refused); to reach it by that name, add the name to %s, e.g. %s=view.example.com\n",
			r.Host, h.setting, h.setting)
	})
}
