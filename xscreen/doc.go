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
// so a read takes about one round trip. They come through MIT-SHM where the
// server has version 1.2: the Conn hands the X server a sealed memfd of four
// strips over the socket (ShmAttachFd), the server writes each strip into it,
// and nothing is copied through the socket or allocated. The memory has no
// name (no System V id) another process could attach. Otherwise GetImage
// brings them through the socket; Conn.SHM says which and why. Screenshots
// (Capture) always read through the socket: any X client may name a Conn's
// segment in its own requests and write into it. Depths 24 and 30 at 32 bits
// per pixel and 16 at 16 bits are decoded; others are refused with an error.
//
// The X extensions are enabled without xgb's Init functions, which write
// xgb's process-wide tables of event decoders on every call while the readers
// of other connections read them (enableExtensions).
package xscreen
