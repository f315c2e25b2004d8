package stream

import (
	"context"
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"github.com/xinit-go/xinit-go/internal/netguard"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"go.uber.org/goleak"
	"go.uber.org/zap/zaptest"
)

type fakeInput struct {
	mu     sync.Mutex
	events []string
}

func (f *fakeInput) add(s string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.events = append(f.events, s)
	return nil
}
func (f *fakeInput) Move(x, y float64) error    { return f.add("move") }
func (f *fakeInput) Button(b int, d bool) error { return f.add("button") }
func (f *fakeInput) Key(s uint32, d bool) error { return f.add("key") }
func (f *fakeInput) Release()                   {}
func (f *fakeInput) got() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return strings.Join(f.events, ",")
}

func newTestServer(t *testing.T, password string, o ServerOptions) (*Server, *Hub, *fakeInput, string) {
	t.Helper()
	// What ran before the server is not its leak; what it leaves after its
	// close is (the cleanups run last in, first out: this one after the close).
	before := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, before) })
	hub := NewHub(HubOptions{})
	in := &fakeInput{}
	o.Hub, o.Input, o.Password, o.Log = hub, in, password, zaptest.NewLogger(t)
	s, err := NewServer(o)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(s)
	t.Cleanup(func() { s.Close(); hs.Close() })
	return s, hub, in, "ws" + strings.TrimPrefix(hs.URL, "http")
}

func dial(t *testing.T, url string) *websocket.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{Subprotocols: []string{Subprotocol}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.CloseNow() })
	return c
}

func readJSON(t *testing.T, c *websocket.Conn) map[string]any {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	typ, b, err := c.Read(ctx)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	if typ != websocket.MessageText {
		t.Fatalf("a binary message (%d bytes) where a text one was due", len(b))
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func writeJSON(t *testing.T, c *websocket.Conn, v any) {
	t.Helper()
	b, _ := json.Marshal(v)
	if err := c.Write(context.Background(), websocket.MessageText, b); err != nil {
		t.Fatal(err)
	}
}

// answer is the page's login computation, from the hello.
func answer(t *testing.T, h map[string]any, password string) string {
	t.Helper()
	salt, _ := base64.StdEncoding.DecodeString(h["salt"].(string))
	nonce, _ := base64.StdEncoding.DecodeString(h["nonce"].(string))
	key, err := pbkdf2.Key(sha256.New, password, salt, int(h["iterations"].(float64)), 32)
	if err != nil {
		t.Fatal(err)
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte(loginLabel))
	m.Write(nonce)
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// The right password: welcome, the codec, the keyframe with its time; input
// is injected and latency reports reach the metrics.
func TestServerLoginAndStream(t *testing.T) {
	s, hub, in, url := newTestServer(t, "pw-0123456789", ServerOptions{})
	at := time.UnixMicro(1_700_000_000_123_456)
	hub.Publish(key(), at)
	c := dial(t, url)
	h := readJSON(t, c)
	if h["type"] != "hello" || h["auth"] != "pbkdf2-hmac-sha256" {
		t.Fatalf("hello: %v", h)
	}
	writeJSON(t, c, map[string]any{"type": "login", "mac": answer(t, h, "pw-0123456789")})
	if m := readJSON(t, c); m["type"] != "welcome" {
		t.Fatalf("after the login: %v", m)
	}
	if m := readJSON(t, c); m["type"] != "config" || m["codec"] != "avc1.42c01f" {
		t.Fatalf("config: %v", m)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	typ, b, err := c.Read(ctx)
	if err != nil || typ != websocket.MessageBinary || b[0] != 1 ||
		binary.BigEndian.Uint64(b[1:9]) != uint64(at.UnixMicro()) || string(b[9:]) != string(key().Data) {
		t.Fatalf("the keyframe: %v %x %v", typ, b, err)
	}
	writeJSON(t, c, map[string]any{"t": "m", "x": 0.5, "y": 0.5})
	writeJSON(t, c, map[string]any{"t": "b", "b": 1, "d": 1, "x": 0.5, "y": 0.5})
	writeJSON(t, c, map[string]any{"t": "k", "s": 0xff1b, "d": 1})
	writeJSON(t, c, map[string]any{"t": "l", "ms": 12.5})
	deadline := time.Now().Add(5 * time.Second)
	for in.got() != "move,move,button,key" || s.o.Metrics.received.Value() != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("injected %q, %v latency reports", in.got(), s.o.Metrics.received.Value())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if hub.Viewers() != 1 || s.o.Metrics.viewers.Value() != 1 {
		t.Errorf("%d viewers in the hub, gauge %v", hub.Viewers(), s.o.Metrics.viewers.Value())
	}
	c.Close(websocket.StatusNormalClosure, "")
	for hub.Viewers() != 0 {
		if time.Now().After(deadline) {
			t.Fatal("the viewer never left the hub")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// A wrong password: denied, closed, never a picture nor an injected event;
// after netguard.FreeGuesses from one address, that address waits (the right
// password too), while another address logs in.
func TestServerWrongPasswordAndLockout(t *testing.T) {
	s, hub, in, url := newTestServer(t, "pw-0123456789", ServerOptions{})
	hub.Publish(key(), time.Now())
	for range netguard.FreeGuesses {
		c := dial(t, url)
		h := readJSON(t, c)
		writeJSON(t, c, map[string]any{"type": "login", "mac": answer(t, h, "wrong")})
		writeJSON(t, c, map[string]any{"t": "k", "s": 0xff1b, "d": 1})
		if m := readJSON(t, c); m["type"] != "denied" {
			t.Fatalf("a wrong password: %v", m)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, b, err := c.Read(ctx)
		cancel()
		if err == nil {
			t.Fatalf("after denied: a message of %d bytes", len(b))
		}
	}
	// The next login from 127.0.0.1 counts the three wrong ones: it must wait.
	c := dial(t, url)
	if m := readJSON(t, c); m["type"] == "hello" {
		writeJSON(t, c, map[string]any{"type": "login", "mac": answer(t, m, "wrong")})
		readJSON(t, c)
	}
	c = dial(t, url)
	if m := readJSON(t, c); m["type"] != "denied" || !strings.Contains(m["reason"].(string), "too many") {
		t.Fatalf("after %d failures: %v", netguard.FreeGuesses+1, m)
	}
	if in.got() != "" || s.o.Metrics.frames.WithLabelValues("sent").Value() != 0 {
		t.Errorf("input %q and %v pictures reached viewers that failed", in.got(), s.o.Metrics.frames.WithLabelValues("sent").Value())
	}
	if v := s.o.Metrics.logins.WithLabelValues(loginLocked).Value(); v != 1 {
		t.Errorf("locked logins %v", v)
	}
}

// TestServerGuessesArePerAddressAndShared: the record is the VNC bridge's too
// (one Guesses), per address: another address is not locked out by the first,
// and wrong passwords there count here.
func TestServerGuessesArePerAddressAndShared(t *testing.T) {
	g := netguard.NewGuesses()
	now := time.Now()
	for range netguard.FreeGuesses + 1 {
		if g.Begin("127.0.0.1", now) == 0 {
			g.End("127.0.0.1", netguard.LoginFailed, now)
		}
	}
	_, _, _, url := newTestServer(t, "pw-0123456789", ServerOptions{Guesses: g})
	c := dial(t, url)
	if m := readJSON(t, c); m["type"] != "denied" {
		t.Fatalf("127.0.0.1 after wrong passwords on the other endpoint: %v", m)
	}
	if g.Begin("10.0.0.9", now) != 0 {
		t.Fatal("another address waits")
	}
}

// No answer within the login deadline: denied.
func TestServerLoginDeadline(t *testing.T) {
	s, _, _, url := newTestServer(t, "pw-0123456789", ServerOptions{LoginTimeout: 200 * time.Millisecond})
	c := dial(t, url)
	readJSON(t, c)
	if m := readJSON(t, c); m["type"] != "denied" {
		t.Fatalf("no login: %v", m)
	}
	if v := s.o.Metrics.logins.WithLabelValues(loginTimeout).Value(); v != 1 {
		t.Errorf("timed-out logins %v", v)
	}
}

// Without a password: straight to the pictures; Close ends the viewers.
func TestServerNoPasswordAndClose(t *testing.T) {
	s, hub, _, url := newTestServer(t, "", ServerOptions{})
	c := dial(t, url)
	if h := readJSON(t, c); h["auth"] != "none" {
		t.Fatalf("hello: %v", h)
	}
	if m := readJSON(t, c); m["type"] != "welcome" {
		t.Fatalf("%v", m)
	}
	hub.Publish(key(), time.Now())
	readJSON(t, c) // config
	s.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for {
		typ, b, err := c.Read(ctx)
		if err != nil {
			t.Fatalf("closed without a bye: %v", err)
		}
		if typ == websocket.MessageText && strings.Contains(string(b), `"bye"`) {
			break
		}
	}
}
