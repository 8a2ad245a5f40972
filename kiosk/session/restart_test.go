package session_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"roomkiosk/internal/room"
	"roomkiosk/kiosk/session"
	"roomkiosk/kiosk/session/sessiontest"
)

// node is one life of the daemon: a core on fakes over a journal store that
// outlives it.
type node struct {
	*harness
	life *lifeStore
}

// lifeStore is the journal as one life of the daemon sees it: once the life
// has crashed, nothing it does reaches the disk any more.
type lifeStore struct {
	session.JournalStore
	dead atomic.Bool
}

func (l *lifeStore) Save(b []byte) error {
	if l.dead.Load() {
		return nil
	}
	return l.JournalStore.Save(b)
}

func (l *lifeStore) Clear() error {
	if l.dead.Load() {
		return nil
	}
	return l.JournalStore.Clear()
}

// boot starts a core over store with the clock at now (the fake recorder
// reports like the real one).
func boot(t testing.TB, cfg session.Config, store session.JournalStore, now time.Time) *node {
	t.Helper()
	return bootWith(t, cfg, store, now, &sessiontest.Recorder{})
}

// bootWith is boot over a given recorder (one that holds what the last
// life's recorder left on disk).
func bootWith(t testing.TB, cfg session.Config, store session.JournalStore, now time.Time, rec *sessiontest.Recorder) *node {
	t.Helper()
	h := &harness{t: t, rec: rec, chk: &sessiontest.Checker{}, up: &sessiontest.Uploader{}, clock: sessiontest.NewClock(now)}
	life := &lifeStore{JournalStore: store}
	core, err := session.New(cfg, session.Deps{
		Recorder: h.rec, Checker: h.chk, Uploader: h.up, Clock: h.clock, Journal: life,
		NewID: func(time.Time) string { h.ids++; return fmt.Sprintf("s%d", h.ids) },
	})
	if err != nil {
		t.Fatal(err)
	}
	h.core = core
	// The real PIN check, remembered: bcrypt under -race on a loaded
	// machine outlasted the harness's 10 s per intent.
	session.SetVerify(core, memoVerify)
	h.rec.SetReport(core.RecorderChanged)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- core.Run(ctx) }()
	var once sync.Once
	h.stop = func() {
		once.Do(func() {
			cancel()
			<-done
		})
	}
	t.Cleanup(h.stop)
	session.Sync(core)
	return &node{harness: h, life: life}
}

// crash ends this life without the core's shutdown (a SIGKILL keeps only
// what is on disk: the journal store).
func (n *node) crash() {
	// Run's shutdown would stop or suspend the recording and write the
	// journal: a crash does neither, so this life's writes stop here.
	n.life.dead.Store(true)
	n.stop()
}

func startCalls(cs []sessiontest.Call) []sessiontest.Call {
	return slices.DeleteFunc(slices.Clone(cs), func(c sessiontest.Call) bool { return c.Op != "start" })
}

// TestRestartAtEveryStep: the daemon dies at each step of a session and
// comes back within the resume window; the session comes back at the step
// the room was at, with what was decided kept.
func TestRestartAtEveryStep(t *testing.T) {
	cfg := testConfig()
	type want struct {
		step      room.Step
		recording bool // the recording resumes (Start with Resume)
		turn      int
		decisions int
	}
	tests := []struct {
		name string
		flow []room.Intent
		want want
	}{
		{"pin pad", cat(kind(room.IntentStart), room.Intent{Kind: room.IntentPINDigit, Digit: 1}), want{step: room.StepDoor}},
		{"checklist", toChecklist, want{step: room.StepDoor}},
		{"participants", toParticipants, want{step: room.StepParticipants}},
		{"record choice", toRecordChoice, want{step: room.StepRecordChoice}},
		{"consent turn 1", toConsent, want{step: room.StepConsent, turn: 1}},
		{"consent turn 2", cat(toConsent, consent(1, true)), want{step: room.StepConsent, turn: 2, decisions: 1}},
		{"recording", toRecorded, want{step: room.StepInSession, recording: true, decisions: 2}},
		{"end pin", cat(toEndPIN, room.Intent{Kind: room.IntentPINDigit, Digit: 1}), want{step: room.StepInSession, recording: true, decisions: 2}},
		{"not recorded", toUnrecorded, want{step: room.StepInSession}},
		{"declined", cat(toConsent, consent(1, true), consent(2, false)), want{step: room.StepInSession}}, // decisions hidden after a decline
		{"withdraw choice", toWithdraw, want{step: room.StepWithdrawChoice, decisions: 2}},
		{"withdrawn and kept", cat(toWithdraw, kind(room.IntentWithdrawKeep)), want{step: room.StepInSession, decisions: 2}},
		{"feedback", toFeedback, want{step: room.StepFeedback, decisions: 2}},
		{"closed", cat(toFeedback, room.Intent{Kind: room.IntentFeedback, Rating: 4}), want{step: room.StepDoor}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := &sessiontest.Journal{}
			a := boot(t, cfg, store, t0)
			a.must(tt.flow...)
			before := a.snap()
			a.crash()

			b := boot(t, cfg, store, t0.Add(90*time.Second)) // a Pi's reboot
			s := b.snap()
			if s.Step != tt.want.step {
				t.Fatalf("step after the restart %q, want %q", s.Step, tt.want.step)
			}
			starts := startCalls(b.rec.Calls())
			if tt.want.step == room.StepDoor {
				if s.Door == room.DoorInSession || s.SessionID != "" || len(starts) != 0 {
					t.Fatalf("after the restart: door %q session %q starts %d", s.Door, s.SessionID, len(starts))
				}
				if store.Bytes() != nil {
					t.Errorf("journal left with no session open: %s", store.Bytes())
				}
				return
			}
			if s.Door != room.DoorInSession || s.SessionID != before.SessionID || s.Participants != before.Participants ||
				s.ConsentTurn != tt.want.turn || len(s.Decisions) != tt.want.decisions || s.Withdrawn != before.Withdrawn ||
				s.Recorded != before.Recorded || s.WantRecording != before.WantRecording {
				t.Fatalf("after the restart:\n%+v\nbefore:\n%+v", s, before)
			}
			if !slices.Equal(s.Decisions, before.Decisions) {
				t.Errorf("decisions %+v, before %+v", s.Decisions, before.Decisions)
			}
			if s.Recording != tt.want.recording || (len(starts) == 1) != tt.want.recording {
				t.Fatalf("recording %v with %d starts after the restart, want %v", s.Recording, len(starts), tt.want.recording)
			}
			if tt.want.recording {
				info := starts[0].Info
				if !info.Resume || info.ID != before.SessionID || len(info.Consent.Decisions) != 2 || info.Started != before.SessionStarted {
					t.Errorf("resumed Start: %+v", info)
				}
				// The recorder measures the gap and says so; the room is told.
				b.core.RecorderChanged(room.RecorderStatus{SessionID: s.SessionID, State: room.RecorderRecording, ResumedGap: 83 * time.Second})
				s = b.snap()
				if s.Notice != room.NoticeRecordingResumed || s.ResumedGap != 83*time.Second || !s.Recording {
					t.Errorf("after the recorder resumed: notice %q gap %v recording %v", s.Notice, s.ResumedGap, s.Recording)
				}
			}
			// The screen leads from here to the door as always.
			leave(t, b.harness)
			sums := b.up.Calls()
			if len(sums) != 1 || sums[0].Summary.ID != before.SessionID || sums[0].Summary.Interrupted {
				t.Fatalf("summaries %+v", sums)
			}
			if tt.want.recording && sums[0].Summary.Resumed != 1 {
				t.Errorf("summary of a resumed session: %+v", sums[0].Summary)
			}
			if store.Bytes() != nil {
				t.Errorf("journal left after the session closed")
			}
		})
	}
}

// leave takes the room from whatever screen it is on to the door with screen
// intents alone.
func leave(t *testing.T, h *harness) {
	t.Helper()
	for range 12 {
		s := h.snap()
		var ins []room.Intent
		switch s.Step {
		case room.StepDoor:
			return
		case room.StepPIN, room.StepMaintenancePIN, room.StepChecklist, room.StepMaintenance,
			room.StepParticipants, room.StepRecordChoice, room.StepConsent:
			ins = []room.Intent{kind(room.IntentCancel)}
		case room.StepInSession:
			ins = []room.Intent{kind(room.IntentEnd)}
		case room.StepEndPIN:
			ins = pinIntents(goodPIN)
		case room.StepWithdrawChoice:
			ins = []room.Intent{kind(room.IntentWithdrawKeep)}
		case room.StepFeedback:
			ins = []room.Intent{{Kind: room.IntentFeedback, Rating: 0}}
		}
		for _, in := range ins {
			if err := h.send(in); err != nil {
				t.Fatalf("leaving %s: %+v: %v", s.Step, in, err)
			}
		}
	}
	t.Fatalf("the door is not reachable from %s", h.snap().Step)
}

// A withdrawn session whose choice is pending stays held after a restart
// and asks again; the choice then reaches the recorder.
func TestRestartWithdrawChoiceAsksAgain(t *testing.T) {
	cfg := testConfig()
	store := &sessiontest.Journal{}
	a := boot(t, cfg, store, t0)
	a.must(toWithdraw...)
	id := a.snap().SessionID
	a.crash()
	b := boot(t, cfg, store, t0.Add(time.Minute))
	if s := b.snap(); s.Step != room.StepWithdrawChoice || !s.Withdrawn || s.Recording {
		t.Fatalf("after the restart: %+v", s)
	}
	if calls := b.rec.Calls(); len(calls) != 0 {
		t.Fatalf("the restart called the recorder: %+v (the held audio waits for the choice)", calls)
	}
	b.must(kind(room.IntentWithdrawDelete))
	if calls := b.rec.Calls(); len(calls) != 1 || calls[0].Op != "discard" || calls[0].SessionID != id {
		t.Fatalf("recorder calls %+v, want discard of %s", calls, id)
	}
}

// Outside the window (or with the clock behind the journal) the session is
// closed as interrupted and the door is free; nothing records.
func TestRestartOutsideWindow(t *testing.T) {
	cfg := testConfig()
	for _, tt := range []struct {
		name string
		at   time.Time
	}{
		// The journal is at most a heartbeat old at the stop: the window
		// plus one heartbeat is the stop's own window (heartbeat_test.go).
		{"window and a heartbeat later", t0.Add(cfg.Flow.ResumeWindow.Duration + session.HeartbeatInterval + time.Second)},
		{"clock behind", t0.Add(-time.Hour)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			store := &sessiontest.Journal{}
			a := boot(t, cfg, store, t0)
			a.must(toRecorded...)
			before := a.snap()
			a.crash()
			b := boot(t, cfg, store, tt.at)
			s := b.snap()
			if s.Door != room.DoorFree || s.Step != room.StepDoor || s.SessionID != "" || len(b.rec.Calls()) != 0 {
				t.Fatalf("after the restart: door %q step %q session %q calls %+v", s.Door, s.Step, s.SessionID, b.rec.Calls())
			}
			sums := b.up.Calls()
			if len(sums) != 1 {
				t.Fatalf("summaries %+v", sums)
			}
			sum := sums[0].Summary
			if sum.ID != before.SessionID || !sum.Interrupted || !sum.Recorded || sum.Participants != 2 || !sum.Ended.Equal(t0) {
				t.Errorf("summary %+v", sum)
			}
			if store.Bytes() != nil {
				t.Errorf("journal kept after closing the session")
			}
		})
	}
}

// A configured window of 0 never resumes.
func TestRestartWindowZero(t *testing.T) {
	cfg := testConfig()
	cfg.Flow.ResumeWindow.Duration = 0
	store := &sessiontest.Journal{}
	a := boot(t, cfg, store, t0)
	a.must(toRecorded...)
	a.crash()
	b := boot(t, cfg, store, t0.Add(time.Second))
	if s := b.snap(); s.Door != room.DoorFree || len(b.rec.Calls()) != 0 {
		t.Fatalf("window 0: door %q, recorder calls %+v", s.Door, b.rec.Calls())
	}
}

// A damaged journal (cut, garbage, too large, inconsistent, unknown field)
// is a clear error and the safe default: the session it names is closed as
// interrupted, the door is free, and nothing records.
func TestRestartDamagedJournal(t *testing.T) {
	cfg := testConfig()
	store := &sessiontest.Journal{}
	a := boot(t, cfg, store, t0)
	a.must(toRecorded...)
	good := store.Bytes()
	a.crash()
	var j map[string]any
	if err := json.Unmarshal(good, &j); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"participants", "decisions", "step", "written", "counselor"} {
		if _, ok := j[k]; !ok {
			t.Fatalf("the journal has no %q: %s", k, good)
		}
	}
	edit := func(f func(map[string]any)) []byte {
		m := map[string]any{}
		json.Unmarshal(good, &m)
		f(m)
		b, _ := json.Marshal(m)
		return b
	}
	tests := []struct {
		name   string
		b      []byte
		listed bool // the summary names the session
	}{
		{"cut", good[:len(good)/2], false},
		{"empty", []byte{}, false},
		{"garbage", []byte("\x00\x01not json"), false},
		{"too large", append(append([]byte{}, good[:len(good)-2]...), []byte(`,"x":"`+strings.Repeat("a", session.MaxJournalBytes)+`"}`)...), false},
		{"unknown field", edit(func(m map[string]any) { m["client_name"] = "x" }), true},
		{"recorded without consent", edit(func(m map[string]any) { m["decisions"] = []any{} }), true},
		{"participants out of range", edit(func(m map[string]any) { m["participants"] = 9 }), true},
		{"unknown step", edit(func(m map[string]any) { m["step"] = "door" }), true},
		{"bad hash", edit(func(m map[string]any) {
			d := m["decisions"].([]any)
			d[0].(map[string]any)["text_sha256"] = "zz"
		}), true},
		{"other version", edit(func(m map[string]any) { m["version"] = 2 }), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := &sessiontest.Journal{}
			store.Set(tt.b)
			b := boot(t, cfg, store, t0.Add(time.Minute))
			s := b.snap()
			if s.Door != room.DoorFree || s.SessionID != "" || len(b.rec.Calls()) != 0 {
				t.Fatalf("door %q session %q recorder %+v", s.Door, s.SessionID, b.rec.Calls())
			}
			sums := b.up.Calls()
			if tt.listed && (len(sums) != 1 || sums[0].Summary.ID != "s1" || !sums[0].Summary.Interrupted) {
				t.Errorf("summaries %+v, want s1 interrupted", sums)
			}
			if store.Bytes() != nil {
				t.Errorf("damaged journal kept")
			}
		})
	}
}

// The journal holds no personal data: no agreement text, no PIN, nothing but
// ids, counts, codes, flags, times and hashes. (Free text cannot reach the
// core at all: an override reason is one of room.OverrideReasons.)
func TestJournalHoldsNoPersonalData(t *testing.T) {
	cfg := testConfig()
	store := &sessiontest.Journal{}
	a := boot(t, cfg, store, t0)
	a.core.ChecksUpdated([]room.CheckResult{{Name: "mic", State: room.CheckAbnormal, Required: true}})
	a.must(toChecklist...)
	a.must(tickAll...)
	a.must(room.Intent{Kind: room.IntentCheckOverride, Reason: room.OverrideUrgentSession})
	a.must(room.Intent{Kind: room.IntentParticipants, Count: 1}, room.Intent{Kind: room.IntentRecord, Yes: true}, consent(1, true))
	b := string(store.Bytes())
	for _, bad := range []string{"agreement v1", texts["zh"], goodPIN} {
		if strings.Contains(b, bad) {
			t.Errorf("the journal holds %q:\n%s", bad, b)
		}
	}
	if !strings.Contains(b, `"checks_overridden": true`) {
		t.Errorf("the journal does not say the checks were overridden:\n%s", b)
	}
}

// The resumed recording respects the maximum length counted from the first
// start; past it, nothing resumes.
func TestRestartMaxLength(t *testing.T) {
	cfg := testConfig()
	cfg.Flow.ResumeWindow.Duration = 3 * time.Hour
	store := &sessiontest.Journal{}
	a := boot(t, cfg, store, t0)
	a.must(toRecorded...)
	a.crash()
	b := boot(t, cfg, store, t0.Add(cfg.MaxLength+time.Minute))
	if s := b.snap(); s.Recording || s.Notice != room.NoticeMaxLength || len(startCalls(b.rec.Calls())) != 0 {
		t.Fatalf("past the maximum length: recording %v notice %q calls %+v", s.Recording, s.Notice, b.rec.Calls())
	}
}
