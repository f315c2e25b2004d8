// Package netguard is what xinit-go's HTTP servers (the browser view and the
// health server) accept from the network.
//
// Hosts answers only requests whose Host is one of this server's own names: a
// loopback name or any IP address literal, the machine's host name, the listen
// address, and the names the user adds (XINIT_WEB_HOSTS). A web page whose own
// name a visitor's browser resolves to this server (DNS rebinding) sends its own
// name as Host and gets 421, so it can neither read an answer nor open the
// VNC bridge. An IP address literal cannot be rebound: a page at http://IP/ is
// this server's own origin.
//
// Listener bounds the connections at once and those of one client address; when
// a bound is reached, an idle keep-alive connection (or one that has sent
// nothing for a second) gives up its slot to the newcomer, so idle connections
// cannot lock out a person or a probe. A connection past a bound with nothing
// to give way is closed at once: a flood costs accepts, not goroutines.
package netguard
