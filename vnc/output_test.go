package vnc

import (
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

func TestVNCOutputQuietsDPMS(t *testing.T) {
	core, logs := observer.New(zapcore.DebugLevel)
	out := output(zap.New(core))
	out(`Xlib:  extension "DPMS" missing on display ":0".`)
	out("PORT=5900")
	all := logs.All()
	if len(all) != 2 || all[0].Level != zapcore.DebugLevel || all[1].Level != zapcore.InfoLevel {
		t.Fatalf("levels: %+v", all)
	}
}
