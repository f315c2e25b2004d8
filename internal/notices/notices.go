package notices

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
)

// Module is one Go module and its licence.
type Module struct {
	Path    string
	Version string
	Dir     string // in the module cache
	// File is the licence file's name in Dir, License what its text is (an SPDX
	// identifier, or "" when not recognised).
	File    string
	License string
	Text    []byte
}

// Permissive are the licences a module linked into xinit-go (Apache-2.0) may
// have: no copyleft, nothing the binary's users must do but keep the notice.
var Permissive = map[string]bool{"Apache-2.0": true, "MIT": true, "BSD-2-Clause": true, "BSD-3-Clause": true, "ISC": true}

// Exceptions are modules in go.mod whose licence file is not one permissive
// licence, each with why it is acceptable. None of them is linked into the
// shipped binary (TestShippedBinaryLinksOnlyPermissive checks that separately).
var Exceptions = map[string]string{
	"github.com/golang/freetype": "dual-licensed, FreeType License (BSD-style) or GPL-2.0, used under the FreeType License; only xinit-bench's plots draw text with it",
	"github.com/ajstarks/svgo":   "CC-BY-4.0, attribution only, no copyleft; indirect through gonum's plot, only in xinit-bench",
}

// goCmd runs go in dir and returns its standard output.
func goCmd(dir string, args ...string) ([]byte, error) {
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return out, nil
}

// Linked lists the modules (other than the main one) whose packages the
// program pkg, built in the module at root, links.
func Linked(root, pkg string) ([]Module, error) {
	out, err := goCmd(root, "list", "-deps", "-f", "{{with .Module}}{{if not .Main}}{{.Path}} {{.Version}}{{end}}{{end}}", pkg)
	if err != nil {
		return nil, err
	}
	var want []string
	seen := map[string]bool{}
	for _, l := range strings.Split(string(out), "\n") {
		if l = strings.TrimSpace(l); l != "" && !seen[l] {
			seen[l] = true
			want = append(want, strings.Replace(l, " ", "@", 1))
		}
	}
	mods, err := download(root, want)
	if err != nil {
		return nil, err
	}
	// The standard library and runtime are linked into every Go program.
	goroot, err := goCmd(root, "env", "GOROOT")
	if err != nil {
		return nil, err
	}
	std := Module{Path: "Go standard library and runtime", Dir: strings.TrimSpace(string(goroot))}
	if err := std.readLicense(); err != nil {
		return nil, err
	}
	return append(mods, std), nil
}

// Required lists the modules go.mod requires, direct and indirect.
func Required(root string) ([]Module, error) {
	out, err := goCmd(root, "mod", "edit", "-json")
	if err != nil {
		return nil, err
	}
	var gm struct {
		Require []struct{ Path, Version string }
	}
	if err := json.Unmarshal(out, &gm); err != nil {
		return nil, err
	}
	var want []string
	for _, r := range gm.Require {
		want = append(want, r.Path+"@"+r.Version)
	}
	return download(root, want)
}

// download finds each path@version in the module cache (fetching what is not
// there yet) and reads its licence.
func download(root string, want []string) ([]Module, error) {
	if len(want) == 0 {
		return nil, nil
	}
	out, err := goCmd(root, append([]string{"mod", "download", "-json"}, want...)...)
	if err != nil {
		return nil, err
	}
	var mods []Module
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var m struct{ Path, Version, Dir, Error string }
		if err := dec.Decode(&m); err == io.EOF {
			break
		} else if err != nil {
			return nil, err
		}
		if m.Error != "" {
			return nil, fmt.Errorf("%s@%s: %s", m.Path, m.Version, m.Error)
		}
		mod := Module{Path: m.Path, Version: m.Version, Dir: m.Dir}
		if err := mod.readLicense(); err != nil {
			return nil, err
		}
		mods = append(mods, mod)
	}
	sort.Slice(mods, func(i, j int) bool { return mods[i].Path < mods[j].Path })
	return mods, nil
}

// licenseFiles are the names a licence file goes by, in the order looked for.
var licenseFiles = []string{"LICENSE", "LICENSE.txt", "LICENSE.md", "LICENCE", "COPYING", "LICENSE-APACHE"}

func (m *Module) readLicense() error {
	for _, name := range licenseFiles {
		b, err := os.ReadFile(filepath.Join(m.Dir, name))
		if err == nil {
			m.File, m.Text, m.License = name, b, Classify(b)
			return nil
		}
	}
	return fmt.Errorf("%s@%s: no licence file (%s) in %s", m.Path, m.Version, strings.Join(licenseFiles, ", "), m.Dir)
}

// Classify says which licence a licence file's text is, by the phrases each
// licence's text has and the others lack; "" when it is none it knows, or
// more than one.
func Classify(text []byte) string {
	t := strings.Join(strings.Fields(strings.ToLower(string(text))), " ")
	has := func(s ...string) bool {
		for _, x := range s {
			if !strings.Contains(t, x) {
				return false
			}
		}
		return true
	}
	copyleft := has("gnu general public license") || has("gnu lesser general public license") ||
		has("gnu affero") || has("mozilla public license") || has("eclipse public license")
	var found []string
	if has("apache license", "version 2.0") {
		found = append(found, "Apache-2.0")
	}
	if has("permission is hereby granted, free of charge") {
		found = append(found, "MIT")
	}
	if has("permission to use, copy, modify, and/or distribute this software for any purpose with or without fee") ||
		has("permission to use, copy, modify, and distribute this software for any purpose with or without fee") {
		found = append(found, "ISC")
	}
	if has("creative commons attribution 4.0 international public license") && !has("sharealike") {
		found = append(found, "CC-BY-4.0")
	}
	if has("redistribution and use in source and binary forms") {
		if has("neither the name") || has("names of its contributors") {
			found = append(found, "BSD-3-Clause")
		} else {
			found = append(found, "BSD-2-Clause")
		}
	}
	if copyleft || len(found) != 1 {
		return ""
	}
	return found[0]
}

// Render writes the notices file: each module with its version, licence and the
// licence's whole text.
func Render(w io.Writer, program string, mods []Module) error {
	var b bytes.Buffer
	fmt.Fprintf(&b, "Third-party notices for %s\n\n", program)
	fmt.Fprintf(&b, "%s is licensed under the Apache License 2.0 (see LICENSE). It links the\n", program)
	fmt.Fprintf(&b, "Go modules below and Go's standard library, each under its own licence,\nwhose text follows. Made by `make notices`; do not edit.\n\n")
	for _, m := range mods {
		fmt.Fprintf(&b, "  %-40s %-22s %s\n", m.Path, m.Version, m.License)
	}
	for _, m := range mods {
		name := m.Path
		if m.Version != "" {
			name += " " + m.Version
		}
		fmt.Fprintf(&b, "\n%s\n%s (%s, from its %s)\n%s\n\n", strings.Repeat("=", 78), name, m.License, m.File, strings.Repeat("=", 78))
		b.Write(bytes.TrimRight(m.Text, "\n"))
		b.WriteString("\n")
	}
	_, err := w.Write(b.Bytes())
	return err
}
