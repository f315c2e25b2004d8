package web

import "golang.org/x/sys/unix"

// noFollow refuses a link at the last component even if one appears between the
// check and the open.
const noFollow = unix.O_NOFOLLOW
