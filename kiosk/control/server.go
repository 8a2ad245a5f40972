package control

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"roomkiosk/internal/room"
	"strconv"
	"sync"
	"time"

	"github.com/rs/zerolog"
)

// sendTimeout bounds one intent's decision (a PIN check included).
const sendTimeout = 30 * time.Second

// Server serves the core's snapshots and takes intents on a unix socket.
type Server struct {
	path string
	ln   *net.UnixListener
	core Core
	log  zerolog.Logger
	uid  int // the daemon's own
	gid  int // the socket's group

	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
	wg     sync.WaitGroup
}

// Core is what the server needs of the session core (kiosk/session.Core):
// declared here so that the screen, which links this package for its client,
// does not link the state machine.
type Core interface {
	Snapshot() room.Snapshot
	Subscribe() (<-chan room.Snapshot, func())
	Send(ctx context.Context, in room.Intent) error
}

// Listen creates the control socket at path: a stale socket file is
// removed, the socket gets mode 0660 and, when group is not empty, that
// group (which must exist). Peers are let in when they are root, the
// daemon's own user, or members of the socket's group.
func Listen(path string, group string, core Core, log zerolog.Logger) (*Server, error) {
	if core == nil {
		return nil, errors.New("control socket: no session core")
	}
	gid := os.Getegid()
	if group != "" {
		g, err := user.LookupGroup(group)
		if err != nil {
			return nil, fmt.Errorf("control socket %s: group %q: %w (create it, or set control.group to an existing group)", path, group, err)
		}
		if gid, err = strconv.Atoi(g.Gid); err != nil {
			return nil, fmt.Errorf("control socket %s: group %q: gid %q: %w", path, group, g.Gid, err)
		}
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("control socket: %w", err)
	}
	if err := removeStale(path); err != nil {
		return nil, err
	}
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("control socket: %w", err)
	}
	// Between bind and chmod the socket has umask permissions; peer
	// credentials are checked on every connection anyway.
	if err := os.Chmod(path, 0o660); err != nil {
		ln.Close()
		return nil, fmt.Errorf("control socket: %w", err)
	}
	if group != "" {
		if err := os.Chown(path, -1, gid); err != nil {
			ln.Close()
			return nil, fmt.Errorf("control socket %s: give it to group %q: %w", path, group, err)
		}
	}
	return &Server{
		path:  path,
		ln:    ln,
		core:  core,
		log:   log.With().Str("component", "control").Logger(),
		uid:   os.Geteuid(),
		gid:   gid,
		conns: map[net.Conn]struct{}{},
	}, nil
}

// removeStale deletes a socket file left by a daemon that died, refusing to
// touch anything that is not a socket or a socket someone still listens on.
func removeStale(path string) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("control socket: %w", err)
	}
	if fi.Mode()&os.ModeSocket == 0 {
		return fmt.Errorf("control socket %s: exists and is not a socket; not removing it", path)
	}
	if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
		c.Close()
		return fmt.Errorf("control socket %s: in use (is another roomkiosk running?)", path)
	}
	if err := os.Remove(path); err != nil {
		return fmt.Errorf("control socket: remove stale %s: %w", path, err)
	}
	return nil
}

// Path returns the socket's path.
func (s *Server) Path() string { return s.path }

// Serve accepts connections until ctx ends or Close is called, then closes
// every connection and returns nil.
func (s *Server) Serve(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(ctx, func() { s.Close() })
	defer stop()
	for {
		conn, err := s.ln.AcceptUnix()
		if err != nil {
			s.mu.Lock()
			closed := s.closed
			s.mu.Unlock()
			if closed || errors.Is(err, net.ErrClosed) {
				s.Close()
				s.wg.Wait()
				return nil
			}
			s.log.Error().Err(err).Msg("accept")
			select {
			case <-time.After(100 * time.Millisecond):
			case <-ctx.Done():
			}
			continue
		}
		cred, err := peerCred(conn)
		if err != nil {
			s.log.Warn().Err(err).Msg("connection refused: peer credentials unreadable")
			conn.Close()
			continue
		}
		if ok, why := s.allowed(cred); !ok {
			s.log.Warn().Int("uid", cred.uid).Int("gid", cred.gid).Int("pid", cred.pid).Str("why", why).Msg("connection refused")
			conn.Close()
			continue
		}
		if !s.track(conn) {
			conn.Close()
			continue
		}
		s.log.Debug().Int("uid", cred.uid).Int("pid", cred.pid).Msg("client connected")
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer s.untrack(conn)
			s.handle(ctx, conn)
		}()
	}
}

// Close stops accepting, ends every connection and removes the socket file.
// It is safe to call more than once.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	err := s.ln.Close() // also unlinks the socket file
	if errors.Is(err, net.ErrClosed) {
		err = nil
	}
	return err
}

func (s *Server) track(c net.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.conns[c] = struct{}{}
	return true
}

func (s *Server) untrack(c net.Conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
	c.Close()
}

func (s *Server) allowed(c ucred) (bool, string) {
	groups, err := supplementaryGroups(c.pid)
	if err != nil {
		// Without the list the primary group still decides.
		s.log.Debug().Err(err).Int("pid", c.pid).Msg("read supplementary groups")
	}
	return allowed(c, s.uid, s.gid, groups)
}

// allowed is the peer policy: root, the daemon's own user, or a member
// (primary or supplementary) of the socket's group.
func allowed(c ucred, selfUID, sockGID int, groups []int) (bool, string) {
	switch {
	case c.uid == 0:
		return true, "root"
	case c.uid == selfUID:
		return true, "same user"
	case c.gid == sockGID:
		return true, "primary group"
	}
	for _, g := range groups {
		if g == sockGID {
			return true, "supplementary group"
		}
	}
	return false, fmt.Sprintf("uid %d is not root, not the daemon's user and not in group %d", c.uid, sockGID)
}

// handle serves one connection: a writer sends snapshots and replies, the
// reader decides intents one at a time.
func (s *Server) handle(ctx context.Context, conn net.Conn) {
	snaps, unsubscribe := s.core.Subscribe()
	defer unsubscribe()
	replies := make(chan message, 8)
	connDone := make(chan struct{})
	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		defer conn.Close() // unblocks the reader when the peer stops reading
		enc := json.NewEncoder(conn)
		write := func(m message) bool {
			_ = conn.SetWriteDeadline(time.Now().Add(writeTimeout))
			if err := enc.Encode(m); err != nil {
				s.log.Debug().Err(err).Msg("write to client")
				return false
			}
			return true
		}
		for {
			select {
			case snap := <-snaps:
				if !write(message{Snapshot: &snap}) {
					return
				}
			case m := <-replies:
				if !write(m) {
					return
				}
			case <-connDone:
				return
			}
		}
	}()
	defer func() {
		close(connDone)
		<-writerDone
	}()

	sc := bufio.NewScanner(conn)
	sc.Buffer(make([]byte, 4096), maxLine)
	for sc.Scan() {
		var req request
		if err := json.Unmarshal(sc.Bytes(), &req); err != nil || req.ID == 0 {
			s.log.Warn().Msg("client sent a malformed line; closing")
			return
		}
		err := checkIntent(req.Intent, s.core.Snapshot().Step)
		if err != nil {
			// The kind only: what was sent may be anything.
			s.log.Warn().Str("intent", string(req.Intent.Kind)).Msg("intent refused by the control protocol: not a reason code")
		} else {
			sctx, cancel := context.WithTimeout(ctx, sendTimeout)
			err = s.core.Send(sctx, req.Intent)
			cancel()
		}
		select {
		case replies <- message{Reply: req.ID, Error: toWire(err)}:
		case <-writerDone:
			return
		}
	}
}
