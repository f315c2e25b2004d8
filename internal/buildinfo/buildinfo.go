package buildinfo

import (
	"runtime/debug"
	"strings"
)

// Info is what `xinit-go version` prints.
type Info struct {
	Version string `json:"version"`
	Commit  string `json:"commit,omitempty"`
	Dirty   bool   `json:"dirty,omitempty"`
	Go      string `json:"go"`
	CGO     bool   `json:"cgo"`
	// NVML says whether NVML was linked (it needs cgo) and, where the caller
	// asked the driver, what it answered.
	NVML string `json:"nvml"`
}

// Read builds Info from the binary's build information. stamped is the version
// set with -ldflags "-X main.version=..." (empty when not set).
func Read(stamped string) Info {
	bi, _ := debug.ReadBuildInfo()
	return From(stamped, bi)
}

// From is Read on given build information (nil when the binary has none).
func From(stamped string, bi *debug.BuildInfo) Info {
	info := Info{Version: stamped}
	if bi == nil {
		if info.Version == "" {
			info.Version = "devel"
		}
		return info
	}
	info.Go = bi.GoVersion
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			info.Commit = s.Value
		case "vcs.modified":
			info.Dirty = s.Value == "true"
		case "CGO_ENABLED":
			info.CGO = s.Value == "1"
		}
	}
	if info.CGO {
		info.NVML = "linked"
	} else {
		info.NVML = "not linked (built without cgo)"
	}
	if info.Version != "" {
		return info
	}
	// `go install module@version`: the module's version, and no VCS stamp.
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		info.Version = v
		return info
	}
	if info.Commit != "" {
		info.Version = "devel-" + short(info.Commit)
		if info.Dirty {
			info.Version += "-dirty"
		}
		return info
	}
	info.Version = "devel"
	return info
}

// String is the version as one word, as the log and /status give it.
func (i Info) String() string { return i.Version }

// Text is the human form: the version, then what it was built from.
func (i Info) Text() string {
	var b strings.Builder
	b.WriteString("xinit-go " + i.Version + "\n")
	if i.Commit != "" {
		b.WriteString("commit   " + i.Commit)
		if i.Dirty {
			b.WriteString(" (modified)")
		}
		b.WriteString("\n")
	}
	if i.Go != "" {
		b.WriteString("go       " + i.Go + "\n")
	}
	cgo := "off"
	if i.CGO {
		cgo = "on"
	}
	b.WriteString("cgo      " + cgo + "\n")
	b.WriteString("nvml     " + i.NVML + "\n")
	return b.String()
}

func short(rev string) string {
	if len(rev) > 12 {
		return rev[:12]
	}
	return rev
}
