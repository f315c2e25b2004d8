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
		if why, ok := Exceptions[m.Path]; ok {
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
