package session

import (
	"syscall"

	"github.com/xinit-go/xinit-go/xscreen"
)

// What other packages (the recorder, the frame watchdog) need of a built
// session: how to reach its display, and as whom to run their programs.

// Display is how xinit-go itself connects to the session's display: its number
// and cookie. The zero Display (Num 0, no cookie) when there is no X server.
func (s *Session) Display() xscreen.Display { return s.display }

// AppCredential is the credential of XINIT_APP_USER, nil without one.
func (s *Session) AppCredential() *syscall.Credential { return s.credential() }
