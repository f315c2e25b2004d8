package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/xinit-go/xinit-go/internal/testutil"
)

// These tests play an app user who can write the directories that hold the
// artifacts, the screenshot and the recording, against the real binary as
// PID 1 with real Xvfb and ffmpeg.

// TestConfiguredPathsThroughLinks: the app user (nobody) owns the directory
// that holds the configured paths. Before the start it plants links to a
// root-only directory where the artifacts and the screenshot go; during the
// run, it swaps the recording's directory for a link to it. root must not
// write, replace or delete anything there. (Before: the summary's bundle was
// made in the root-only directory, the screenshot written there, and root's
// run.mp4 there deleted by XINIT_RECORD_KEEP=failure.)
func TestConfiguredPathsThroughLinks(t *testing.T) {
	testutil.Need(t, "Xvfb", "ffmpeg")
	base, err := os.MkdirTemp("", "xinit-paths-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	must(t, os.Chmod(base, 0o755))
	victim := filepath.Join(base, "victim")
	must(t, os.Mkdir(victim, 0o700))
	must(t, os.WriteFile(filepath.Join(victim, "run.mp4"), []byte("root's file"), 0o600))
	shared := filepath.Join(base, "shared")
	must(t, os.Mkdir(shared, 0o755))
	must(t, os.Mkdir(filepath.Join(shared, "rec"), 0o755))
	for _, l := range []string{"arts", "shots"} {
		must(t, os.Symlink(victim, filepath.Join(shared, l)))
		must(t, os.Lchown(filepath.Join(shared, l), 65534, 65534))
	}
	must(t, os.Chown(shared, 65534, 65534))
	must(t, os.Chown(filepath.Join(shared, "rec"), 65534, 65534))

	env := []string{"XINIT_BACKEND=xvfb", "XINIT_HEALTH_ADDR=off", "XINIT_VNC=off", "XINIT_APP_USER=nobody",
		"XINIT_DISPLAY=:" + strconv.Itoa(testutil.FreeDisplay(t)), "XINIT_RUNTIME_DIR=" + filepath.Join(t.TempDir(), "run"),
		"XINIT_ARTIFACTS=" + filepath.Join(shared, "arts", "bundles"),
		"XINIT_SCREENSHOT=" + filepath.Join(shared, "shots", "shot.png"),
		"XINIT_RECORD=" + filepath.Join(shared, "rec", "run.mp4"), "XINIT_RECORD_KEEP=failure"}
	swap := `cd "$1" && mv rec rec.old && ln -s "$2" rec`
	p := testutil.Start(t, testutil.Options{Namespace: true, Env: env, Args: []string{"--", "sh", "-c", swap, "sh", shared, victim}})
	if c := p.Wait(60 * time.Second); c != 0 {
		t.Fatalf("exit %d, want the app's 0 (the swap failed)", c)
	}
	if st, err := os.Lstat(filepath.Join(shared, "rec")); err != nil || st.Mode()&os.ModeSymlink == 0 {
		t.Fatalf("the recording's directory was not swapped for a link: %v", err)
	}
	ents, _ := os.ReadDir(victim)
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	if strings.Join(names, ",") != "run.mp4" {
		t.Errorf("the root-only directory now holds %v, want run.mp4 alone", names)
	}
	if b, err := os.ReadFile(filepath.Join(victim, "run.mp4")); err != nil || string(b) != "root's file" {
		t.Errorf("root's run.mp4: %q, %v", b, err)
	}
	log := p.Stderr.String()
	for _, want := range []string{"failure bundle not written", "screenshot"} {
		if !strings.Contains(log, want) {
			t.Errorf("the log lacks %q", want)
		}
	}
	if strings.Count(log, "not followed") < 2 {
		t.Errorf("the log does not say twice that a link was not followed")
	}
	// A recording whose directory is such a link is refused at the start.
	env = append(env, "XINIT_RECORD="+filepath.Join(shared, "arts", "run.mp4"))
	p = testutil.Start(t, testutil.Options{Namespace: true, Env: env, Args: helperCmd("exit", "0")})
	if c := p.Wait(60 * time.Second); c != 78 || !strings.Contains(p.Stderr.String(), "XINIT_RECORD") ||
		!strings.Contains(p.Stderr.String(), "not followed") {
		t.Errorf("XINIT_RECORD through a planted link: exit %d, want 78 naming the setting and the link\n%s", c, p.Stderr.String())
	}
	if b, err := os.ReadFile(filepath.Join(victim, "run.mp4")); err != nil || string(b) != "root's file" {
		t.Errorf("root's run.mp4: %q, %v", b, err)
	}
}

// TestFailedScreenshotShipsNoStaleOne: a restarted container (the same runtime
// directory) whose X server stops answering before the end: the screenshot for
// the bundle fails, and the bundle must not pass off the first run's
// last-screen.png as this run's. (Before: it shipped it as screenshot.png.)
func TestFailedScreenshotShipsNoStaleOne(t *testing.T) {
	art, run := t.TempDir(), filepath.Join(t.TempDir(), "run")
	ready := filepath.Join(t.TempDir(), "ready")
	env := []string{"XINIT_ARTIFACTS=" + art, "XINIT_STOP_GRACE=1s", "XINIT_RUNTIME_DIR=" + run}
	// Run 1 ends with the app's 3 and a screenshot.
	s := startX(t, "xvfb", env, helperCmd("trap", "3", ready))
	s.waitReady()
	s.p.Signal(syscall.SIGTERM)
	if c := s.p.Wait(60 * time.Second); c != 3 {
		t.Fatalf("run 1: exit %d, want 3", c)
	}
	first, _ := oneBundle(t, art)
	if _, err := os.Stat(filepath.Join(first, "screenshot.png")); err != nil {
		t.Fatalf("run 1 has no screenshot: %v", err)
	}
	must(t, os.Rename(first, filepath.Join(t.TempDir(), "run1")))
	// Run 2: the X server is stopped before the end.
	s = startX(t, "xvfb", env, helperCmd("trap", "3", ready))
	s.waitReady()
	x := s.xPID()
	if x == 0 {
		t.Fatal("no X server")
	}
	must(t, syscall.Kill(x, syscall.SIGSTOP))
	t.Cleanup(func() { _ = syscall.Kill(x, syscall.SIGCONT) })
	s.p.Signal(syscall.SIGTERM)
	if c := s.p.Wait(60 * time.Second); c != 3 {
		t.Fatalf("run 2: exit %d, want 3", c)
	}
	second, sum := oneBundle(t, art)
	if _, err := os.Stat(filepath.Join(second, "screenshot.png")); err == nil {
		t.Error("run 2's bundle has a screenshot.png although its screenshot failed")
	}
	if !strings.Contains(sum.Missing["screenshot.png"], "not taken in this run") {
		t.Errorf("summary's missing: %v", sum.Missing)
	}
}

// TestServiceEnvIsRedacted: an extra service's environment (tokens) is not
// copied into summary.json, which the app user can read; the names stay.
func TestServiceEnvIsRedacted(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.toml")
	toml := "[[service]]\nname = \"uploader\"\ncommand = [" + quoteList(testutil.HelperArgv("sleep")) + "]\n" +
		"restart = \"never\"\nenv = { UPLOAD_TOKEN = \"tok-s3cr3t-42\" }\n"
	must(t, os.WriteFile(cfg, []byte(toml), 0o644))
	art := filepath.Join(dir, "art")
	p := testutil.Start(t, testutil.Options{Namespace: true, Env: append(plain, "XINIT_CONFIG="+cfg, "XINIT_ARTIFACTS="+art),
		Args: helperCmd("exit", "3")})
	if c := p.Wait(30 * time.Second); c != 3 {
		t.Fatalf("exit %d, want 3", c)
	}
	path, _ := oneBundle(t, art)
	out, err := exec.Command("grep", "-r", "-l", "tok-s3cr3t-42", path).Output()
	if len(out) != 0 || err == nil {
		t.Errorf("the token is in the bundle: %s", out)
	}
	b, _ := os.ReadFile(filepath.Join(path, "summary.json"))
	if !strings.Contains(string(b), "UPLOAD_TOKEN") {
		t.Errorf("the summary lost the variable's name:\n%s", b)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestRootServiceOutputStaysOutOfTheAppUsersBundle: with XINIT_APP_USER the
// bundle belongs to that user; a [[service]] runs as root, and what it prints
// (a token, say) must not be handed to the app's user. Its log is listed as
// withheld instead (before: logs/printer.log held its output).
func TestRootServiceOutputStaysOutOfTheAppUsersBundle(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.toml")
	toml := "[[service]]\nname = \"printer\"\ncommand = [" + quoteList(testutil.HelperArgv("glxinfo-nvidia")) + "]\nrestart = \"never\"\n"
	must(t, os.WriteFile(cfg, []byte(toml), 0o644))
	art := filepath.Join(dir, "art")
	// The app runs as nobody, who cannot reach the test binary: a shell.
	p := testutil.Start(t, testutil.Options{Namespace: true, Env: append(plain, "XINIT_CONFIG="+cfg, "XINIT_ARTIFACTS="+art, "XINIT_APP_USER=nobody"),
		Args: []string{"--", "sh", "-c", "sleep 1.5; exit 3"}})
	if c := p.Wait(30 * time.Second); c != 3 {
		t.Fatalf("exit %d, want 3\n%s", c, p.Stderr.String())
	}
	if !strings.Contains(p.Stderr.String(), "NVIDIA H200") {
		t.Fatal("the service printed nothing the test could look for")
	}
	path, _ := oneBundle(t, art)
	if out, err := exec.Command("grep", "-r", "-l", "NVIDIA H200", path).Output(); len(out) != 0 || err == nil {
		t.Errorf("a root service's output is in the app user's bundle: %s", out)
	}
	b, _ := os.ReadFile(filepath.Join(path, "summary.json"))
	if !strings.Contains(string(b), `"logs/printer.log"`) || !strings.Contains(string(b), "runs as root") {
		t.Errorf("the summary does not say the log was withheld:\n%s", b)
	}
}
