// Package testutil holds what the tests share: the stand-in programs (the test
// binary itself, re-executed with XINIT_TEST_HELPER set, as os/exec's tests do),
// building the real xinit-go binary, running it as PID 1 in a PID namespace, and
// one deadline helper for waiting on explicit conditions.
//
// A test that needs a program or root calls Need or NeedRoot: in CI (CI=true) a
// missing prerequisite fails the test; elsewhere it skips with a loud reason.
package testutil
