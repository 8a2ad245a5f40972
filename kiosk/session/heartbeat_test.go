package session_test

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"roomkiosk/internal/room"
	"roomkiosk/kiosk/session"
	"roomkiosk/kiosk/session/sessiontest"
)

// TestResumeIsAboutDowntime: a recording runs steadily (nothing in the
// session changes) and the daemon dies 1, 12 or 45 minutes into it, half a
// heartbeat after the last one. Back 90 seconds later (a Pi's reboot) the
// session comes back recording, whatever its age; back after the window it
// is closed as interrupted. Meanwhile the journal is rewritten once a
// HeartbeatInterval, and not more.
func TestResumeIsAboutDowntime(t *testing.T) {
	cfg := testConfig() // resume_window 10 minutes
	window := cfg.Flow.ResumeWindow.Duration
	for _, c := range []struct {
		minutes int
		down    time.Duration
		resumes bool
	}{
		{1, 90 * time.Second, true},
		{12, 90 * time.Second, true},
		{45, 90 * time.Second, true},
		{45, window, true}, // back just within the window after the stop
		{12, window + session.HeartbeatInterval + time.Second, false},
		{45, 3 * time.Hour, false},
	} {
		t.Run(fmt.Sprintf("killed at %d min, down %v", c.minutes, c.down), func(t *testing.T) {
			store := &sessiontest.Journal{}
			a := boot(t, cfg, store, t0)
			a.must(toRecorded...)
			if !a.snap().Recording {
				t.Fatal("not recording")
			}
			id := a.snap().SessionID
			saves := store.Saves()
			for range c.minutes {
				a.clock.Advance(time.Minute)
				session.Sync(a.core)
			}
			if got := store.Saves() - saves; got != c.minutes {
				t.Errorf("%d journal writes in %d minutes of a steady recording, want %d (one a HeartbeatInterval)", got, c.minutes, c.minutes)
			}
			a.clock.Advance(session.HeartbeatInterval / 2) // killed between two heartbeats
			killedAt := a.clock.Now()
			var j struct{ Written time.Time }
			if err := json.Unmarshal(store.Bytes(), &j); err != nil || killedAt.Sub(j.Written) != session.HeartbeatInterval/2 {
				t.Fatalf("journal written %v (%v), killed at %v: want the last heartbeat half an interval before", j.Written, err, killedAt)
			}
			a.crash()

			b := boot(t, cfg, store, killedAt.Add(c.down))
			s := b.snap()
			starts := startCalls(b.rec.Calls())
			if !c.resumes {
				if s.Step != room.StepDoor || len(starts) != 0 {
					t.Fatalf("down %v: step %q, %d starts; want closed at the door", c.down, s.Step, len(starts))
				}
				return
			}
			if s.Step != room.StepInSession || s.SessionID != id || len(starts) != 1 || !starts[0].Info.Resume || !s.Recording {
				t.Fatalf("killed at %d min, down %v: step %q session %q recording %v starts %+v; want the session back, recording",
					c.minutes, c.down, s.Step, s.SessionID, s.Recording, starts)
			}
		})
	}
}

// TestNoHeartbeatWithoutSession: at the door nothing is written.
func TestNoHeartbeatWithoutSession(t *testing.T) {
	store := &sessiontest.Journal{}
	a := boot(t, testConfig(), store, t0)
	a.must(toFeedback...)
	a.must(room.Intent{Kind: room.IntentFeedback, Rating: 5})
	saves := store.Saves()
	a.clock.Advance(30 * time.Minute)
	session.Sync(a.core)
	if store.Saves() != saves || store.Bytes() != nil {
		t.Errorf("%d journal writes at the door over 30 minutes, journal %q", store.Saves()-saves, store.Bytes())
	}
}
