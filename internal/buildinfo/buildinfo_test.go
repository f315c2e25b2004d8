package buildinfo

import (
	"runtime/debug"
	"strings"
	"testing"
)

func TestFrom(t *testing.T) {
	vcs := []debug.BuildSetting{{Key: "vcs.revision", Value: "0123456789abcdef0123"}, {Key: "vcs.modified", Value: "true"}, {Key: "CGO_ENABLED", Value: "1"}}
	for _, c := range []struct {
		name    string
		stamped string
		bi      *debug.BuildInfo
		want    Info
	}{
		{"make build: the tag wins", "v1.2.0-3-gabc", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}, Settings: vcs},
			Info{Version: "v1.2.0-3-gabc", Commit: "0123456789abcdef0123", Dirty: true, Go: "go1.26.8", CGO: true, NVML: "linked"}},
		{"go install module@v1.2.0", "", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v1.2.0"}, Settings: []debug.BuildSetting{{Key: "CGO_ENABLED", Value: "1"}}},
			Info{Version: "v1.2.0", Go: "go1.26.8", CGO: true, NVML: "linked"}},
		{"go build in a checkout", "", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}, Settings: vcs},
			Info{Version: "devel-0123456789ab-dirty", Commit: "0123456789abcdef0123", Dirty: true, Go: "go1.26.8", CGO: true, NVML: "linked"}},
		{"without cgo", "", &debug.BuildInfo{GoVersion: "go1.26.8", Settings: []debug.BuildSetting{{Key: "CGO_ENABLED", Value: "0"}}},
			Info{Version: "devel", Go: "go1.26.8", NVML: "not linked (built without cgo)"}},
		{"no build information", "", nil, Info{Version: "devel"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := From(c.stamped, c.bi); got != c.want {
				t.Errorf("From = %+v\nwant %+v", got, c.want)
			}
		})
	}
}

func TestText(t *testing.T) {
	got := Info{Version: "v1.0.0", Commit: "abc", Go: "go1.26.8", CGO: true, NVML: "linked; driver 580.159.04"}.Text()
	for _, want := range []string{"xinit-go v1.0.0\n", "commit   abc\n", "go       go1.26.8\n", "cgo      on\n", "nvml     linked; driver 580.159.04\n"} {
		if !strings.Contains(got, want) {
			t.Errorf("Text() = %q, want a line %q", got, want)
		}
	}
}
