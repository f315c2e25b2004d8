package session

import (
	"context"
	"fmt"
	"image"
	"image/png"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"

	"github.com/xinit-go/xinit-go/internal/linksafe"
	"github.com/xinit-go/xinit-go/xscreen"
)

// requestTimeout is the deadline of each X request of a screenshot or of the
// screen check: what is left of ctx, or xscreen's default when ctx has none.
func requestTimeout(ctx context.Context) time.Duration {
	if d, ok := ctx.Deadline(); ok {
		return max(time.Until(d), time.Millisecond)
	}
	return xscreen.DefaultTimeout
}

// checkScreen verifies that screen 0 has the requested size.
func checkScreen(ctx context.Context, display xscreen.Display, width, height int) error {
	f, err := xscreen.Size(ctx, display, requestTimeout(ctx))
	if err != nil {
		return err
	}
	if f.Width != width || f.Height != height {
		return fmt.Errorf("display %s came up at %dx%d, not the requested %dx%d; the X server rejected the size (see its log), choose another SCREEN_RESOLUTION", display, f.Width, f.Height, width, height)
	}
	return nil
}

// WritePNG captures a display into a PNG file, atomically. It returns when ctx
// ends, even when the X server has stopped answering (xscreen's deadlines).
func WritePNG(ctx context.Context, display xscreen.Display, path string) error {
	img, err := xscreen.Capture(ctx, display, requestTimeout(ctx))
	if err != nil {
		return err
	}
	return savePNG(path, img)
}

// savePNG writes img to path (mode 0644) through a new temporary file in the same
// directory. The directory is usually one the app's user can write, so it is
// opened without following a link that user could have planted on the way
// (package linksafe), and the temporary file is chmod'ed while open and renamed
// relative to the opened directory: a name swapped for a link meanwhile
// redirects nothing.
func savePNG(path string, img image.Image) error {
	dir, name := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	df, err := linksafe.OpenDir(dir, true, 0o755)
	if err != nil {
		return fmt.Errorf("screenshot %s: %w", path, err)
	}
	defer df.Close()
	dfd := int(df.Fd())
	tmp := ".screenshot-" + randomSuffix() + ".png"
	f, err := createAt(dfd, tmp, 0o600)
	if err != nil {
		return fmt.Errorf("%s: %w", dir, err)
	}
	err = (&png.Encoder{CompressionLevel: png.BestSpeed}).Encode(f, img)
	if err == nil {
		err = f.Chmod(0o644)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = unix.Renameat(dfd, tmp, dfd, name)
	}
	if err != nil {
		_ = unix.Unlinkat(dfd, tmp, 0)
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
