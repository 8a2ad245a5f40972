package control

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"roomkiosk/internal/room"
	"sync"
	"time"
)

// ErrConnClosed is returned by Send once the connection has ended.
var ErrConnClosed = errors.New("control connection closed")

// Client is a connection to the daemon's control socket.
type Client struct {
	conn  net.Conn
	snaps chan room.Snapshot
	done  chan struct{} // closed when the reader ends

	wmu sync.Mutex // serialises writes

	mu      sync.Mutex
	nextID  uint64
	pending map[uint64]chan *wireError
	err     error // why the connection ended
}

// Dial connects to the daemon's control socket at path.
func Dial(ctx context.Context, path string) (*Client, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", path)
	if err != nil {
		return nil, fmt.Errorf("dial control socket: %w", err)
	}
	c := &Client{
		conn:    conn,
		snaps:   make(chan room.Snapshot, 1),
		done:    make(chan struct{}),
		pending: map[uint64]chan *wireError{},
	}
	go c.read()
	return c, nil
}

// Snapshots delivers the current snapshot at once, then the latest one after
// every change (a slow reader skips intermediate ones). It is closed when the
// connection ends.
func (c *Client) Snapshots() <-chan room.Snapshot { return c.snaps }

// Send sends an intent and waits for the daemon's decision: nil when
// accepted, a *room.RefusedError (errors.Is works with the session
// sentinels) when refused, or a transport error.
func (c *Client) Send(ctx context.Context, in room.Intent) error {
	reply := make(chan *wireError, 1)
	c.mu.Lock()
	if c.err != nil {
		err := c.err
		c.mu.Unlock()
		return fmt.Errorf("send %s: %w", in.Kind, err)
	}
	c.nextID++
	id := c.nextID
	c.pending[id] = reply
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		delete(c.pending, id)
		c.mu.Unlock()
	}()

	b, err := json.Marshal(request{ID: id, Intent: in})
	if err != nil {
		return fmt.Errorf("send %s: %w", in.Kind, err)
	}
	b = append(b, '\n')
	c.wmu.Lock()
	dl, _ := ctx.Deadline()
	_ = c.conn.SetWriteDeadline(dl)
	_, err = c.conn.Write(b)
	c.wmu.Unlock()
	if err != nil {
		return fmt.Errorf("send %s: %w", in.Kind, err)
	}
	select {
	case w := <-reply:
		return fromWire(w)
	case <-c.done:
		select {
		case w := <-reply:
			return fromWire(w)
		default:
		}
		return fmt.Errorf("send %s: %w", in.Kind, c.closeErr())
	case <-ctx.Done():
		return fmt.Errorf("send %s: %w", in.Kind, ctx.Err())
	}
}

// Close ends the connection and waits for the reader to stop.
func (c *Client) Close() error {
	err := c.conn.Close()
	<-c.done
	if errors.Is(err, net.ErrClosed) {
		err = nil
	}
	return err
}

func (c *Client) closeErr() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

func (c *Client) read() {
	defer close(c.done)
	defer close(c.snaps)
	sc := bufio.NewScanner(c.conn)
	sc.Buffer(make([]byte, 64<<10), maxLine)
	var err error
	for sc.Scan() {
		var m message
		if err = json.Unmarshal(sc.Bytes(), &m); err != nil {
			err = fmt.Errorf("control protocol: %w", err)
			break
		}
		if m.Snapshot != nil {
			c.deliver(*m.Snapshot)
		}
		if m.Reply != 0 {
			c.mu.Lock()
			ch := c.pending[m.Reply]
			c.mu.Unlock()
			if ch != nil {
				ch <- m.Error // buffered, one reply per id
			}
		}
	}
	if err == nil {
		err = sc.Err()
	}
	if err == nil || errors.Is(err, net.ErrClosed) {
		err = ErrConnClosed
	} else {
		err = fmt.Errorf("%w: %w", ErrConnClosed, err)
	}
	c.mu.Lock()
	c.err = err
	c.mu.Unlock()
	_ = c.conn.Close()
}

// deliver keeps only the latest snapshot for a slow reader; read is the
// only sender, so after a drain the send cannot block.
func (c *Client) deliver(s room.Snapshot) {
	select {
	case c.snaps <- s:
		return
	default:
	}
	select {
	case <-c.snaps:
	default:
	}
	c.snaps <- s
}

// writeTimeout bounds a write to a peer that stopped reading.
const writeTimeout = 5 * time.Second
