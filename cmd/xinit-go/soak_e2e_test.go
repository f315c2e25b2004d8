package main

import (
	"context"
	"syscall"
	"testing"
	"time"

	"github.com/xinit-go/xinit-go/internal/soak"
	"github.com/xinit-go/xinit-go/internal/testutil"
)

// soakRSSBoundKB is how much xinit-go's resident memory may grow between the end
// of the warm-up and the end of the short soak. The long run (docs/benchmarks.md,
// "Flat over time") shows the resident set level after the first minute, moving
// within about 1 MB as the Go heap grows to its GC target and is collected; a
// leak of 100 bytes per restart would not show in 100 restarts, but one of 20 KB,
// the size of a goroutine with its stack or a log buffer, would.
const soakRSSBoundKB = 2048

// TestSoakShort: 100 X restarts and as many app restarts under a whole session,
// with a VNC client coming and going and /metrics and /status scraped each second.
// xinit-go's open files, goroutines and orphaned shm segments must not grow at
// all from the end of the warm-up (10 X restarts) to the end; its resident memory
// must stay within soakRSSBoundKB.
func TestSoakShort(t *testing.T) {
	if testing.Short() && !testutil.InCI() {
		t.Skip("SKIPPED, NOT RUN: the soak takes minutes; run it without -short")
	}
	s := startX(t, "xvfb", []string{"XINIT_APP_RESTART=always", "XINIT_RESTART_BACKOFF=250ms",
		"XINIT_RESTART_BUDGET=1000000/1m", "XINIT_LOG_LEVEL=error"}, helperCmd("sleep"))
	s.waitReady()
	o := soak.Options{PID: s.p.PID(), Health: s.healthAddr, VNCPort: s.vncPort, Step: 2 * time.Minute}
	run := func(x, app int) soak.Sample {
		t.Helper()
		o.XRestarts, o.AppRestarts = x, app
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
		defer cancel()
		samples, err := soak.Run(ctx, o)
		if err != nil {
			t.Fatalf("soak: %v", err)
		}
		return samples[len(samples)-1]
	}
	warm := run(10, 10)
	end := run(90, 90)
	t.Logf("after warm-up: %+v", warm)
	t.Logf("at the end:    %+v", end)
	if end.FDs > warm.FDs {
		t.Errorf("open files grew from %d to %d", warm.FDs, end.FDs)
	}
	if end.Goroutines > warm.Goroutines {
		t.Errorf("goroutines grew from %d to %d", warm.Goroutines, end.Goroutines)
	}
	if end.ShmOrphaned > warm.ShmOrphaned {
		t.Errorf("shm segments of exited processes grew from %d to %d", warm.ShmOrphaned, end.ShmOrphaned)
	}
	if end.RSSKB > warm.RSSKB+soakRSSBoundKB {
		t.Errorf("resident memory grew from %d kB to %d kB (bound %d kB)", warm.RSSKB, end.RSSKB, soakRSSBoundKB)
	}
	// The app (the helper's sleep) dies of the SIGTERM: 128+15.
	s.p.Signal(syscall.SIGTERM)
	if c := s.p.Wait(30 * time.Second); c != 143 {
		t.Errorf("exit %d, want 143", c)
	}
}
