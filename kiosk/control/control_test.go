package control

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/crypto/bcrypt"

	"roomkiosk/internal/room"
	"roomkiosk/internal/testenv"
	"roomkiosk/kiosk/session"
	"roomkiosk/kiosk/session/sessiontest"
)

var texts = map[string]string{"en": "Agreement text, English.", "zh": "同意书。"}

type env struct {
	core *session.Core
	rec  *sessiontest.Recorder
	up   *sessiontest.Uploader
	srv  *Server
	path string
}

// sockPath returns a short path: unix socket paths are limited to 108 bytes.
func sockPath(t *testing.T) string {
	dir, err := os.MkdirTemp("", "rkctl")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return filepath.Join(dir, "run", "control.sock")
}

func start(t *testing.T) *env {
	t.Helper()
	hash, err := bcrypt.GenerateFromPassword([]byte("1234"), bcrypt.DefaultCost) // the minimum the core accepts
	if err != nil {
		t.Fatal(err)
	}
	flow := session.DefaultFlow()
	flow.ManualChecks = []string{"Room tidy"}
	e := &env{rec: &sessiontest.Recorder{}, up: &sessiontest.Uploader{}, path: sockPath(t)}
	e.core, err = session.New(session.Config{
		Room:       session.RoomConfig{ID: "r1", Languages: []string{"en", "zh"}},
		Counselors: []session.Counselor{{ID: "c-1", PINHash: string(hash)}},
		Agreement:  session.AgreementConfig{ID: "rec-1", Texts: texts},
		Flow:       flow,
		MaxLength:  time.Hour,
	}, session.Deps{
		Recorder: e.rec, Checker: &sessiontest.Checker{}, Uploader: e.up,
		Clock: sessiontest.NewClock(time.Date(2026, 1, 27, 10, 0, 0, 0, time.UTC)),
	})
	if err != nil {
		t.Fatal(err)
	}
	e.rec.SetReport(e.core.RecorderChanged)
	e.srv, err = Listen(e.path, "", e.core, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	coreDone, srvDone := make(chan error, 1), make(chan error, 1)
	go func() { coreDone <- e.core.Run(ctx) }()
	go func() { srvDone <- e.srv.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-srvDone; err != nil {
			t.Errorf("Serve: %v", err)
		}
		if err := <-coreDone; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return e
}

func dial(t *testing.T, path string) *Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := Dial(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// waitFor reads snapshots until one satisfies ok.
func waitFor(t *testing.T, c *Client, what string, ok func(room.Snapshot) bool) room.Snapshot {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case s, open := <-c.Snapshots():
			if !open {
				t.Fatalf("waiting for %s: connection closed", what)
			}
			if ok(s) {
				return s
			}
		case <-timeout:
			t.Fatalf("waiting for %s: timed out", what)
		}
	}
}

func send(t *testing.T, c *Client, ins ...room.Intent) {
	t.Helper()
	for _, in := range ins {
		// A liveness bound, not a latency claim: pin_ok runs the PIN's
		// argon2id check, which takes seconds under -race on a loaded machine.
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		err := c.Send(ctx, in)
		cancel()
		if err != nil {
			t.Fatalf("send %+v: %v", in, err)
		}
	}
}

func pinIntents(p string) []room.Intent {
	var out []room.Intent
	for _, r := range p {
		out = append(out, room.Intent{Kind: room.IntentPINDigit, Digit: int(r - '0')})
	}
	return append(out, room.Intent{Kind: room.IntentPINOK})
}

// TestWholeSessionOverSocket drives a recorded session through the real
// socket against the real core (fake recorder), with a second client that
// connects late.
func TestWholeSessionOverSocket(t *testing.T) {
	e := start(t)
	fi, err := os.Stat(e.path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o660 || fi.Mode()&os.ModeSocket == 0 {
		t.Errorf("socket mode = %v, want a socket with 0660", fi.Mode())
	}

	c := dial(t, e.path)
	first := waitFor(t, c, "first snapshot", func(room.Snapshot) bool { return true })
	if first.Door != room.DoorFree || first.Step != room.StepDoor || first.RoomID != "r1" {
		t.Fatalf("first snapshot = %+v", first)
	}

	// A refused intent comes back as the core's error.
	ctx := context.Background()
	err = c.Send(ctx, room.Intent{Kind: room.IntentWithdraw})
	if !errors.Is(err, room.ErrWrongStep) {
		t.Fatalf("withdraw at the door: err = %v, want ErrWrongStep", err)
	}
	var re *room.RefusedError
	if !errors.As(err, &re) || re.Kind != room.IntentWithdraw || re.Step != room.StepDoor || !strings.Contains(err.Error(), "withdraw") {
		t.Fatalf("withdraw at the door: err = %#v", err)
	}

	send(t, c, room.Intent{Kind: room.IntentStart})
	send(t, c, pinIntents("1234")...)
	send(t, c,
		room.Intent{Kind: room.IntentCheckToggle, Item: 0},
		room.Intent{Kind: room.IntentCheckContinue},
		room.Intent{Kind: room.IntentParticipants, Count: 1},
		room.Intent{Kind: room.IntentRecord, Yes: true},
	)
	// The screen hashes the exact text it shows.
	s := waitFor(t, c, "consent screen", func(s room.Snapshot) bool { return s.Step == room.StepConsent })
	shown := s.Agreement.Texts["en"]
	err = c.Send(ctx, room.Intent{Kind: room.IntentConsent, Participant: 1, Yes: true, Language: "en", TextSHA256: room.TextSHA256(shown + " ")})
	if !errors.Is(err, room.ErrInvalid) {
		t.Fatalf("consent with the wrong text hash: err = %v, want ErrInvalid", err)
	}
	send(t, c, room.Intent{Kind: room.IntentConsent, Participant: 1, Yes: true, Language: "en", TextSHA256: room.TextSHA256(shown)})
	rec := waitFor(t, c, "recording", func(s room.Snapshot) bool { return s.Recording })
	if rec.Door != room.DoorInSession || rec.SessionID == "" {
		t.Fatalf("recording snapshot = %+v", rec)
	}

	// A screen that connects late gets the current snapshot at once.
	late := dial(t, e.path)
	select {
	case s := <-late.Snapshots():
		if !s.Recording || s.SessionID != rec.SessionID || s.Step != room.StepInSession {
			t.Fatalf("late client's first snapshot = %+v", s)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("late client got no snapshot")
	}

	// Withdrawal from the late client, seen by both.
	send(t, late, room.Intent{Kind: room.IntentWithdraw})
	waitFor(t, c, "withdraw choice", func(s room.Snapshot) bool {
		return s.Step == room.StepWithdrawChoice && !s.Recording && s.Withdrawn
	})
	send(t, c, room.Intent{Kind: room.IntentWithdrawDelete}, room.Intent{Kind: room.IntentEnd})
	send(t, c, pinIntents("1234")...)
	send(t, c, room.Intent{Kind: room.IntentFeedback, Rating: 5})
	waitFor(t, late, "free door", func(s room.Snapshot) bool { return s.Door == room.DoorFree && s.Step == room.StepDoor })

	var ops []string
	for _, call := range e.rec.Calls() {
		ops = append(ops, call.Op+":"+strconv.FormatBool(call.Withdrawn))
	}
	if got := strings.Join(ops, " "); got != "start:false stop:true discard:false" {
		t.Errorf("recorder calls = %s", got)
	}
	if ended := e.up.Calls(); len(ended) != 1 || ended[0].SessionID != rec.SessionID || ended[0].Feedback != 5 {
		t.Errorf("uploader SessionEnded calls = %+v", ended)
	}
}

func TestClientSeesCloseAndSendFails(t *testing.T) {
	e := start(t)
	c := dial(t, e.path)
	waitFor(t, c, "first snapshot", func(room.Snapshot) bool { return true })
	if err := e.srv.Close(); err != nil {
		t.Fatal(err)
	}
	timeout := time.After(10 * time.Second)
	for open := true; open; {
		select {
		case _, open = <-c.Snapshots():
		case <-timeout:
			t.Fatal("snapshot channel not closed after the server closed")
		}
	}
	if err := c.Send(context.Background(), room.Intent{Kind: room.IntentStart}); !errors.Is(err, ErrConnClosed) {
		t.Errorf("Send after close: %v, want ErrConnClosed", err)
	}
	if _, err := os.Stat(e.path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("socket file still there after Close: %v", err)
	}
}

func TestListen(t *testing.T) {
	e := start(t) // a core to hand to further listeners
	t.Run("stale socket removed", func(t *testing.T) {
		p := sockPath(t)
		os.MkdirAll(filepath.Dir(p), 0o755)
		l, err := net.ListenUnix("unix", &net.UnixAddr{Name: p, Net: "unix"})
		if err != nil {
			t.Fatal(err)
		}
		l.SetUnlinkOnClose(false)
		l.Close() // leaves the file behind, like a killed daemon
		s, err := Listen(p, "", e.core, zerolog.Nop())
		if err != nil {
			t.Fatalf("Listen over a stale socket: %v", err)
		}
		s.Close()
	})
	t.Run("live socket kept", func(t *testing.T) {
		if _, err := Listen(e.path, "", e.core, zerolog.Nop()); err == nil || !strings.Contains(err.Error(), "in use") {
			t.Fatalf("Listen on a live socket: %v, want an in-use error", err)
		}
	})
	t.Run("regular file kept", func(t *testing.T) {
		p := sockPath(t)
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, []byte("x"), 0o600)
		if _, err := Listen(p, "", e.core, zerolog.Nop()); err == nil || !strings.Contains(err.Error(), "not a socket") {
			t.Fatalf("Listen over a regular file: %v", err)
		}
	})
	t.Run("unknown group", func(t *testing.T) {
		_, err := Listen(sockPath(t), "no-such-group-rk", e.core, zerolog.Nop())
		if err == nil || !strings.Contains(err.Error(), `group "no-such-group-rk"`) {
			t.Fatalf("Listen with an unknown group: %v", err)
		}
	})
	t.Run("own group", func(t *testing.T) {
		g, err := user.LookupGroupId(strconv.Itoa(os.Getegid()))
		if err != nil {
			testenv.Missing(t, fmt.Sprintf("a name for the test's own group: %v", err))
		}
		p := sockPath(t)
		s, err := Listen(p, g.Name, e.core, zerolog.Nop())
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o660 {
			t.Errorf("mode = %v", fi.Mode().Perm())
		}
	})
}

func TestAllowed(t *testing.T) {
	const self, sockGID = 1000, 500
	tests := []struct {
		name   string
		cred   ucred
		groups []int
		want   bool
	}{
		{"root", ucred{uid: 0, gid: 0}, nil, true},
		{"daemon's user", ucred{uid: self, gid: 1000}, nil, true},
		{"primary group", ucred{uid: 1001, gid: sockGID}, nil, true},
		{"supplementary group", ucred{uid: 1001, gid: 1001}, []int{20, sockGID}, true},
		{"stranger", ucred{uid: 1001, gid: 1001}, []int{20, 24}, false},
		{"stranger, groups unreadable", ucred{uid: 1001, gid: 1001}, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, why := allowed(tt.cred, self, sockGID, tt.groups); got != tt.want {
				t.Errorf("allowed = %v (%s), want %v", got, why, tt.want)
			}
		})
	}
}

func TestParseGroups(t *testing.T) {
	status := "Name:\tscreen\nUid:\t1001\t1001\t1001\t1001\nGroups:\t20 44 500 \nVmPeak:\t1 kB\n"
	got, err := parseGroups(strings.NewReader(status))
	if err != nil || len(got) != 3 || got[2] != 500 {
		t.Fatalf("parseGroups = %v, %v", got, err)
	}
	if _, err := parseGroups(strings.NewReader("Name:\tx\n")); err == nil {
		t.Error("no Groups line: want an error")
	}
	if g, err := parseGroups(strings.NewReader("Groups:\n")); err != nil || len(g) != 0 {
		t.Errorf("empty Groups line = %v, %v", g, err)
	}
	// Our own process, through /proc.
	if _, err := supplementaryGroups(os.Getpid()); err != nil {
		t.Errorf("own groups: %v", err)
	}
}
