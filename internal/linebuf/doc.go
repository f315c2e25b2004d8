// Package linebuf keeps the last lines of a stream: a service's output for the
// failure bundle, the X server's lines for its error report.
package linebuf
