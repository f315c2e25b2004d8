// Package soak drives a running xinit-go session through many restarts and
// samples xinit-go itself throughout: resident and anonymous memory, Go heap,
// goroutines, open files and the System V shared memory segments that the
// session's processes made. The benchmark (xinit-bench soak, thousands of
// restarts) and the short CI test (100 X restarts) share it.
//
// The session must run xinit-go as PID 1 of its own PID namespace with the app
// restarted always, a health address, and VNC on; Run kills the app (and, every
// so many app restarts, the X server) with SIGKILL, waits each time until the
// session is ready again, connects a VNC client and leaves, and scrapes /metrics
// and /status every sampling period.
package soak
