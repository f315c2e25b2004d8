package config

import (
	"fmt"
	"strings"
)

// exampleIn rewrites a setting's example, written as its variable
// (XINIT_VNC_PORT=5901), in the form of the source that gave the bad value: a
// TOML line for the file, a flag for the command line.
func exampleIn(st setting, from string) string {
	env, val, ok := strings.Cut(st.example, "=")
	if !ok || env != st.env {
		return st.example
	}
	switch {
	case from == "file" && st.key != "":
		if numericKeys[st.key] {
			return fmt.Sprintf("%s = %s", st.key, val)
		}
		return fmt.Sprintf("%s = %q", st.key, val)
	case from == "flag" && st.flag != "":
		return fmt.Sprintf("--%s %s", st.flag, val)
	}
	return st.example
}

// numericKeys are the TOML keys that take a number, not a string.
var numericKeys = map[string]bool{"vnc_port": true}
