// Package linksafe opens configured directories (the artifacts directory, the
// screenshot's and the recording's directories) for a root process that must
// not be steered by links another user planted on the way.
//
// OpenDir walks the path one component at a time with openat(O_DIRECTORY|
// O_NOFOLLOW), each relative to the directory opened before it, and returns the
// last one opened: what the caller then creates, renames or removes inside it,
// it does relative to that descriptor. A component that is a link is followed
// only when it cannot have been planted: the link belongs to root and lies in a
// directory that only its owner, root, can write (/var/run -> /run). Any other
// link on the way is refused with an error that names it. A path swapped for a
// link after it was opened redirects nothing: the descriptor stays on the
// directory that was checked.
package linksafe
