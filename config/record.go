package config

import (
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"time"
)

// checkRecord validates the recorder, bundle and watchdog settings together.
func (c *Config) checkRecord() []error {
	var errs []error
	if c.Backend == BackendNone {
		if c.Record != "" {
			errs = append(errs, fmt.Errorf("XINIT_RECORD=%q needs a display, but XINIT_BACKEND=none starts none; unset one of them", c.Record))
		}
		if c.FreezeTimeout != 0 {
			errs = append(errs, fmt.Errorf("XINIT_FREEZE_TIMEOUT=%s needs a display, but XINIT_BACKEND=none starts none; unset one of them, e.g. XINIT_FREEZE_TIMEOUT=0", c.FreezeTimeout))
		}
		if c.SlowFPS != 0 {
			errs = append(errs, fmt.Errorf("XINIT_SLOW_FPS=%g needs a display, but XINIT_BACKEND=none starts none; unset one of them, e.g. XINIT_SLOW_FPS=0", c.SlowFPS))
		}
		if c.AppReady == AppReadyFrame {
			errs = append(errs, errors.New("XINIT_APP_READY=frame waits for a frame on the display, but XINIT_BACKEND=none starts none; unset one of them, e.g. XINIT_APP_READY=start"))
		}
	}
	if len(c.App) == 0 {
		if c.SlowFPS != 0 {
			errs = append(errs, fmt.Errorf("XINIT_SLOW_FPS=%g judges the app's screen, but no app is given; give one, e.g. xinit-go -- ./simulator, or unset XINIT_SLOW_FPS", c.SlowFPS))
		}
		if c.AppReady == AppReadyFrame {
			errs = append(errs, errors.New("XINIT_APP_READY=frame waits for the app's first frame, but no app is given; give one, e.g. xinit-go -- ./simulator, or unset XINIT_APP_READY"))
		}
	}
	if secs := math.Ceil(c.SlowFor.Seconds()); c.SlowFPS > 0 && c.SlowFPS*secs <= 1 {
		// A slow screen updated at least once in the stretch, and fewer than
		// XINIT_SLOW_FPS times its seconds: at most once is no such number.
		example := fmt.Sprintf("XINIT_SLOW_FOR=%s", time.Duration(math.Ceil(2/c.SlowFPS))*time.Second)
		if 2/c.SlowFPS > (10 * time.Minute).Seconds() {
			example = "XINIT_SLOW_FPS=1"
		}
		errs = append(errs, fmt.Errorf("XINIT_SLOW_FPS=%g over XINIT_SLOW_FOR=%s is at most one update, but a screen with no update is static, not slow: the rule could never fire; ask for more, e.g. %s", c.SlowFPS, c.SlowFor, example))
	}
	if c.Record == "" && c.RecordLast != 0 {
		errs = append(errs, fmt.Errorf("XINIT_RECORD_LAST=%s needs XINIT_RECORD, the file to record into, e.g. XINIT_RECORD=/artifacts/run.mp4", c.RecordLast))
	}
	if c.Record != "" && c.Artifacts != "" && within(c.Record, c.Artifacts) {
		errs = append(errs, fmt.Errorf("XINIT_RECORD=%q is inside XINIT_ARTIFACTS=%q, where each bundle gets a copy of it; record elsewhere, e.g. XINIT_RECORD=/tmp/run.mp4", c.Record, c.Artifacts))
	}
	if c.Record != "" && c.RuntimeDir != "" && within(c.Record, c.RuntimeDir) {
		errs = append(errs, fmt.Errorf("XINIT_RECORD=%q is inside XINIT_RUNTIME_DIR=%q, which is private; record elsewhere, e.g. XINIT_RECORD=/artifacts/run.mp4", c.Record, c.RuntimeDir))
	}
	if c.Artifacts != "" && c.RuntimeDir != "" && within(c.Artifacts, c.RuntimeDir) {
		errs = append(errs, errors.New("XINIT_ARTIFACTS is inside XINIT_RUNTIME_DIR, which is private; choose another directory, e.g. XINIT_ARTIFACTS=/artifacts"))
	}
	return errs
}

// within reports whether path is dir or below it.
func within(path, dir string) bool {
	rel, err := filepath.Rel(filepath.Clean(dir), filepath.Clean(path))
	return err == nil && rel != ".." && !strings.HasPrefix(rel, "../")
}
