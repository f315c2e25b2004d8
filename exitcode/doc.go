// Package exitcode is the one place the exit codes of xinit-go's contract are
// defined, with what each means. Every package that decides a code takes it from
// here, and the README's exit-code table is generated from Table (a test fails
// when they differ; `go test ./exitcode -update` rewrites it).
package exitcode
