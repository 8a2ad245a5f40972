package ui

import (
	"context"
	"errors"
	"math/rand/v2"
	"roomkiosk/internal/room"
	"sync"
	"time"
)

// Conn is one connection to the daemon's control socket (a *control.Client
// behind a small adapter in cmd/roomkiosk-screen).
type Conn interface {
	// Snapshots delivers the current snapshot at once, then every change;
	// it is closed when the connection ends.
	Snapshots() <-chan room.Snapshot
	Send(ctx context.Context, in room.Intent) error
	Close()
}

// DialFunc opens a connection.
type DialFunc func(ctx context.Context) (Conn, error)

// ErrNotConnected is returned by Send while the daemon is unreachable.
var ErrNotConnected = errors.New("not connected to the daemon")

// Link keeps a connection to the daemon, redialling with backoff when the
// daemon restarts, and holds the latest snapshot. The screen's state lives
// in the daemon: after a reconnect the first snapshot restores the scene.
type Link struct {
	dial     DialFunc
	onChange func()
	minWait  time.Duration
	maxWait  time.Duration

	mu        sync.Mutex
	conn      Conn
	snap      room.Snapshot
	connected bool
	version   uint64
}

// NewLink returns a link that calls onChange (from its own goroutine) after
// every snapshot and every change of connection state.
func NewLink(dial DialFunc, onChange func()) *Link {
	if onChange == nil {
		onChange = func() {}
	}
	return &Link{dial: dial, onChange: onChange, minWait: 50 * time.Millisecond, maxWait: 2 * time.Second}
}

// State returns the latest snapshot, whether it is live, and a counter that
// grows with every change.
func (l *Link) State() (snap room.Snapshot, connected bool, version uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.snap, l.connected, l.version
}

// Send sends an intent over the current connection.
func (l *Link) Send(ctx context.Context, in room.Intent) error {
	l.mu.Lock()
	c := l.conn
	l.mu.Unlock()
	if c == nil {
		return ErrNotConnected
	}
	return c.Send(ctx, in)
}

// Run dials, reads snapshots and redials until ctx ends.
func (l *Link) Run(ctx context.Context) {
	wait := l.minWait
	for ctx.Err() == nil {
		c, err := l.dial(ctx)
		if err != nil {
			// Jitter so many screens do not hammer a restarting daemon in step.
			d := wait/2 + rand.N(wait/2+1)
			select {
			case <-ctx.Done():
				return
			case <-time.After(d):
			}
			wait = min(wait*2, l.maxWait)
			continue
		}
		wait = l.minWait
		l.mu.Lock()
		l.conn = c
		l.mu.Unlock()
		l.read(ctx, c)
		c.Close()
		l.mu.Lock()
		l.conn = nil
		l.connected = false
		l.version++
		l.mu.Unlock()
		l.onChange()
	}
}

func (l *Link) read(ctx context.Context, c Conn) {
	ch := c.Snapshots()
	for {
		select {
		case <-ctx.Done():
			return
		case s, ok := <-ch:
			if !ok {
				return
			}
			l.mu.Lock()
			l.snap = s
			l.connected = true
			l.version++
			l.mu.Unlock()
			l.onChange()
		}
	}
}
