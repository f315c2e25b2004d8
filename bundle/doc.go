// Package bundle writes the failure bundle: one directory that a person or a CI
// step uploads to see why a run failed — the screenshot, the video's last
// window, the X server's log, the last lines of each service's output, the
// final /status, a GPU snapshot and summary.json (exit code, reason, timings,
// settings without the password). A passing run gets summary.json alone,
// unless asked for more.
//
// A bundle appears at once or not at all: it is written into a directory made
// with a random name inside the artifacts directory (opened with package
// linksafe, so no link the app user planted on its path is followed; mode 0700,
// so nobody else can touch it meanwhile), every file created with
// O_EXCL|O_NOFOLLOW relative to that directory's descriptor, fchown'ed to the
// app user and fsync'ed; then the directory is handed to the app user and
// renamed into place with renameat2 (RENAME_NOREPLACE) relative to the opened
// artifacts directory, which is fsync'ed last. The files it copies in (the
// screenshot, the video, the X log) are opened without following any link
// (openat2 RESOLVE_NO_SYMLINKS), must be regular files with one link, and, when
// there is an app user, must belong to root or to that user: a link or a hard
// link that the app user planted cannot make root copy another user's file into
// the bundle. A file that does not fit is left out and listed as missing in
// summary.json, which the largest files give way to when it does not fit
// itself.
package bundle
