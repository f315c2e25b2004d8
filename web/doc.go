// Package web is the browser view: an HTTP(S) server that serves the noVNC
// client's files (Debian's novnc package, or a directory the user names), a page
// at / that connects by itself, and a WebSocket endpoint, /websockify, that it
// bridges to the session's own x11vnc. There is no websockify process and no
// target the page can choose: the bridge dials only the VNC address the session
// planned.
//
// The password is VNC's own: the page hands it to noVNC, which answers x11vnc's
// DES challenge, so it never crosses the wire in clear, never appears in a URL and
// never reaches this package. Without a VNC password the view listens on
// 127.0.0.1 only, as VNC does.
//
// Names: the view answers only requests whose Host is one of its own names
// (internal/netguard: loopback names, IP addresses, the host name, the listen
// address, Options.Hosts), so a page reached by DNS rebinding gets 421; and no
// answer may be framed.
//
// Bounds: at most MaxViewers bridged viewers and MaxConns HTTP connections at
// once (32 from one address, idle ones giving way to newcomers), header and dial
// timeouts, a deadline on VNC's login through the bridge (relayed and followed,
// RFB 3.3 to 3.8, so that the bridge knows the outcome), a wait after wrong
// passwords from one address, WebSocket keep-alive pings, a read limit on the
// viewer's messages, and an Origin check (a browser page from another site cannot
// open the bridge). The view reads the supervisor only through its status
// snapshots: a viewer arriving while x11vnc restarts is told so (503) and the
// page retries. Collectors give /metrics the connections and bytes, and Ready
// gives /readyz the view's state.
//
// With Options.Smooth (package stream's endpoint) / is the smooth view's page,
// which sends a browser that cannot decode H.264 with WebCodecs to noVNC's page
// on /novnc, and /stream gets the bridge's checks before the endpoint sees it.
//
// Files are served through an os.Root: no name escapes the web root, symbolic
// links are refused, directories are not listed, names with a component that
// starts with a dot are not served, and browsers revalidate what they cache.
package web
