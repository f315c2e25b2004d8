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
	// Loopback is a reserve of connections for clients at 127.0.0.1 or ::1
	// (the container's own probes), beyond Max and PerClient: no client on the
	// network can take them. 0 means none: loopback counts like any client.
	Loopback int
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
	loopN int // connections in the loopback reserve
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
	loop   bool // in the loopback reserve
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
	if l.lim.Loopback > 0 && isLoopback(client) {
		if l.loopN >= l.lim.Loopback {
			v := l.idlest(func(o *conn) bool { return o.loop }, now)
			if v == nil {
				return nil, nil
			}
			l.removeLocked(v)
			victims = append(victims, v)
		}
		nc := &conn{Conn: c, l: l, client: client, loop: true, state: http.StateNew, since: now}
		l.conns[nc] = struct{}{}
		l.loopN++
		return nc, victims
	}
	if client != "" && l.per[client] >= l.lim.PerClient {
		v := l.idlest(func(o *conn) bool { return o.client == client && !o.loop }, now)
		if v == nil {
			return nil, nil
		}
		l.removeLocked(v)
		victims = append(victims, v)
	}
	if len(l.conns)-l.loopN >= l.lim.Max {
		v := l.idlest(func(o *conn) bool { return !o.loop }, now)
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

// isLoopback: 127.0.0.1 or ::1, where this host's own probes come from (the
// rest of 127/8 is not the reserve's).
func isLoopback(client string) bool {
	ip := net.ParseIP(client)
	return ip != nil && (ip.Equal(net.IPv4(127, 0, 0, 1)) || ip.Equal(net.IPv6loopback))
}

// idlest is the connection of those which that has waited longest without a
// request: idle keep-alive, or new past newGrace.
func (l *Listener) idlest(which func(*conn) bool, now time.Time) *conn {
	var best *conn
	for c := range l.conns {
		if !which(c) {
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
	if c.loop {
		l.loopN--
		return
	}
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
