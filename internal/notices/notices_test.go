package notices

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

const root = "../.."

// TestGoModIsPermissive: every module go.mod requires, direct or indirect, has a
// licence file that is one permissive licence, or is a listed exception with
// its reason. A GPL, LGPL, MPL or unrecognised licence entering go.mod fails
// here, naming the module and its licence file.
func TestGoModIsPermissive(t *testing.T) {
	mods, err := Required(root)
	if err != nil {
		t.Fatal(err)
	}
	if len(mods) < 5 {
		t.Fatalf("go.mod requires %d modules? %v", len(mods), mods)
	}
	for _, m := range mods {
		if Permissive[m.License] {
			continue
		}
		if why, ok := Exceptions[m.Path+"@"+m.Version]; ok {
			t.Logf("%s: accepted: %s", m.Path, why)
			continue
		}
		t.Errorf("%s@%s: its %s is %q, not one of the permissive licences %v: xinit-go is Apache-2.0 and links nothing copyleft; choose another module, or add it to Exceptions with why it is acceptable",
			m.Path, m.Version, m.File, m.License, keys(Permissive))
	}
}

// TestShippedBinaryLinksOnlyPermissive: what the xinit-go binary links is
// permissive with no exception.
func TestShippedBinaryLinksOnlyPermissive(t *testing.T) {
	mods, err := Linked(root, "./cmd/xinit-go")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range mods {
		if !Permissive[m.License] {
			t.Errorf("xinit-go links %s %s, whose %s is %q", m.Path, m.Version, m.File, m.License)
		}
	}
}

// TestNoticesAreFresh: THIRD_PARTY_NOTICES is what `make notices` makes now.
func TestNoticesAreFresh(t *testing.T) {
	mods, err := Linked(root, "./cmd/xinit-go")
	if err != nil {
		t.Fatal(err)
	}
	var want bytes.Buffer
	if err := Render(&want, "xinit-go", mods); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(root, "THIRD_PARTY_NOTICES"))
	if err != nil {
		t.Fatalf("%v: run make notices", err)
	}
	if !bytes.Equal(got, want.Bytes()) {
		t.Fatal("THIRD_PARTY_NOTICES is stale (a module was added, removed or upgraded): run make notices and commit it")
	}
}

const mit = "Permission is hereby granted, free of charge, to any person obtaining a copy"

// TestEveryLicenceFileCounts: a module's licence is what all its licence files
// agree on; a GPL COPYING beside an MIT LICENSE makes it none, and NOTICE
// files travel in the text.
func TestEveryLicenceFileCounts(t *testing.T) {
	for _, c := range []struct {
		name  string
		files map[string]string
		want  string
	}{
		{"one MIT LICENSE", map[string]string{"LICENSE": mit}, "MIT"},
		{"MIT LICENSE and GPL COPYING", map[string]string{"LICENSE": mit, "COPYING": "GNU GENERAL PUBLIC LICENSE Version 3"}, ""},
		{"LICENSE-MIT and LICENSE-APACHE", map[string]string{"LICENSE-MIT": mit, "LICENSE-APACHE": "Apache License Version 2.0"}, ""},
		{"Apache with a NOTICE", map[string]string{"LICENSE": "Apache License Version 2.0", "NOTICE": "This product includes software by Example"}, "Apache-2.0"},
	} {
		dir := t.TempDir()
		for n, text := range c.files {
			if err := os.WriteFile(filepath.Join(dir, n), []byte(text), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		m := Module{Path: "example.com/m", Version: "v1.0.0", Dir: dir}
		if err := m.readLicense(); err != nil {
			t.Fatal(err)
		}
		if m.License != c.want {
			t.Errorf("%s: %q, want %q", c.name, m.License, c.want)
		}
		if n, ok := c.files["NOTICE"]; ok && !bytes.Contains(m.Text, []byte(n)) {
			t.Errorf("%s: the NOTICE is not in the text", c.name)
		}
	}
}

func TestClassify(t *testing.T) {
	apache, err := os.ReadFile(filepath.Join(root, "LICENSE"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ name, text, want string }{
		{"our own LICENSE", string(apache), "Apache-2.0"},
		{"MIT", "Permission is hereby granted, free of charge, to any person obtaining a copy", "MIT"},
		{"ISC", "Permission to use, copy, modify, and distribute this software for any purpose with or without fee is hereby granted", "ISC"},
		{"BSD-3", "Redistribution and use in source and binary forms, with or without modification ... Neither the name of Google Inc. nor", "BSD-3-Clause"},
		{"BSD-2", "Redistribution and use in source and binary forms, with or without\nmodification, are permitted", "BSD-2-Clause"},
		{"GPL", "GNU GENERAL PUBLIC LICENSE Version 2, June 1991", ""},
		{"LGPL", "GNU LESSER GENERAL PUBLIC LICENSE Version 2.1", ""},
		{"MPL", "Mozilla Public License Version 2.0", ""},
		{"dual BSD or GPL", "Redistribution and use in source and binary forms ... or, at your option, the GNU General Public License", ""},
		{"CC-BY-4.0", "Creative Commons Attribution 4.0 International Public License", "CC-BY-4.0"},
		{"CC-BY-SA-4.0", "Creative Commons Attribution-ShareAlike 4.0 International Public License", ""},
		{"unknown", "All rights reserved.", ""},
		// A permissive grant beside a copyleft or source-available one, in the
		// spellings licence files use, is no permissive licence.
		{"MIT and GNU GPL v2", mit + " Parts are under the GNU GPL v2.", ""},
		{"MIT and General Public License", mit + " or the General Public License", ""},
		{"MIT and GPLv3", mit + " alternatively GPLv3", ""},
		{"MIT and AGPL-3.0", mit + " the server is AGPL-3.0", ""},
		{"MIT and LGPL-2.1", mit + " see LGPL-2.1", ""},
		{"MIT and MPL-2.0", mit + " files under MPL-2.0", ""},
		{"MIT and an SPDX GPL line", mit + "\nSPDX-License-Identifier: GPL-3.0-or-later", ""},
		{"MIT with the Commons Clause", mit + ` "Commons Clause" License Condition v1.0`, ""},
		{"JSON's Good, not Evil", mit + " The Software shall be used for Good, not Evil.", ""},
		{"BUSL naming Apache as its change licence", "Business Source License 1.1. Change License: Apache License, Version 2.0", ""},
		{"Elastic License 2.0", "Elastic License 2.0 ... Apache License, Version 2.0", ""},
		{"CDDL", "COMMON DEVELOPMENT AND DISTRIBUTION LICENSE ... Apache License, Version 2.0", ""},
		{"BSD with an advertising clause", "Redistribution and use in source and binary forms ... All advertising materials mentioning features ... Neither the name", ""},
	} {
		if got := Classify([]byte(c.text)); got != c.want {
			t.Errorf("%s: Classify = %q, want %q", c.name, got, c.want)
		}
	}
}

func keys(m map[string]bool) []string {
	var k []string
	for s := range m {
		k = append(k, s)
	}
	return k
}
