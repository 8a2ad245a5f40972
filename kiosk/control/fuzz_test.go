package control

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"net"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"roomkiosk/internal/room"
)

// fuzzCore is a session core that records what reaches it.
type fuzzCore struct {
	mu   sync.Mutex
	sent []room.Intent
}

func (c *fuzzCore) Snapshot() room.Snapshot { return room.Snapshot{Step: room.StepDoor} }
func (c *fuzzCore) Subscribe() (<-chan room.Snapshot, func()) {
	ch := make(chan room.Snapshot, 1)
	ch <- c.Snapshot()
	return ch, func() {}
}
func (c *fuzzCore) Send(ctx context.Context, in room.Intent) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sent = append(c.sent, in)
	if in.Kind == room.IntentPINDigit {
		return &room.RefusedError{Kind: in.Kind, Step: room.StepDoor, Err: room.ErrWrongStep}
	}
	return nil
}

// socketPair returns both ends of a connected unix stream socket pair.
func socketPair(t *testing.T) (*net.UnixConn, *net.UnixConn) {
	t.Helper()
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	conn := func(fd int) *net.UnixConn {
		f := os.NewFile(uintptr(fd), "socketpair")
		defer f.Close()
		c, err := net.FileConn(f)
		if err != nil {
			t.Fatal(err)
		}
		return c.(*net.UnixConn)
	}
	return conn(fds[0]), conn(fds[1])
}

// FuzzDecode feeds anything a peer on the control socket could send to the
// daemon's side of the protocol: it never panics or hangs, every line it
// writes back is a protocol message, and no override reason outside the
// fixed list reaches the core.
func FuzzDecode(f *testing.F) {
	f.Add([]byte(`{"id":1,"intent":{"kind":"consent","participant":1,"yes":true}}` + "\n"))
	f.Add([]byte(`{"id":2,"intent":{"kind":"check_override","reason":"` + "\x1b[2J" + `"}}` + "\n"))
	f.Add([]byte(`{"id":3,"intent":{"kind":"pin_digit","digit":4}}` + "\n" + `{"id":4,"intent":{"kind":"check_override","reason":"other"}}` + "\n"))
	f.Add([]byte("{\n"))
	f.Add([]byte(`{"id":0}` + "\n"))
	f.Fuzz(func(t *testing.T, input []byte) {
		core := &fuzzCore{}
		s := &Server{core: core, log: zerolog.Nop(), conns: map[net.Conn]struct{}{}}
		srv, cl := socketPair(t)
		defer cl.Close()
		done := make(chan struct{})
		go func() { defer close(done); s.handle(context.Background(), srv) }()
		go func() {
			cl.SetWriteDeadline(time.Now().Add(5 * time.Second))
			cl.Write(input)
			cl.CloseWrite()
		}()
		cl.SetReadDeadline(time.Now().Add(10 * time.Second))
		sc := bufio.NewScanner(cl)
		sc.Buffer(make([]byte, 4096), maxLine)
		for sc.Scan() {
			var m message
			if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
				t.Fatalf("the server wrote a line that is not a message: %q", sc.Bytes())
			}
		}
		if err := sc.Err(); errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatal("the server hung")
		}
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatal("handle did not return after the peer closed")
		}
		core.mu.Lock()
		defer core.mu.Unlock()
		for _, in := range core.sent {
			if in.Kind == room.IntentCheckOverride && !room.ValidOverrideReason(in.Reason) {
				t.Fatalf("override reason %q reached the core", in.Reason)
			}
		}
	})
}
