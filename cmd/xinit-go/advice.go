package main

import (
	"os"
	"regexp"

	"golang.org/x/sys/unix"

	"github.com/xinit-go/xinit-go/config"
)

// useXvfb matches the preflight's advice to switch to the xvfb backend, with its
// explanation in parentheses when there is one.
var useXvfb = regexp.MustCompile(`,? or use XINIT_BACKEND=xvfb( \([^)]*\))?`)

// preflightFor drops the advice to use XINIT_BACKEND=xvfb from the nvidia
// preflight's text when that is already the backend asked for.
func preflightFor(backend config.Backend, text string) string {
	if backend != config.BackendXvfb {
		return text
	}
	return useXvfb.ReplaceAllString(text, "")
}

// noGPUXorgConfHint is added to xorgconf's error when the nvidia backend cannot
// be planned: a machine without a GPU can still print the dummy driver's file.
const noGPUXorgConfHint = "; without an NVIDIA GPU, XINIT_BACKEND=dummy xinit-go xorgconf prints the dummy driver's xorg.conf"

// isTerminal says whether f is a terminal: colours only go there, never into a
// file or a pipe.
func isTerminal(f *os.File) bool {
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}
