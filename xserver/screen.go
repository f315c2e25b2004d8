package xserver

import (
	"context"
	"fmt"

	"github.com/xinit-go/xinit-go/xscreen"
)

// checkScreen verifies that screen 0 has the requested size.
func checkScreen(ctx context.Context, display xscreen.Display, width, height int) error {
	f, err := xscreen.Size(ctx, display, xscreen.Remaining(ctx))
	if err != nil {
		return err
	}
	if f.Width != width || f.Height != height {
		return fmt.Errorf("display %s came up at %dx%d, not the requested %dx%d; the X server rejected the size (see its log), choose another SCREEN_RESOLUTION", display, f.Width, f.Height, width, height)
	}
	return nil
}
