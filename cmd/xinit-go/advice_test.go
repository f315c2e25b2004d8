package main

import (
	"strings"
	"testing"
)

func TestPreflightAdviceUnderXvfb(t *testing.T) {
	text := "X driver nvidia_drv.so not found in /usr/lib; the host driver is 580.159.04, install the same version's X components in the image, or use XINIT_BACKEND=xvfb (GPU rendering through NVIDIA's GLX without any X driver)"
	if got := preflightFor("xvfb", text); strings.Contains(got, "XINIT_BACKEND=xvfb") || !strings.HasSuffix(got, "in the image") {
		t.Errorf("under xvfb: %q", got)
	}
	if got := preflightFor("auto", text); got != text {
		t.Errorf("under auto the advice must stay: %q", got)
	}
}
