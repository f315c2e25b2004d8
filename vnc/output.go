package vnc

import (
	"strings"

	"go.uber.org/zap"
)

// output logs a line of x11vnc's output. Xlib's warning that the DPMS extension
// is missing comes with every session (the X servers run with -dpms, on purpose:
// a sleeping display throttles GL apps) and says nothing to act on, so it goes to
// the debug level.
func output(log *zap.Logger) func(string) {
	return func(line string) {
		if strings.Contains(line, `extension "DPMS" missing`) {
			log.Debug(line)
			return
		}
		log.Info(line)
	}
}
