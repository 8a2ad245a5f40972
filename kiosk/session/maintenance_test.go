package session_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"roomkiosk/internal/room"
	"roomkiosk/kiosk/pin"
	"roomkiosk/kiosk/session"
	"roomkiosk/kiosk/session/sessiontest"
)

const techPIN = "5678"

var techHash = func() string {
	b, err := bcrypt.GenerateFromPassword([]byte(techPIN), pin.MinBcryptCost)
	if err != nil {
		panic(err)
	}
	return string(b)
}()

type maintHarness struct {
	*harness
	maint *sessiontest.Maintenance
}

// newMaintHarness runs a core with a technician, a fake maintenance log,
// and the recorder holding the given sessions from before the start.
func newMaintHarness(t *testing.T, held ...string) *maintHarness {
	t.Helper()
	cfg := testConfig()
	cfg.Technicians = []session.Technician{{ID: "t-1", PINHash: techHash}}
	h := &harness{t: t, rec: &sessiontest.Recorder{}, chk: &sessiontest.Checker{}, up: &sessiontest.Uploader{}, clock: sessiontest.NewClock(t0)}
	for _, id := range held {
		h.rec.Hold(id)
	}
	m := &sessiontest.Maintenance{}
	core, err := session.New(cfg, session.Deps{
		Recorder: h.rec, Checker: h.chk, Uploader: h.up, Clock: h.clock, Maintenance: m,
		NewID: func(time.Time) string { h.ids++; return fmt.Sprintf("s%d", h.ids) },
	})
	if err != nil {
		t.Fatal(err)
	}
	h.core = core
	session.SetVerify(core, memoVerify)
	h.rec.SetReport(core.RecorderChanged)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- core.Run(ctx) }()
	h.stop = func() { cancel(); <-done }
	t.Cleanup(h.stop)
	return &maintHarness{harness: h, maint: m}
}

// heldDecidedBy checks who the recorder was told decided the last op.
func heldDecidedBy(t *testing.T, h *maintHarness, op, by string) {
	t.Helper()
	var d *room.HeldDecision
	for _, c := range h.rec.Calls() {
		if c.Op == op {
			d = c.Decision
		}
	}
	if d == nil || d.By != by || d.At.IsZero() || d.Keep != (op == "keep") {
		t.Errorf("%s decided %+v, want by %s with its time", op, d, by)
	}
}

func maintRecOps(r *sessiontest.Recorder, op string) []string {
	var out []string
	for _, c := range r.Calls() {
		if c.Op == op {
			out = append(out, c.SessionID)
		}
	}
	return out
}

func checkReasons(c *sessiontest.Checker) []string {
	var out []string
	for _, call := range c.Calls() {
		out = append(out, call.Reason)
	}
	return out
}

// TestMaintenanceTable: technicians' entries, problem reports and held
// recordings, each from a state reached by a prefix of intents.
func TestMaintenanceTable(t *testing.T) {
	I := func(k room.IntentKind) room.Intent { return room.Intent{Kind: k} }
	action := func(code string) room.Intent { return room.Intent{Kind: room.IntentMaintenanceAction, Reason: code} }
	report := func(code string) room.Intent { return room.Intent{Kind: room.IntentReportProblem, Reason: code} }
	toTech := cat(I(room.IntentMaintenance), pinIntents(techPIN))
	tests := []struct {
		name    string
		held    []string
		prefix  []room.Intent
		event   room.Intent
		wantErr error
		step    room.Step
		check   func(t *testing.T, h *maintHarness, s room.Snapshot)
	}{
		{"technician PIN opens no session", nil, cat(I(room.IntentStart), pinIntents(techPIN)[:4]), I(room.IntentPINOK), room.ErrWrongPIN, room.StepPIN, nil},
		{"technician PIN ends no session", nil, cat(toRecorded, I(room.IntentEnd), pinIntents(techPIN)[:4]), I(room.IntentPINOK), room.ErrWrongPIN, room.StepEndPIN, nil},
		{"technician PIN opens maintenance", nil, cat(I(room.IntentMaintenance), pinIntents(techPIN)[:4]), I(room.IntentPINOK), nil, room.StepMaintenance,
			func(t *testing.T, h *maintHarness, s room.Snapshot) {
				if !s.Technician {
					t.Error("snapshot does not say a technician opened maintenance")
				}
			}},
		{"counselor records no maintenance", nil, toMaintenance, action(room.ActionCleaned), room.ErrInvalid, room.StepMaintenance,
			func(t *testing.T, h *maintHarness, s room.Snapshot) {
				if s.Technician || len(h.maint.Entries()) != 0 {
					t.Errorf("technician %v, entries %v", s.Technician, h.maint.Entries())
				}
			}},
		{"free text action refused", nil, toTech, action("replaced the cable, ask Ann"), room.ErrInvalid, room.StepMaintenance, nil},
		{"action at the door", nil, nil, action(room.ActionCleaned), room.ErrWrongStep, room.StepDoor, nil},
		{"action recorded, checks run, problems cleared", nil,
			cat(toFeedback, report(room.ProblemAudio), report(room.ProblemClimate), room.Intent{Kind: room.IntentFeedback, Rating: 4}, toTech),
			action(room.ActionMicReplaced), nil, room.StepMaintenance,
			func(t *testing.T, h *maintHarness, s room.Snapshot) {
				es := h.maint.Entries()
				if len(es) != 1 || es[0].Action != room.ActionMicReplaced || es[0].Technician != "t-1" || !slices.Equal(es[0].Cleared, []string{room.ProblemAudio, room.ProblemClimate}) {
					t.Errorf("entries %+v", es)
				}
				if s.LastMaintenance == nil || s.LastMaintenance.Action != room.ActionMicReplaced || len(s.Problems) != 0 {
					t.Errorf("last maintenance %+v, problems %+v", s.LastMaintenance, s.Problems)
				}
				if r := checkReasons(h.chk); r[len(r)-1] != "maintenance" || len(r) < 2 || r[len(r)-2] != "maintenance" {
					t.Errorf("checks run for %q: want a round at the opening and one after the action", r)
				}
			}},
		{"problem reported at the end", nil, toFeedback, report(room.ProblemDoor), nil, room.StepFeedback,
			func(t *testing.T, h *maintHarness, s room.Snapshot) {
				ps := h.maint.Problems()
				if len(ps) != 1 || ps[0].Report.Problem != room.ProblemDoor || ps[0].SessionID != "s1" || ps[0].Counselor != "c-1" {
					t.Errorf("problems %+v", ps)
				}
				if len(s.Problems) != 1 || !slices.Equal(s.ProblemsReported, []string{room.ProblemDoor}) {
					t.Errorf("snapshot problems %+v, reported %q", s.Problems, s.ProblemsReported)
				}
			}},
		{"problem reported twice is one report", nil, cat(toFeedback, report(room.ProblemScreen)), report(room.ProblemScreen), nil, room.StepFeedback,
			func(t *testing.T, h *maintHarness, s room.Snapshot) {
				if n := len(h.maint.Problems()); n != 1 {
					t.Errorf("%d reports", n)
				}
			}},
		{"problem free text refused", nil, toFeedback, report("the chair squeaks"), room.ErrInvalid, room.StepFeedback, nil},
		{"problem during the session", nil, toRecorded, report(room.ProblemAudio), room.ErrWrongStep, room.StepInSession, nil},
		{"problem at the door", nil, nil, report(room.ProblemAudio), room.ErrWrongStep, room.StepDoor, nil},
		{"problem stays open after the session", nil, cat(toFeedback, report(room.ProblemAudio)), room.Intent{Kind: room.IntentFeedback, Rating: 0}, nil, room.StepDoor,
			func(t *testing.T, h *maintHarness, s room.Snapshot) {
				if len(s.Problems) != 1 || s.ProblemsReported != nil {
					t.Errorf("problems %+v reported %q", s.Problems, s.ProblemsReported)
				}
			}},
		{"held recording counted at the door", []string{"20260126T100000Z-aaaaaa"}, nil, room.Intent{Kind: room.IntentLanguage, Language: "en"}, nil, room.StepDoor,
			func(t *testing.T, h *maintHarness, s room.Snapshot) {
				if s.HeldWaiting != 1 || s.SessionID != "" {
					t.Errorf("held waiting %d, session %q", s.HeldWaiting, s.SessionID)
				}
			}},
		{"held keep at the door", []string{"20260126T100000Z-aaaaaa"}, nil, I(room.IntentHeldKeep), room.ErrWrongStep, room.StepDoor, nil},
		{"held keep by a technician", []string{"20260126T100000Z-aaaaaa"}, toTech, I(room.IntentHeldKeep), room.ErrInvalid, room.StepMaintenance,
			func(t *testing.T, h *maintHarness, s room.Snapshot) {
				if len(maintRecOps(h.rec, "keep")) != 0 || s.HeldWaiting != 1 {
					t.Errorf("kept %q, waiting %d", maintRecOps(h.rec, "keep"), s.HeldWaiting)
				}
			}},
		// Issue 22: never kept on a counselor's word.
		{"held keep by the counselor refused", []string{"20260126T110000Z-bbbbbb", "20260126T100000Z-aaaaaa"}, toMaintenance, I(room.IntentHeldKeep), room.ErrInvalid, room.StepMaintenance,
			func(t *testing.T, h *maintHarness, s room.Snapshot) {
				if k := maintRecOps(h.rec, "keep"); len(k) != 0 || s.HeldWaiting != 2 {
					t.Errorf("kept %q on the counselor's word, waiting %d", k, s.HeldWaiting)
				}
			}},
		{"held delete by the counselor", []string{"20260126T100000Z-aaaaaa"}, toMaintenance, I(room.IntentHeldDelete), nil, room.StepMaintenance,
			func(t *testing.T, h *maintHarness, s room.Snapshot) {
				if d := maintRecOps(h.rec, "discard"); !slices.Equal(d, []string{"20260126T100000Z-aaaaaa"}) || s.HeldWaiting != 0 {
					t.Errorf("deleted %q, waiting %d", d, s.HeldWaiting)
				}
				heldDecidedBy(t, h, "discard", room.DecidedByCounselor)
			}},
		{"held ask at the door", []string{"20260126T100000Z-aaaaaa"}, nil, I(room.IntentHeldAsk), room.ErrWrongStep, room.StepDoor, nil},
		{"held ask by a technician", []string{"20260126T100000Z-aaaaaa"}, toTech, I(room.IntentHeldAsk), room.ErrInvalid, room.StepMaintenance, nil},
		{"held ask by the counselor", []string{"20260126T100000Z-aaaaaa"}, toMaintenance, I(room.IntentHeldAsk), nil, room.StepHeldChoice,
			func(t *testing.T, h *maintHarness, s room.Snapshot) {
				if len(maintRecOps(h.rec, "keep"))+len(maintRecOps(h.rec, "discard")) != 0 || s.HeldWaiting != 1 {
					t.Errorf("the ask itself settled something: %+v", h.rec.Calls())
				}
			}},
		{"held kept by the client", []string{"20260126T110000Z-bbbbbb", "20260126T100000Z-aaaaaa"}, cat(toMaintenance, I(room.IntentHeldAsk)), I(room.IntentWithdrawKeep), nil, room.StepDoor,
			func(t *testing.T, h *maintHarness, s room.Snapshot) {
				if k := maintRecOps(h.rec, "keep"); !slices.Equal(k, []string{"20260126T100000Z-aaaaaa"}) || s.HeldWaiting != 1 {
					t.Errorf("kept %q (want the oldest), waiting %d", k, s.HeldWaiting)
				}
				heldDecidedBy(t, h, "keep", room.DecidedByClient)
			}},
		{"held deleted by the client", []string{"20260126T100000Z-aaaaaa"}, cat(toMaintenance, I(room.IntentHeldAsk)), I(room.IntentWithdrawDelete), nil, room.StepDoor,
			func(t *testing.T, h *maintHarness, s room.Snapshot) {
				if d := maintRecOps(h.rec, "discard"); !slices.Equal(d, []string{"20260126T100000Z-aaaaaa"}) || s.HeldWaiting != 0 {
					t.Errorf("deleted %q, waiting %d", d, s.HeldWaiting)
				}
				heldDecidedBy(t, h, "discard", room.DecidedByClient)
			}},
		{"held past its deadline deleted at start", []string{"20260119T090000Z-cccccc", "20260126T100000Z-aaaaaa"}, nil, room.Intent{Kind: room.IntentLanguage, Language: "en"}, nil, room.StepDoor,
			func(t *testing.T, h *maintHarness, s room.Snapshot) {
				if d := maintRecOps(h.rec, "discard"); !slices.Equal(d, []string{"20260119T090000Z-cccccc"}) || s.HeldWaiting != 1 {
					t.Errorf("deleted %q (want the one 8 days old), waiting %d", d, s.HeldWaiting)
				}
				heldDecidedBy(t, h, "discard", room.DecidedByDeadline)
			}},
		{"held none waiting", nil, toMaintenance, I(room.IntentHeldDelete), room.ErrInvalid, room.StepMaintenance, nil},
		{"own withdrawal is not a held recording", nil, toWithdraw, room.Intent{Kind: room.IntentLanguage, Language: "en"}, nil, room.StepWithdrawChoice,
			func(t *testing.T, h *maintHarness, s room.Snapshot) {
				if s.HeldWaiting != 0 {
					t.Errorf("held waiting %d during the session's own choice", s.HeldWaiting)
				}
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newMaintHarness(t, tc.held...)
			h.must(tc.prefix...)
			err := h.send(tc.event)
			switch {
			case tc.wantErr == nil && err != nil:
				t.Fatalf("%+v: %v", tc.event, err)
			case tc.wantErr != nil && !errors.Is(err, tc.wantErr):
				t.Fatalf("%+v: error %v, want %v", tc.event, err, tc.wantErr)
			}
			s := h.snap()
			if s.Step != tc.step {
				t.Errorf("step %s, want %s", s.Step, tc.step)
			}
			if tc.check != nil {
				tc.check(t, h, s)
			}
		})
	}
}

// TestMaintenanceUpdatedAndFailures: the daemon's view of the log replaces
// the core's, the uploader hears of it, and a log that cannot write refuses
// the entry (nothing is shown as done that is not on disk).
func TestMaintenanceUpdatedAndFailures(t *testing.T) {
	h := newMaintHarness(t)
	last := &room.MaintenanceEntry{At: t0.Add(-time.Hour), Action: room.ActionCalibrated, Technician: "t-1"}
	told := len(h.up.Statuses())
	h.core.MaintenanceUpdated(last, []room.ProblemReport{{At: t0, Problem: room.ProblemScreen}})
	s := h.snap()
	if s.LastMaintenance == nil || s.LastMaintenance.Action != room.ActionCalibrated || len(s.Problems) != 1 {
		t.Fatalf("snapshot %+v %+v", s.LastMaintenance, s.Problems)
	}
	if len(h.up.Statuses()) <= told {
		t.Error("the uploader was not told of the maintenance change")
	}
	h.maint.Fail(errors.New("disk full"))
	h.must(cat(kind(room.IntentMaintenance), pinIntents(techPIN))...)
	if err := h.send(room.Intent{Kind: room.IntentMaintenanceAction, Reason: room.ActionCleaned}); err == nil {
		t.Fatal("an entry the log could not keep was accepted")
	}
	if s := h.snap(); s.LastMaintenance.Action != room.ActionCalibrated || len(s.Problems) != 1 {
		t.Errorf("a failed entry changed the state: %+v %+v", s.LastMaintenance, s.Problems)
	}
}

func TestValidateTechnicians(t *testing.T) {
	cs := []session.Counselor{{ID: "c-1", PINHash: pinHash}}
	weak, _ := bcrypt.GenerateFromPassword([]byte(techPIN), 4)
	tests := []struct {
		name string
		ts   []session.Technician
		want string // "" = valid
	}{
		{"none", nil, ""},
		{"one", []session.Technician{{ID: "t-1", PINHash: techHash}}, ""},
		{"no id", []session.Technician{{PINHash: techHash}}, "technicians[0].id: required"},
		{"counselor's id", []session.Technician{{ID: "c-1", PINHash: techHash}}, "technicians[0].id"},
		{"twice", []session.Technician{{ID: "t-1", PINHash: techHash}, {ID: "t-1", PINHash: techHash}}, "technicians[1].id"},
		{"not a hash", []session.Technician{{ID: "t-1", PINHash: "5678"}}, "technicians[0].pin_hash"},
		{"weak hash", []session.Technician{{ID: "t-1", PINHash: string(weak)}}, "technicians[0].pin_hash (technician \"t-1\")"},
	}
	for _, tc := range tests {
		err := session.ValidateTechnicians(tc.ts, cs)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.want != "" && (err == nil || !contains(err.Error(), tc.want)):
			t.Errorf("%s: error %v, want one naming %q", tc.name, err, tc.want)
		}
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

// slowSealer is a recorder that still lists a withdrawn session as held
// after the participants chose (the real one seals in the background).
type slowSealer struct {
	*sessiontest.Recorder
	sealing string
}

func (r *slowSealer) Held() ([]room.HeldRecording, error) {
	held, err := r.Recorder.Held()
	if r.sealing != "" {
		held = append(held, room.HeldRecording{SessionID: r.sealing})
	}
	return held, err
}

// TestChosenWithdrawalIsNotHeldWaiting: a withdrawal kept on its own screen
// does not come back as a recording waiting on the maintenance screen while
// the recorder is still sealing it.
func TestChosenWithdrawalIsNotHeldWaiting(t *testing.T) {
	h := &harness{t: t, rec: &sessiontest.Recorder{}, chk: &sessiontest.Checker{}, up: &sessiontest.Uploader{}, clock: sessiontest.NewClock(t0)}
	rec := &slowSealer{Recorder: h.rec}
	core, err := session.New(testConfig(), session.Deps{
		Recorder: rec, Checker: h.chk, Uploader: h.up, Clock: h.clock, Maintenance: &sessiontest.Maintenance{},
		NewID: func(time.Time) string { h.ids++; return fmt.Sprintf("s%d", h.ids) },
	})
	if err != nil {
		t.Fatal(err)
	}
	h.core = core
	session.SetVerify(core, memoVerify)
	h.rec.SetReport(core.RecorderChanged)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- core.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })

	h.must(toWithdraw...)
	rec.sealing = "s1"
	h.must(kind(room.IntentWithdrawKeep), kind(room.IntentEnd))
	h.must(pinIntents(goodPIN)...)
	h.must(room.Intent{Kind: room.IntentFeedback}, kind(room.IntentMaintenance))
	h.must(pinIntents(goodPIN)...)
	if s := h.snap(); s.Step != room.StepMaintenance || s.HeldWaiting != 0 {
		t.Errorf("step %s, held waiting %d: the kept withdrawal came back as waiting", s.Step, s.HeldWaiting)
	}
}

// TestHeldDeadline: a held recording nobody settles is deleted at
// session.held_deadline after its session started, by the running daemon
// (a timer, not only at start); one its client is choosing about waits for
// the choice.
func TestHeldDeadline(t *testing.T) {
	// t0 is 2026-01-27 09:30; the default deadline is 7 days: this one is
	// due at 10:00, the other on 01-28 10:00.
	h := newMaintHarness(t, "20260120T100000Z-dddddd", "20260121T100000Z-eeeeee")
	if s := h.snap(); s.HeldWaiting != 2 {
		t.Fatalf("waiting %d", s.HeldWaiting)
	}
	h.clock.Advance(29 * time.Minute)
	session.Sync(h.core)
	if d := maintRecOps(h.rec, "discard"); len(d) != 0 {
		t.Fatalf("deleted %q before its deadline", d)
	}
	h.clock.Advance(2 * time.Minute)
	session.Sync(h.core)
	if d := maintRecOps(h.rec, "discard"); !slices.Equal(d, []string{"20260120T100000Z-dddddd"}) || h.snap().HeldWaiting != 1 {
		t.Fatalf("deleted %q at the deadline, waiting %d", d, h.snap().HeldWaiting)
	}
	heldDecidedBy(t, h, "discard", room.DecidedByDeadline)
	// The client of the other one is choosing when its deadline comes.
	h.clock.Advance(23*time.Hour + 50*time.Minute)
	h.must(toMaintenance...)
	h.must(kind(room.IntentHeldAsk))
	h.clock.Advance(15 * time.Second)
	session.Sync(h.core)
	if d := maintRecOps(h.rec, "discard"); len(d) != 1 {
		t.Fatalf("deleted %q while its client was choosing", d)
	}
	h.must(kind(room.IntentWithdrawKeep))
	if k := maintRecOps(h.rec, "keep"); !slices.Equal(k, []string{"20260121T100000Z-eeeeee"}) {
		t.Fatalf("kept %q", k)
	}
	heldDecidedBy(t, h, "keep", room.DecidedByClient)
}
