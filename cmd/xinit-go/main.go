package main

import (
	"context"
	"os"
)

func main() {
	tuneGC(os.Getenv)
	os.Exit(run(context.Background(), os.Args[1:], host(), os.Stdout, os.Stderr))
}
