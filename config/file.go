package config

import (
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"
)

// readFile reads the TOML file: top-level keys become strings in the form their
// variables take; [[service]] tables become Services. Unknown keys are errors.
func readFile(path string) (map[string]string, []Service, []error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, []error{fmt.Errorf("config file %s: %v; fix the path in XINIT_CONFIG or --config", path, err)}
	}
	var raw map[string]any
	if _, err := toml.Decode(string(b), &raw); err != nil {
		return nil, nil, []error{fmt.Errorf("config file %s: %v", path, err)}
	}
	var withServices struct {
		Service []Service `toml:"service"`
	}
	md, err := toml.Decode(string(b), &withServices)
	var errs []error
	if err != nil {
		errs = append(errs, fmt.Errorf("config file %s: [[service]]: %v; e.g. [[service]] name = \"wm\" command = [\"openbox\"] after = [\"x\"]", path, err))
	}
	for _, k := range md.Undecoded() {
		if len(k) > 1 && k[0] == "service" {
			errs = append(errs, fmt.Errorf("config file %s: unknown key %s in [[service]]; known: name, command, env, dir, restart, after, required", path, strings.Join(k[1:], ".")))
		}
	}
	known := map[string]bool{}
	for _, s := range settings {
		if s.key != "" {
			known[s.key] = true
		}
	}
	vals := map[string]string{}
	keys := make([]string, 0, len(raw))
	for k := range raw {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if k == "service" {
			continue
		}
		if !known[k] {
			errs = append(errs, fmt.Errorf("config file %s: unknown key %q; the keys are listed by xinit-go --help", path, k))
			continue
		}
		switch v := raw[k].(type) {
		case string:
			if numericKeys[k] {
				errs = append(errs, fmt.Errorf("config file %s: %s = %q: want a number, not a string, e.g. %s = 5901", path, k, v, k))
				continue
			}
			vals[k] = v
		case int64:
			vals[k] = strconv.FormatInt(v, 10)
		case float64:
			vals[k] = strconv.FormatFloat(v, 'f', -1, 64)
		case bool:
			vals[k] = strconv.FormatBool(v)
		case []any:
			parts := make([]string, 0, len(v))
			ok := true
			for _, e := range v {
				s, isStr := e.(string)
				ok = ok && isStr
				parts = append(parts, s)
			}
			if !ok {
				errs = append(errs, fmt.Errorf("config file %s: %s: want a string or a list of strings", path, k))
				continue
			}
			sep := ","
			if k == "x_args" {
				// Each element is one argument, spaces and all: NUL, which no
				// variable or flag can hold, keeps them apart (see argList).
				sep = "\x00"
			}
			vals[k] = strings.Join(parts, sep)
		default:
			errs = append(errs, fmt.Errorf("config file %s: %s = %v: want a string, e.g. %s = \"...\"", path, k, v, k))
		}
	}
	return vals, withServices.Service, errs
}

// Usage writes the --help text: the command line, then every setting.
func Usage(w io.Writer) {
	fmt.Fprint(w, `usage:
  xinit-go [flags] [--] APP [ARGS...]   run the X session and the app as PID 1
  xinit-go [flags]                      no app: X and VNC run until stopped (SIGTERM)
  xinit-go check [flags]                preflight: GPUs, driver, X modules, chosen backend
  xinit-go xorgconf [flags]             print the xorg.conf that would be written
  xinit-go health [--ready] [flags]     probe a running xinit-go (exit 0 healthy, 1 not)
  xinit-go version

Settings (flag, variable, TOML key; flags > environment > TOML file > default):
`)
	for _, s := range settings {
		flagName := "(no flag)"
		if s.flag != "" {
			flagName = "--" + s.flag
		}
		key := s.key
		if key == "" {
			key = "-"
		}
		def := s.def
		if def == "" {
			def = `""`
		}
		fmt.Fprintf(w, "  %-22s %-24s %s\n      %s (default %s)\n", flagName, s.env, key, s.help, def)
	}
}

// MarkdownTable renders the settings as docs/configuration.md's table.
func MarkdownTable() string {
	var b strings.Builder
	b.WriteString("| variable | TOML key | flag | default | meaning |\n|---|---|---|---|---|\n")
	for _, s := range settings {
		cell := func(v string) string {
			if v == "" {
				return "—"
			}
			return "`" + v + "`"
		}
		flagName := ""
		if s.flag != "" {
			flagName = "--" + s.flag
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s |\n", s.env, cell(s.key), cell(flagName), cell(s.def), strings.ReplaceAll(s.help, "|", "\\|"))
	}
	return b.String()
}
