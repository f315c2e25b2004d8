// Package watchdog notices a frozen or black screen: an app whose process is
// alive but whose picture has stopped changing (a hung render loop, a driver
// stuck "reallocating render targets") or shows nothing but black.
//
// Run samples screen 0 of the display through package xscreen, waiting from
// half to one and a half Interval between samples (drawn at random, so a picture
// that changes on a clock, a spinner turning once per Interval, is not seen at
// the same phase every time), reads it with GetImage (in strips of at most
// 4 MiB), hashes the pixels and checks whether all of them are black. When the
// hash has not changed, or every sample was black, for Timeout, it looks
// again up to three times at random moments within one more Interval (a
// picture that changes on a clock may have shown the same frame to every
// sample), and if none differs calls OnFrozen once; a change of the picture
// re-arms it. The clock starts again
// whenever the app (re)starts, so a restarted app gets a whole Timeout.
//
// Each sample, connecting included, runs under SampleTimeout. A sample the X
// server does not answer in time (stopped, stuck in a GPU, its accept queue
// full) counts as an unchanged picture: a hung X server is reported as a frozen
// screen, with Frozen.Stalled set. A frozen screen is therefore reported at
// most Timeout plus two and a half Intervals plus SampleTimeout after its last
// change (the confirmations' Interval included).
//
// The decision (observe) is a pure function of the samples and the time, tested
// with made-up samples (a clock-timed spinner among them); a fake X server that
// stops answering tests the deadline; the tests in cmd/xinit-go run it against
// a real Xvfb with glxgears stopped by SIGSTOP, with Xvfb itself stopped, and
// with a black screen.
//
// It reads the supervisor only through its status snapshots, and acts through
// the OnFrozen callback (which the caller wires to Supervisor.Fail or Restart).
// It never runs on the supervisor's loop: a stalled X server stalls only it.
package watchdog
