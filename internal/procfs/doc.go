// Package procfs reads the few parts of the proc file system that xinit-go needs:
// a process's stat line (state, parent, process group, flags, start time), its
// children, command line and environment, the boot time, and the System V shared
// memory table.
//
// Every read goes through an FS that names the root of a proc file system, so
// tests point it at fixture files under testdata/ and production uses Default
// ("/proc"). The package only reads; it never signals or waits for a process.
package procfs
