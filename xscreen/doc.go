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
// Pixels come in ZPixmap format, in strips of 256 KiB, four asked for ahead
// so a read takes about one round trip. Where the X server shares this
// process's IPC namespace they come through MIT-SHM: the server writes each
// strip into one of four System V segments of the Conn's (0600, removed as
// soon as both sides hold them), and nothing is copied through the socket or
// allocated. Elsewhere, or without the extension, GetImage brings them through
// the socket. Depths 24 and 30 at 32 bits per pixel and 16 at 16 bits are
// decoded; others are refused with an error.
//
// The X extensions are enabled without xgb's Init functions, which write
// xgb's process-wide tables of event decoders on every call while the readers
// of other connections read them (enableExtension).
package xscreen
