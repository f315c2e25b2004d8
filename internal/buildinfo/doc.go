// Package buildinfo says what a binary is: its version (a tag through
// git describe, stamped at link time, or the module version of a `go install`),
// the commit it was built from, the Go version, and whether cgo (which NVML
// needs) was on. It reads only the binary's own build information.
package buildinfo
