package xscreen

import (
	"context"
	"fmt"
	"image"
	"image/png"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"

	"github.com/xinit-go/xinit-go/internal/linksafe"
)

// Remaining is the deadline of each X request made for ctx: what is left of
// it, or DefaultTimeout when it has none.
func Remaining(ctx context.Context) time.Duration {
	if d, ok := ctx.Deadline(); ok {
		return max(time.Until(d), time.Millisecond)
	}
	return DefaultTimeout
}

// WritePNG captures a display into a PNG file, atomically. It returns when ctx
// ends, even when the X server has stopped answering.
func WritePNG(ctx context.Context, d Display, path string) error {
	img, err := Capture(ctx, d, Remaining(ctx))
	if err != nil {
		return err
	}
	return SavePNG(path, img)
}

// SavePNG writes img to path (mode 0644) through a new temporary file in the
// same directory. The directory is usually one the app's user can write, so it
// is opened without following a link that user could have planted on the way
// (package linksafe), and the temporary file is chmod'ed while open and renamed
// relative to the opened directory: a name swapped for a link meanwhile
// redirects nothing.
func SavePNG(path string, img image.Image) error {
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
	tmp := ".screenshot-" + linksafe.RandomName() + ".png"
	f, err := linksafe.CreateAt(dfd, tmp, 0o600)
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
