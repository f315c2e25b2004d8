package notices

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
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

// Exceptions are modules in go.mod (path@version: a new version is looked at
// again) whose licence files are not one permissive licence, each with why it
// is acceptable. None of them is linked into the
// shipped binary (TestShippedBinaryLinksOnlyPermissive checks that separately).
var Exceptions = map[string]string{
	"github.com/golang/freetype@v0.0.0-20170609003504-e2365dfdc4a0": "dual-licensed, FreeType License (BSD-style) or GPL-2.0, used under the FreeType License; only xinit-bench's plots draw text with it",
	"github.com/ajstarks/svgo@v0.0.0-20211024235047-1546f124cd8b":   "CC-BY-4.0, attribution only, no copyleft; indirect through gonum's plot, only in xinit-bench",
	"codeberg.org/go-fonts/liberation@v0.4.1":                       "BSD-3-Clause code with the Liberation fonts under the SIL Open Font License 1.1 (fonts may be embedded and redistributed, no copyleft on what uses them); only xinit-bench's plots",
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

// licenseName matches the names of licence and notice files at a module's
// root: LICENSE, LICENCE, COPYING, UNLICENSE, NOTICE, with any suffix or
// extension (LICENSE-MIT, COPYING.txt), in any case.
var licenseName = regexp.MustCompile(`(?i)^(licen[cs]e|copying|unlicense|notice)([.-].*)?$`)

// readLicense reads every licence and notice file at the module's root. The
// module's License is the one licence all its licence files are (a module with
// a permissive LICENSE and a GPL COPYING is none); Text holds them all,
// NOTICE files included (Apache-2.0 asks that they travel with the notices).
func (m *Module) readLicense() error {
	ents, err := os.ReadDir(m.Dir)
	if err != nil {
		return err
	}
	var names []string
	for _, e := range ents {
		if e.Type().IsRegular() && licenseName.MatchString(e.Name()) {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	kinds := map[string]bool{}
	var text bytes.Buffer
	for _, name := range names {
		b, err := os.ReadFile(filepath.Join(m.Dir, name))
		if err != nil {
			return err
		}
		if text.Len() > 0 {
			fmt.Fprintf(&text, "\n--- %s ---\n\n", name)
		}
		text.Write(bytes.TrimRight(b, "\n"))
		text.WriteString("\n")
		if !strings.HasPrefix(strings.ToLower(name), "notice") {
			kinds[Classify(b)] = true
		}
	}
	if len(kinds) == 0 {
		return fmt.Errorf("%s@%s: no licence file (LICENSE, COPYING, ...) in %s", m.Path, m.Version, m.Dir)
	}
	m.File, m.Text = strings.Join(names, ", "), text.Bytes()
	if len(kinds) == 1 {
		for k := range kinds {
			m.License = k
		}
	}
	return nil
}

// denyRe matches, in a lower-cased text with its spaces collapsed, the names of
// licences that are not permissive, and clauses that make a permissive one
// something else.
var denyRe = regexp.MustCompile(`general public licen[cs]e|\b(a|l)?gpl(v?[0-9])?\b|affero|\bmpl\b|mozilla public|eclipse public|` +
	`server side public|\bsspl\b|business source|\bbusl\b|commons clause|elastic license|common development and distribution|\bcddl\b|` +
	`european union public|\beupl\b|open software licen[cs]e|advertising materials|good, not evil|sharealike|noncommercial|` +
	`spdx-license-identifier: *(?:[a-z0-9.+-]+ (?:or|and|with) )*(?:[a-z0-9.+-]*gpl|mpl|epl|cddl|eupl|sspl|busl)`)

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
	// Anything that names a copyleft or source-available licence, in any of its
	// spellings, or advertises an advertising clause, makes the text no
	// permissive licence at all: a file that grants MIT and mentions the GPL is
	// a dual or mixed licence, for a person to judge (Exceptions).
	copyleft := denyRe.MatchString(t)
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
