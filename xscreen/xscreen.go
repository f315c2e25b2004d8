package xscreen

import (
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"io"
	"log"
	"net"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/jezek/xgb"
	"github.com/jezek/xgb/shm"
	"github.com/jezek/xgb/xproto"
)

// SocketDir is where local X servers listen; they hard-code it.
const SocketDir = "/tmp/.X11-unix"

// DefaultTimeout is the deadline of a request on a Conn dialed with no timeout
// of its own.
const DefaultTimeout = 2 * time.Second

// stripBytes bounds one GetImage reply, and readAhead is how many are asked
// for before the first is read. A reply's buffer stays live in xgb's reader
// until the next reply comes, so on a connection that then goes quiet (the
// frozen-screen sampler's, between samples) the last strip stays on the heap:
// 4 MiB strips held 4 MiB, which against the runtime's 8 MiB soft limit
// (cmd/xinit-go/gc.go) left the collector running at every allocation, up to
// half a core. Small strips asked for ahead keep what stays small and the read
// one round trip long.
const (
	stripBytes = 256 << 10
	readAhead  = 4
)

// Format is the layout of screen 0's pixels.
type Format struct {
	Width, Height int
	Depth         int // bits of colour: 16, 24 or 30
	BitsPerPixel  int // 16 or 32
}

// Stride is the length of one row of a ZPixmap.
func (f Format) Stride() int { return f.Width * f.BitsPerPixel / 8 }

func (f Format) check() error {
	switch {
	case f.BitsPerPixel == 32 && (f.Depth == 24 || f.Depth == 32 || f.Depth == 30):
	case f.BitsPerPixel == 16 && f.Depth == 16:
	default:
		return fmt.Errorf("screen depth %d at %d bits per pixel is not supported", f.Depth, f.BitsPerPixel)
	}
	if f.Width <= 0 || f.Height <= 0 {
		return fmt.Errorf("screen of %dx%d pixels", f.Width, f.Height)
	}
	return nil
}

// Pixel decodes the pixel at byte offset i of a ZPixmap in this format.
func (f Format) Pixel(data []byte, i int) color.RGBA {
	switch {
	case f.BitsPerPixel == 32 && f.Depth == 30:
		v := uint32(data[i]) | uint32(data[i+1])<<8 | uint32(data[i+2])<<16 | uint32(data[i+3])<<24
		return color.RGBA{uint8(v >> 22), uint8(v >> 12), uint8(v >> 2), 255}
	case f.BitsPerPixel == 32:
		return color.RGBA{data[i+2], data[i+1], data[i], 255}
	default:
		v := uint16(data[i]) | uint16(data[i+1])<<8
		return color.RGBA{uint8(v>>11) << 3, uint8(v>>5&0x3f) << 2, uint8(v&0x1f) << 3, 255}
	}
}

// Black reports whether every pixel of a ZPixmap in this format is black or
// nearly so (each channel at most 8 of 255).
func (f Format) Black(data []byte) bool {
	if f.BitsPerPixel == 32 && f.Depth != 30 {
		for i := 0; i+3 < len(data); i += 4 {
			if data[i] > 8 || data[i+1] > 8 || data[i+2] > 8 {
				return false
			}
		}
		return true
	}
	step := f.BitsPerPixel / 8
	for i := 0; i+step <= len(data); i += step {
		p := f.Pixel(data, i)
		if p.R > 8 || p.G > 8 || p.B > 8 {
			return false
		}
	}
	return true
}

// Decode writes rows of a ZPixmap (stride bytes each) into img from row y on.
func (f Format) Decode(img *image.RGBA, y int, data []byte, stride int) {
	step := f.BitsPerPixel / 8
	for yy := 0; (yy+1)*stride <= len(data) && y+yy < img.Rect.Dy(); yy++ {
		row := data[yy*stride:]
		for x := 0; x < f.Width && x < img.Rect.Dx(); x++ {
			img.SetRGBA(x, y+yy, f.Pixel(row, x*step))
		}
	}
}

var quietXGB sync.Once

// Conn is a connection to a display, reading its screen 0. A Conn serves one
// request at a time.
type Conn struct {
	display Display
	nc      net.Conn
	cc      *cookieConn // nc, as xgb writes to it
	x       *xgb.Conn
	root    xproto.Drawable
	format  Format
	timeout time.Duration

	mu       sync.Mutex
	broken   error      // set once a request timed out or failed: the socket is closed
	shm      *shmStrips // nil: the pixels come through the socket
	shmTried bool       // useSHM ran (once, at the first read)
	shmWhy   string     // why the reads do not use MIT-SHM
}

// Dial connects to a local display over its Unix socket, under ctx and timeout
// (DefaultTimeout when zero): a server that accepts and never completes the
// handshake costs at most that. timeout is also the deadline of each later
// request. xgb's own logger is silenced: it writes to stderr, and the caller
// reports errors itself.
func Dial(ctx context.Context, d Display, timeout time.Duration) (*Conn, error) {
	return dial(ctx, d, filepath.Join(SocketDir, fmt.Sprintf("X%d", d.Num)), timeout)
}

func dial(ctx context.Context, d Display, path string, timeout time.Duration) (*Conn, error) {
	quietXGB.Do(func() { xgb.Logger = log.New(io.Discard, "", 0) })
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var dl net.Dialer
	nc, err := dl.DialContext(ctx, "unix", path)
	if err != nil {
		return nil, fmt.Errorf("connect to display %s: %w", d, err)
	}
	stop := context.AfterFunc(ctx, func() { nc.Close() })
	// The cookie is in hand: xgb would look for one only in $XAUTHORITY.
	cc := &cookieConn{Conn: nc, cookie: d.Cookie}
	x, err := xgb.NewConnNet(cc)
	if !stop() {
		// The deadline passed: the socket is closed, whatever xgb returned.
		if x != nil {
			x.Close()
		}
		return nil, fmt.Errorf("connect to display %s: no answer to the connection setup: %w", d, ctx.Err())
	}
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("connect to display %s: %w", d, err)
	}
	setup := xproto.Setup(x)
	s := setup.DefaultScreen(x)
	f := Format{Width: int(s.WidthInPixels), Height: int(s.HeightInPixels), Depth: int(s.RootDepth)}
	for _, pf := range setup.PixmapFormats {
		if pf.Depth == s.RootDepth {
			f.BitsPerPixel = int(pf.BitsPerPixel)
		}
	}
	return &Conn{display: d, nc: nc, cc: cc, x: x, root: xproto.Drawable(s.Root), format: f, timeout: timeout}, nil
}

// Format is screen 0's size and pixel layout, as the connection setup gave it.
func (c *Conn) Format() Format { return c.format }

// Close closes the connection at once, without waiting for the server, and
// lets go of the shared memory once a read in progress has seen the socket go.
func (c *Conn) Close() {
	c.nc.Close() // first: xgb's Close waits for its writer, which a stalled server may hold
	c.x.Close()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.broken == nil {
		c.broken = errClosed
	}
	if c.shm != nil {
		c.shm.detach()
		c.shm = nil
	}
}

var errClosed = errors.New("closed")

// SHM says whether reads come through MIT-SHM, and when not, why (after the
// first read; before it, false and "").
func (c *Conn) SHM() (bool, string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.shm != nil, c.shmWhy
}

// Read reads the whole of screen 0 under ctx and the Conn's timeout, handing
// each strip of rows to fn (data holds rows of Format().Stride() bytes from row
// y on; it is valid only during the call). When the deadline passes first, the
// connection is closed and the error wraps context.DeadlineExceeded.
func (c *Conn) Read(ctx context.Context, fn func(y int, data []byte)) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.broken != nil {
		return fmt.Errorf("display %s: the connection is closed: %w", c.display, c.broken)
	}
	f := c.format
	if err := f.check(); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	stop := context.AfterFunc(ctx, func() { c.nc.Close() })
	if !c.shmTried {
		c.shmTried = true
		if s, err := c.useSHM(); err == nil {
			c.shm = s
		} else {
			c.shmWhy = err.Error()
		}
	}
	err := c.read(f, fn)
	if !stop() {
		c.broken = ctx.Err()
		return fmt.Errorf("display %s: no answer to GetImage within %s: %w", c.display, c.timeout, ctx.Err())
	}
	if err != nil {
		c.broken = err
		c.nc.Close()
	}
	return err
}

// read asks for the screen strip by strip, readAhead strips ahead of the one
// it hands to fn; through MIT-SHM strip k lands in slot k mod readAhead of the
// shared memory, which is asked for again only after fn has returned from it.
func (c *Conn) read(f Format, fn func(y int, data []byte)) error {
	stride := f.Stride()
	rows := max(1, stripBytes/stride)
	type asked struct {
		image xproto.GetImageCookie
		shm   shm.GetImageCookie
	}
	var queue []asked
	next, strip := 0, 0 // the first row and the strip not yet asked for
	for y := 0; y < f.Height; y += rows {
		for ; next < f.Height && len(queue) < readAhead; next, strip = next+rows, strip+1 {
			h := uint16(min(rows, f.Height-next))
			if c.shm != nil {
				queue = append(queue, asked{shm: shm.GetImage(c.x, c.root, 0, int16(next), uint16(f.Width), h,
					0xffffffff, xproto.ImageFormatZPixmap, c.shm.seg, uint32(offset(strip)))})
			} else {
				queue = append(queue, asked{image: xproto.GetImage(c.x, xproto.ImageFormatZPixmap, c.root,
					0, int16(next), uint16(f.Width), h, 0xffffffff)})
			}
		}
		a := queue[0]
		queue = queue[1:]
		n := min(rows, f.Height-y)
		var data []byte
		if c.shm != nil {
			rep, err := a.shm.Reply()
			if err != nil {
				return fmt.Errorf("display %s: MIT-SHM GetImage: %w", c.display, err)
			}
			if int(rep.Size) < n*stride {
				return fmt.Errorf("display %s: MIT-SHM GetImage: %d bytes for %d rows of %d", c.display, rep.Size, n, stride)
			}
			data = c.shm.strip(y / rows)
		} else {
			rep, err := a.image.Reply()
			if err != nil {
				return fmt.Errorf("display %s: GetImage: %w", c.display, err)
			}
			if len(rep.Data) < n*stride {
				return fmt.Errorf("display %s: GetImage: %d bytes for %d rows of %d", c.display, len(rep.Data), n, stride)
			}
			data = rep.Data
		}
		fn(y, data[:n*stride])
	}
	return nil
}

// Stalled reports whether err says the X server did not answer: a request that
// outlived its deadline, or a connection refused because the server has left
// its accept queue full. A refused or missing socket (no server) and a
// caller's cancel are not stalls.
func Stalled(err error) bool {
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, syscall.EAGAIN)
}

// Capture reads screen 0 of a display into an image, under ctx and timeout
// (DefaultTimeout when zero) for each of the connection and the read.
func Capture(ctx context.Context, d Display, timeout time.Duration) (*image.RGBA, error) {
	c, err := Dial(ctx, d, timeout)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	// Evidence comes through the socket: any client may write into a
	// segment it names (shmStrips).
	c.shmTried, c.shmWhy = true, "a screenshot reads through the socket"
	f := c.Format()
	if err := f.check(); err != nil {
		return nil, err
	}
	img := image.NewRGBA(image.Rect(0, 0, f.Width, f.Height))
	stride := f.Stride()
	if err := c.Read(ctx, func(y int, data []byte) { f.Decode(img, y, data, stride) }); err != nil {
		return nil, err
	}
	return img, nil
}

// Size reads the size and depth of screen 0 of a display.
func Size(ctx context.Context, d Display, timeout time.Duration) (Format, error) {
	c, err := Dial(ctx, d, timeout)
	if err != nil {
		return Format{}, err
	}
	defer c.Close()
	return c.Format(), nil
}
