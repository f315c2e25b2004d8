// Package watchdog notices a frozen or black screen: an app whose process is
// alive but whose picture has stopped changing (a hung render loop, a driver
// stuck "reallocating render targets") or shows nothing but black.
//
// Run samples screen 0 of the display every Interval with GetImage (in strips
// of at most 4 MiB), hashes the pixels and checks whether all of them are
// black. When the hash has not changed, or every sample was black, for Timeout,
// it calls OnFrozen once; a change of the picture re-arms it. The clock starts
// again whenever the app (re)starts, so a restarted app gets a whole Timeout.
// A frozen screen is therefore reported at most Timeout plus one Interval after
// its last change.
//
// The decision (observe) is a pure function of the samples and the time, tested
// with made-up samples; the tests in cmd/xinit-go run it against a real Xvfb
// with glxgears stopped by SIGSTOP, and with a black screen.
//
// It reads the supervisor only through its status snapshots, and acts through
// the OnFrozen callback (which the caller wires to Supervisor.Fail or Restart).
// It never runs on the supervisor's loop: a stalled X server stalls only it.
package watchdog
