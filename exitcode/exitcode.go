package exitcode

import "strings"

// The codes xinit-go decides; the rest are the app's own, or 128+N when a
// signal N killed it.
const (
	// Unavailable (EX_UNAVAILABLE): the requested backend cannot run here, or
	// the GPU was required and the app would render in software.
	Unavailable = 69
	// Failed: a required service never became ready or spent its restart budget,
	// or the session failed otherwise.
	Failed = 70
	// Frozen (EX_TEMPFAIL): the watchdog ended a frozen or black screen.
	Frozen = 75
	// NoFrame: with XINIT_APP_READY=frame, the app drew no frame that is not
	// entirely black within XINIT_APP_READY_TIMEOUT.
	NoFrame = 79
	// Config (EX_CONFIG): bad configuration or environment; nothing was started.
	Config = 78
	// Timeout: the app outlived XINIT_APP_TIMEOUT (as timeout(1) reports).
	Timeout = 124
	// CannotRun and NotFound: the app could not be executed, or was not found
	// (as a shell reports).
	CannotRun = 126
	NotFound  = 127
)

// Row is one line of the README's table.
type Row struct {
	Code, Meaning string
}

// Table is the contract's table, in the README's order.
var Table = []Row{
	{"the app's own", "the app exited and its restart policy does not restart it"},
	{"128+N", "the app was killed by signal N"},
	{"124", "the app outlived `XINIT_APP_TIMEOUT`"},
	{"126, 127", "the app could not be executed, or was not found (as a shell reports)"},
	{"78", "invalid configuration or environment value: nothing was started"},
	{"69", "the requested backend is unavailable (no GPU, MIG mode, missing or mismatched X driver), or, with `XINIT_REQUIRE_GPU=1`, the GL renderer the app would get is software (llvmpipe, softpipe, swrast), or every Vulkan device it would see is a CPU (lavapipe): the app never started, and the log says which library answered and what to set"},
	{"75", "the screen was frozen or entirely black for `XINIT_FREEZE_TIMEOUT` and `XINIT_FREEZE_ACTION=fail`, or slow (fewer than `XINIT_SLOW_FPS` updates a second over `XINIT_SLOW_FOR`) and `XINIT_SLOW_ACTION=fail` (or `restart` with the app's restart budget spent). 75 is sysexits' EX_TEMPFAIL: a hang is often transient (a driver, a GPU), so CI may retry on it (GitLab's `retry: exit_codes: [75]`), unlike the app's own failures"},
	{"79", "with `XINIT_APP_READY=frame`, the app drew no frame that was not entirely black within `XINIT_APP_READY_TIMEOUT` of its start: it hung while loading, or draws nothing on this display, or the X server stopped answering (the reason says which)"},
	{"70", "a required service (the X server; VNC when there is no app) never became ready or used up its restart budget; or the app, under `XINIT_APP_RESTART=always`, used up its budget with a clean exit (a session that failed never exits 0)"},
}

// Markdown is Table as the README prints it.
func Markdown() string {
	var b strings.Builder
	b.WriteString("| code | meaning |\n|---|---|\n")
	for _, r := range Table {
		b.WriteString("| " + r.Code + " | " + r.Meaning + " |\n")
	}
	return b.String()
}
