package main

import (
	"fmt"
	"io"
	"os/exec"
	"strings"

	"github.com/xinit-go/xinit-go/supervisor"
)

// exitNotFound: the app (or a mistyped subcommand) was not found, as a shell says.
const exitNotFound = supervisor.ExitNotFound

// subcommands are the words run takes as a subcommand rather than an app.
var subcommands = []string{"check", "xorgconf", "health", "summary", "version", "help"}

// unknownCommand reports a first argument that is neither a subcommand nor an
// app that can be found, such as a mistyped "chek", before anything starts: taken
// as the app it would start X and VNC, then fail with 127. An app named after `--`,
// or given as a path, is never second-guessed.
func unknownCommand(args []string, getenv func(string) string, stderr io.Writer) bool {
	if len(args) == 0 {
		return false
	}
	name := args[0]
	if name == "" || strings.HasPrefix(name, "-") || strings.Contains(name, "/") {
		return false
	}
	if lookPathIn(name, getenv("PATH")) {
		return false
	}
	fmt.Fprintf(stderr, "xinit-go: unknown command %q, and no app of that name in PATH; commands: %s "+
		"(xinit-go help); an app: xinit-go [flags] [--] APP [ARGS...], e.g. xinit-go -- glxgears\n",
		name, strings.Join(subcommands, ", "))
	return true
}

// lookPathIn says whether name is an executable in path (PATH's syntax).
func lookPathIn(name, path string) bool {
	if path == "" {
		path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	}
	for _, dir := range strings.Split(path, ":") {
		if dir == "" {
			dir = "."
		}
		if _, err := exec.LookPath(dir + "/" + name); err == nil {
			return true
		}
	}
	return false
}
