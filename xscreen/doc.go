// Package xscreen reads the pixels of an X display: it owns xinit-go's own
// connection to its X server (github.com/jezek/xgb over the display's Unix
// socket, with the session's cookie in hand), the screen's pixel formats and
// their decoding. Screenshots, the frozen-screen watchdog and any later capture
// of the display read the screen through it, and through nothing else.
//
// Every request runs under a deadline: Dial, Conn.Read and Capture take a
// context and a Conn's own timeout, whichever ends first. When either ends
// before the X server has answered, the socket is closed, which ends every
// reply xgb waits for: a stalled X server (stopped, or stuck in a GPU) cannot
// hold the caller longer than the deadline, and the error wraps
// context.DeadlineExceeded (or context.Canceled) so a caller can tell a stall
// from a server that is gone. A Conn whose request timed out is closed for
// good; dial again.
//
// Pixels come with GetImage in ZPixmap format, in strips of at most 4 MiB so a
// large screen needs no huge reply. Depths 24 and 30 at 32 bits per pixel and
// 16 at 16 bits are decoded; others are refused with an error.
package xscreen
