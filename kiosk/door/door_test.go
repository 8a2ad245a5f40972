package door

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"roomkiosk/internal/room"
	"roomkiosk/kiosk/screen/screentest"
	"roomkiosk/kiosk/session"
	"roomkiosk/kiosk/session/sessiontest"
)

// feed is a Snapshots whose snapshots the test sends.
type feed chan room.Snapshot

func (f feed) Subscribe() (<-chan room.Snapshot, func()) { return f, func() {} }

// lamp records every state it was set to; fail makes the next Set fail.
type lamp struct {
	mu   sync.Mutex
	sets []bool
	fail int
}

func (l *lamp) Set(on bool) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.fail > 0 {
		l.fail--
		return errors.New("gpio busy")
	}
	l.sets = append(l.sets, on)
	return nil
}

func (l *lamp) seen() []bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]bool(nil), l.sets...)
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestFollowOnAir: the light is off at start, follows Snapshot.Recording
// (switched only on a change), is retried after a failed switch, and is off
// when the daemon stops.
func TestFollowOnAir(t *testing.T) {
	for _, tc := range []struct {
		name      string
		recording []bool // snapshots sent, in order
		failFirst int    // Set calls that fail first
		want      []bool // states the lamp took, in order, before the stop
	}{
		{"never recording", []bool{false, false}, 0, []bool{false}},
		{"a recording", []bool{false, true, true, false}, 0, []bool{false, true, false}},
		{"a failed switch is tried again at the next change", []bool{true, true}, 1, []bool{true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			snaps := make(feed)
			l := &lamp{fail: tc.failFirst}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- FollowOnAir(ctx, snaps, l, zerolog.Nop()) }()
			for _, r := range tc.recording {
				snaps <- room.Snapshot{Recording: r}
			}
			snaps <- room.Snapshot{Recording: tc.recording[len(tc.recording)-1]} // the last one was handled
			got := l.seen()
			if len(got) != len(tc.want) {
				t.Fatalf("lamp set to %v, want %v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("lamp set to %v, want %v", got, tc.want)
				}
			}
			cancel()
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			if got := l.seen(); got[len(got)-1] {
				t.Errorf("lamp %v: on after the stop", got)
			}
		})
	}
}

// TestInbox: reports before Open are dropped (the core does not exist yet);
// after Open they reach the core and the view.
func TestInbox(t *testing.T) {
	in := &Inbox{}
	in.RecorderChanged(room.RecorderStatus{})
	in.ChecksUpdated(nil)
	in.FaultsUpdated(nil)
	in.MaintenanceUpdated(nil, nil)
	in.Changed()

	core, err := session.New(screentest.DaemonConfig(t), session.Deps{
		Recorder: &sessiontest.Recorder{}, Checker: &sessiontest.Checker{}, Uploader: &sessiontest.Uploader{}, Log: zerolog.Nop(),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = core.Run(ctx) }()
	view := NewView(core, nil, nil)
	in.Open(core, view)
	snaps, stop := view.Subscribe()
	defer stop()
	<-snaps
	in.MaintenanceUpdated(nil, []room.ProblemReport{{At: time.Now(), Problem: room.ProblemCodes()[0]}})
	waitUntil(t, "the problem report in the core's snapshot", func() bool { return len(core.Snapshot().Problems) == 1 })
	in.Changed()
	select {
	case <-snaps:
	case <-time.After(10 * time.Second):
		t.Fatal("Changed sent no fresh snapshot to the view's subscribers")
	}
}
