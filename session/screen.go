package session

import (
	"context"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"log"
	"net"
	"os"
	"path/filepath"
	"sync"

	"github.com/jezek/xgb"
	"github.com/jezek/xgb/xproto"
	"golang.org/x/sys/unix"
)

var quietXGB sync.Once

// dialX connects to a local display over its Unix socket. Everything it does,
// and every request on the connection it returns, ends when ctx does: the socket
// is closed then, which ends any Reply that waits (xgb's own Close would wait for
// the server to answer, and a stalled server never does). release closes the
// connection. xgb's own logger is silenced: it writes to stderr, and the caller
// reports errors itself.
func dialX(ctx context.Context, display Display) (c *xgb.Conn, release func(), err error) {
	quietXGB.Do(func() { xgb.Logger = log.New(io.Discard, "", 0) })
	var d net.Dialer
	nc, err := d.DialContext(ctx, "unix", filepath.Join(SocketDir, fmt.Sprintf("X%d", display.Num)))
	if err != nil {
		return nil, nil, fmt.Errorf("connect to display %s: %w", display, err)
	}
	stop := context.AfterFunc(ctx, func() { nc.Close() })
	// The cookie is in hand: xgb would look for one only in $XAUTHORITY.
	c, err = xgb.NewConnNet(&cookieConn{Conn: nc, cookie: display.Cookie})
	if err != nil {
		stop()
		nc.Close()
		if ctx.Err() != nil {
			return nil, nil, fmt.Errorf("connect to display %s: %w", display, ctx.Err())
		}
		return nil, nil, fmt.Errorf("connect to display %s: %w", display, err)
	}
	return c, func() {
		stop()
		c.Close()
		nc.Close()
	}, nil
}

// ScreenSize reads the size and depth of screen 0 of a display.
func ScreenSize(ctx context.Context, display Display) (w, h, depth int, err error) {
	c, release, err := dialX(ctx, display)
	if err != nil {
		return 0, 0, 0, err
	}
	defer release()
	s := xproto.Setup(c).DefaultScreen(c)
	return int(s.WidthInPixels), int(s.HeightInPixels), int(s.RootDepth), nil
}

// checkScreen verifies that screen 0 has the requested size.
func checkScreen(ctx context.Context, display Display, width, height int) error {
	w, h, _, err := ScreenSize(ctx, display)
	if err != nil {
		return err
	}
	if w != width || h != height {
		return fmt.Errorf("display %s came up at %dx%d, not the requested %dx%d; the X server rejected the size (see its log), choose another SCREEN_RESOLUTION", display, w, h, width, height)
	}
	return nil
}

// Capture reads screen 0 of a display into an image.
func Capture(ctx context.Context, display Display) (*image.RGBA, error) {
	c, release, err := dialX(ctx, display)
	if err != nil {
		return nil, err
	}
	defer release()
	setup := xproto.Setup(c)
	s := setup.DefaultScreen(c)
	w, h := int(s.WidthInPixels), int(s.HeightInPixels)
	bpp := 0
	for _, f := range setup.PixmapFormats {
		if f.Depth == s.RootDepth {
			bpp = int(f.BitsPerPixel)
		}
	}
	if bpp != 32 && bpp != 16 {
		return nil, fmt.Errorf("screen depth %d at %d bits per pixel is not supported", s.RootDepth, bpp)
	}
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	// Read in strips of about 4 MiB, so a large screen needs no huge reply.
	rows := max(1, (4<<20)/(w*bpp/8))
	for y := 0; y < h; y += rows {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		n := min(rows, h-y)
		rep, err := xproto.GetImage(c, xproto.ImageFormatZPixmap, xproto.Drawable(s.Root),
			0, int16(y), uint16(w), uint16(n), 0xffffffff).Reply()
		if err != nil {
			if ctx.Err() != nil {
				return nil, fmt.Errorf("GetImage: %w", ctx.Err())
			}
			return nil, fmt.Errorf("GetImage: %w", err)
		}
		stride := len(rep.Data) / n
		for yy := 0; yy < n; yy++ {
			row := rep.Data[yy*stride:]
			for x := 0; x < w; x++ {
				var px color.RGBA
				switch {
				case bpp == 32 && s.RootDepth == 30:
					v := uint32(row[x*4]) | uint32(row[x*4+1])<<8 | uint32(row[x*4+2])<<16 | uint32(row[x*4+3])<<24
					px = color.RGBA{uint8(v >> 22), uint8(v >> 12), uint8(v >> 2), 255}
				case bpp == 32:
					px = color.RGBA{row[x*4+2], row[x*4+1], row[x*4], 255}
				default:
					v := uint16(row[x*2]) | uint16(row[x*2+1])<<8
					px = color.RGBA{uint8(v>>11) << 3, uint8(v>>5&0x3f) << 2, uint8(v&0x1f) << 3, 255}
				}
				img.SetRGBA(x, y+yy, px)
			}
		}
	}
	return img, nil
}

// WritePNG captures a display into a PNG file, atomically. It returns when ctx
// ends, even when the X server has stopped answering.
func WritePNG(ctx context.Context, display Display, path string) error {
	img, err := Capture(ctx, display)
	if err != nil {
		return err
	}
	return savePNG(path, img)
}

// savePNG writes img to path (mode 0644) through a new temporary file in the same
// directory. The directory is usually one the app's user can write, so the
// temporary file is chmod'ed while open and renamed relative to the opened
// directory: a name swapped for a link meanwhile redirects nothing.
func savePNG(path string, img image.Image) error {
	dir, name := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	dfd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open %s: %w", dir, err)
	}
	defer unix.Close(dfd)
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
