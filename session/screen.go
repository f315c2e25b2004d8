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
)

var quietXGB sync.Once

// dialX connects to a local display over its Unix socket, with the display's
// cookie. xgb's own logger is silenced: it writes to stderr, and the caller
// reports errors itself.
func dialX(ctx context.Context, display Display) (*xgb.Conn, error) {
	quietXGB.Do(func() { xgb.Logger = log.New(io.Discard, "", 0) })
	type result struct {
		c   *xgb.Conn
		err error
	}
	ch := make(chan result, 1)
	go func() {
		var d net.Dialer
		nc, err := d.DialContext(ctx, "unix", filepath.Join(SocketDir, fmt.Sprintf("X%d", display.Num)))
		if err != nil {
			ch <- result{nil, err}
			return
		}
		c, err := xgb.NewConnNet(&cookieConn{Conn: nc, cookie: display.Cookie})
		if err != nil {
			nc.Close()
		}
		ch <- result{c, err}
	}()
	select {
	case r := <-ch:
		if r.err != nil {
			return nil, fmt.Errorf("connect to display %s: %w", display, r.err)
		}
		return r.c, nil
	case <-ctx.Done():
		go func() {
			if r := <-ch; r.c != nil {
				r.c.Close()
			}
		}()
		return nil, ctx.Err()
	}
}

// ScreenSize reads the size and depth of screen 0 of a display.
func ScreenSize(ctx context.Context, display Display) (w, h, depth int, err error) {
	c, err := dialX(ctx, display)
	if err != nil {
		return 0, 0, 0, err
	}
	defer c.Close()
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
	c, err := dialX(ctx, display)
	if err != nil {
		return nil, err
	}
	defer c.Close()
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

// WritePNG captures a display into a PNG file, atomically.
func WritePNG(ctx context.Context, display Display, path string) error {
	img, err := Capture(ctx, display)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".screenshot-*.png")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := (&png.Encoder{CompressionLevel: png.BestSpeed}).Encode(tmp, img); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
