package session

import (
	"context"
	"syscall"

	"github.com/jezek/xgb"
)

// What other packages (the recorder, the frame watchdog) need of a built
// session: how to reach its display, and as whom to run their programs.

// Display is how xinit-go itself connects to the session's display: its number
// and cookie. The zero Display (Num 0, no cookie) when there is no X server.
func (s *Session) Display() Display { return s.display }

// AppCredential is the credential of XINIT_APP_USER, nil without one.
func (s *Session) AppCredential() *syscall.Credential { return s.credential() }

// Connect opens an X connection to a local display with its cookie. The
// connection, and any request waiting on it, ends when ctx does (a stalled X
// server cannot hold the caller); release closes it sooner.
func Connect(ctx context.Context, d Display) (c *xgb.Conn, release func(), err error) {
	return dialX(ctx, d)
}
