package supervisor

import (
	"strings"
	"testing"
)

// TestPumpSurvivesALongLine: a line over 1 MiB is cut and marked, and the
// lines after it still come (before: it ended all later output of the service).
func TestPumpSurvivesALongLine(t *testing.T) {
	long := strings.Repeat("x", 3*maxLine/2)
	in := "first\r\n" + long + "\nafter\n\nlast without a newline"
	var got []string
	pump(strings.NewReader(in), func(l string) { got = append(got, l) })
	if len(got) != 4 {
		t.Fatalf("%d lines, want 4", len(got))
	}
	if got[0] != "first" || got[2] != "after" || got[3] != "last without a newline" {
		t.Errorf("lines %q, %q, %q", got[0], got[2], got[3])
	}
	if want := strings.Repeat("x", maxLine) + " [line cut at 1 MiB]"; got[1] != want {
		t.Errorf("the long line: %d bytes ending %q", len(got[1]), got[1][len(got[1])-30:])
	}
}
