package main

import (
	"testing"

	"github.com/xinit-go/xinit-go/config"
)

// TestFreezeActionMapsEveryChoice: each XINIT_FREEZE_ACTION the config accepts
// is the watchdog's action of the same name.
func TestFreezeActionMapsEveryChoice(t *testing.T) {
	for _, a := range []config.FreezeAction{config.FreezeFail, config.FreezeRestart, config.FreezeLog} {
		if got := freezeAction(a).String(); got != string(a) {
			t.Errorf("%s: the watchdog does %s", a, got)
		}
	}
}
