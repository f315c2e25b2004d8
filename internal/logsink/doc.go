// Package logsink is the writer between xinit-go's logger and its standard
// error. Whoever reads that stream (Docker's or Kubernetes' log pipeline, a
// terminal, `| head`) can go away or stop reading; neither may stop PID 1. Write
// never blocks and never fails: it queues a copy and returns, and one goroutine
// writes the queue out. A queue that a stalled reader lets fill drops lines (and
// says how many once the reader is back); a reader that is gone for good (EPIPE)
// ends the writing, so no further write raises SIGPIPE.
package logsink
