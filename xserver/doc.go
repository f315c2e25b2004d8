// Package xserver owns the X server as a service spec: Xvfb's or Xorg's command
// line, readiness through -displayfd (the display number is written only once
// the screens exist; end of file is a failure reported with the server's (EE)
// lines), the screen's size read back over the X protocol and compared with the
// request, stale locks and sockets removed only when their server is dead, and
// the X authority file with its MIT-MAGIC-COOKIE-1. The session names the
// service and gives its environment, role and restarts.
package xserver
