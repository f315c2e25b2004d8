package main

import (
	"context"
	"os"
)

func main() {
	sys := host()
	// A session is PID 1: from here on a signal is an event, never Go's default
	// action, which for PID 1 of a namespace is exit(2) (the kernel drops the
	// re-raised signal). Only the runtime's and the packages' start come before.
	if isSession(os.Args[1:]) {
		sys.signals = sys.catchSignals()
	}
	tuneGC(os.Getenv)
	os.Exit(run(context.Background(), os.Args[1:], sys, os.Stdout, os.Stderr))
}
