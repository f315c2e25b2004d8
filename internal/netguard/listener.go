package netguard

import (
	"net"
	"net/http"
	"sync"
	"time"
)

// Limits bound a Listener.
type Limits struct {
	// Max is the number of connections open at once.
	Max int
	// PerClient is the number from one client address; 0 means Max.
	PerClient int
}

// newGrace is how long a connection that has sent no request yet keeps its
// slot against a newcomer (a TLS handshake or a request on its way).
const newGrace = time.Second

// Listener is a net.Listener with Limits. Give the http.Server ConnState so
// that it knows which connections are idle.
type Listener struct {
	net.Listener
	lim   Limits
	now   func() time.Time
	mu    sync.Mutex
	conns map[*conn]struct{}
	per   map[string]int
}

// NewListener bounds ln.
func NewListener(ln net.Listener, lim Limits) *Listener {
	if lim.PerClient <= 0 || lim.PerClient > lim.Max {
		lim.PerClient = lim.Max
	}
	return &Listener{Listener: ln, lim: lim, now: time.Now, conns: map[*conn]struct{}{}, per: map[string]int{}}
}

type conn struct {
	net.Conn
	l      *Listener
	client string
	// guarded by l.mu
	state http.ConnState
	since time.Time
}

func (c *conn) Close() error {
	c.l.remove(c)
	return c.Conn.Close()
}

// clientOf is the address a client's connections are counted under; "" for a
// Unix socket, whose clients are not told apart.
func clientOf(a net.Addr) string {
	if t, ok := a.(*net.TCPAddr); ok {
		return t.IP.String()
	}
	return ""
}

// Accept returns the next connection within the limits, making room by closing
// an idle one when it can, and closing the newcomer when it cannot.
func (l *Listener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		nc, victims := l.admit(c)
		for _, v := range victims {
			v.Conn.Close()
		}
		if nc != nil {
			return nc, nil
		}
		c.Close()
	}
}

func (l *Listener) admit(c net.Conn) (*conn, []*conn) {
	l.mu.Lock()
	defer l.mu.Unlock()
	client := clientOf(c.RemoteAddr())
	now := l.now()
	var victims []*conn
	if client != "" && l.per[client] >= l.lim.PerClient {
		v := l.idlest(client, now)
		if v == nil {
			return nil, nil
		}
		l.removeLocked(v)
		victims = append(victims, v)
	}
	if len(l.conns) >= l.lim.Max {
		v := l.idlest("", now)
		if v == nil {
			return nil, victims
		}
		l.removeLocked(v)
		victims = append(victims, v)
	}
	nc := &conn{Conn: c, l: l, client: client, state: http.StateNew, since: now}
	l.conns[nc] = struct{}{}
	l.per[client]++
	return nc, victims
}

// idlest is the connection (of client, or of anyone when "") that has waited
// longest without a request: idle keep-alive, or new past newGrace.
func (l *Listener) idlest(client string, now time.Time) *conn {
	var best *conn
	for c := range l.conns {
		if client != "" && c.client != client {
			continue
		}
		if c.state != http.StateIdle && (c.state != http.StateNew || now.Sub(c.since) < newGrace) {
			continue
		}
		if best == nil || c.since.Before(best.since) {
			best = c
		}
	}
	return best
}

func (l *Listener) remove(c *conn) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.removeLocked(c)
}

func (l *Listener) removeLocked(c *conn) {
	if _, ok := l.conns[c]; !ok {
		return
	}
	delete(l.conns, c)
	if l.per[c.client]--; l.per[c.client] <= 0 {
		delete(l.per, c.client)
	}
}

// ConnState is for http.Server.ConnState: it tells the listeners which
// connections are idle (any Listener's connections: one server may serve
// several). A TLS connection is followed to the one under it.
func ConnState(nc net.Conn, st http.ConnState) {
	for {
		if c, ok := nc.(*conn); ok {
			c.l.mu.Lock()
			if c.state != st {
				c.state, c.since = st, c.l.now()
			}
			c.l.mu.Unlock()
			return
		}
		u, ok := nc.(interface{ NetConn() net.Conn })
		if !ok {
			return
		}
		nc = u.NetConn()
	}
}

// Open is the number of connections open now.
func (l *Listener) Open() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.conns)
}
