package session_test

import (
	"errors"
	"testing"
	"time"

	"roomkiosk/kiosk/session"
)

// TestStateEvent is the state x event table: from a state reached by a
// prefix of intents, one event gives an error (or none) and a new state.
func TestStateEvent(t *testing.T) {
	I := func(k session.IntentKind) session.Intent { return session.Intent{Kind: k} }
	sha := session.TextSHA256(texts["en"])
	tests := []struct {
		name      string
		prefix    []session.Intent
		recording bool // the recorder reports recording after the prefix
		event     session.Intent
		wantErr   error // a sentinel, or nil
		step      session.Step
		door      session.Door
		wantRec   bool
	}{
		// Door.
		{"door start", nil, false, I(session.IntentStart), nil, session.StepPIN, session.DoorFree, false},
		{"door maintenance", nil, false, I(session.IntentMaintenance), nil, session.StepMaintenancePIN, session.DoorFree, false},
		{"door withdraw", nil, false, I(session.IntentWithdraw), session.ErrWrongStep, session.StepDoor, session.DoorFree, false},
		{"door end", nil, false, I(session.IntentEnd), session.ErrWrongStep, session.StepDoor, session.DoorFree, false},
		{"door consent", nil, false, consent(1, true), session.ErrWrongStep, session.StepDoor, session.DoorFree, false},
		{"door pin digit", nil, false, session.Intent{Kind: session.IntentPINDigit, Digit: 1}, session.ErrWrongStep, session.StepDoor, session.DoorFree, false},
		{"door cancel", nil, false, I(session.IntentCancel), session.ErrWrongStep, session.StepDoor, session.DoorFree, false},
		{"door feedback", nil, false, session.Intent{Kind: session.IntentFeedback, Rating: 3}, session.ErrWrongStep, session.StepDoor, session.DoorFree, false},
		{"door language zh", nil, false, session.Intent{Kind: session.IntentLanguage, Language: "zh"}, nil, session.StepDoor, session.DoorFree, false},
		{"door language fr", nil, false, session.Intent{Kind: session.IntentLanguage, Language: "fr"}, session.ErrInvalid, session.StepDoor, session.DoorFree, false},
		{"door unknown intent", nil, false, I("dance"), session.ErrInvalid, session.StepDoor, session.DoorFree, false},

		// PIN pad.
		{"pin wrong", cat(I(session.IntentStart), pinIntents(badPIN)[:4]), false, I(session.IntentPINOK), session.ErrWrongPIN, session.StepPIN, session.DoorFree, false},
		{"pin too short", cat(I(session.IntentStart), pinIntents("12")[:2]), false, I(session.IntentPINOK), session.ErrInvalid, session.StepPIN, session.DoorFree, false},
		{"pin digit 10", cat(I(session.IntentStart)), false, session.Intent{Kind: session.IntentPINDigit, Digit: 10}, session.ErrInvalid, session.StepPIN, session.DoorFree, false},
		{"pin ninth digit", cat(I(session.IntentStart), pinIntents("12345678")[:8]), false, session.Intent{Kind: session.IntentPINDigit, Digit: 1}, session.ErrInvalid, session.StepPIN, session.DoorFree, false},
		{"pin back", cat(I(session.IntentStart), pinIntents("12349")[:5]), false, I(session.IntentPINBack), nil, session.StepPIN, session.DoorFree, false},
		{"pin cancel", cat(I(session.IntentStart)), false, I(session.IntentCancel), nil, session.StepDoor, session.DoorFree, false},
		{"pin start again", cat(I(session.IntentStart)), false, I(session.IntentStart), session.ErrWrongStep, session.StepPIN, session.DoorFree, false},

		// Checklist.
		{"checklist continue unticked", toChecklist, false, I(session.IntentCheckContinue), session.ErrInvalid, session.StepChecklist, session.DoorFree, false},
		{"checklist toggle bad item", toChecklist, false, session.Intent{Kind: session.IntentCheckToggle, Item: 7}, session.ErrInvalid, session.StepChecklist, session.DoorFree, false},
		{"checklist continue ticked", cat(toChecklist, tickAll), false, I(session.IntentCheckContinue), nil, session.StepParticipants, session.DoorInSession, false},
		{"checklist override without failure", cat(toChecklist, tickAll), false, session.Intent{Kind: session.IntentCheckOverride, Reason: "x"}, nil, session.StepParticipants, session.DoorInSession, false},
		{"checklist cancel", toChecklist, false, I(session.IntentCancel), nil, session.StepDoor, session.DoorFree, false},

		// Participants and record choice.
		{"participants 0", toParticipants, false, session.Intent{Kind: session.IntentParticipants, Count: 0}, session.ErrInvalid, session.StepParticipants, session.DoorInSession, false},
		{"participants 7", toParticipants, false, session.Intent{Kind: session.IntentParticipants, Count: 7}, session.ErrInvalid, session.StepParticipants, session.DoorInSession, false},
		{"participants 6", toParticipants, false, session.Intent{Kind: session.IntentParticipants, Count: 6}, nil, session.StepRecordChoice, session.DoorInSession, false},
		{"participants cancel", toParticipants, false, I(session.IntentCancel), nil, session.StepDoor, session.DoorFree, false},
		{"record no", toRecordChoice, false, session.Intent{Kind: session.IntentRecord, Yes: false}, nil, session.StepInSession, session.DoorInSession, false},
		{"record yes", toRecordChoice, false, session.Intent{Kind: session.IntentRecord, Yes: true}, nil, session.StepConsent, session.DoorInSession, false},

		// Consent.
		{"consent out of turn", toConsent, false, consent(2, true), session.ErrInvalid, session.StepConsent, session.DoorInSession, false},
		{"consent wrong hash", toConsent, false, session.Intent{Kind: session.IntentConsent, Participant: 1, Yes: true, Language: "en", TextSHA256: session.TextSHA256(texts["zh"])}, session.ErrInvalid, session.StepConsent, session.DoorInSession, false},
		{"consent wrong language", toConsent, false, session.Intent{Kind: session.IntentConsent, Participant: 1, Yes: true, Language: "fr", TextSHA256: sha}, session.ErrInvalid, session.StepConsent, session.DoorInSession, false},
		{"consent zh text", toConsent, false, session.Intent{Kind: session.IntentConsent, Participant: 1, Yes: true, Language: "zh", TextSHA256: session.TextSHA256(texts["zh"])}, nil, session.StepConsent, session.DoorInSession, false},
		{"consent first yes", toConsent, false, consent(1, true), nil, session.StepConsent, session.DoorInSession, false},
		{"consent first no", toConsent, false, consent(1, false), nil, session.StepInSession, session.DoorInSession, false},
		{"consent last yes", cat(toConsent, consent(1, true)), false, consent(2, true), nil, session.StepInSession, session.DoorInSession, false},
		{"consent withdraw before recording", cat(toConsent, consent(1, true)), false, I(session.IntentWithdraw), session.ErrWrongStep, session.StepConsent, session.DoorInSession, false},
		{"consent cancel", cat(toConsent, consent(1, true)), false, I(session.IntentCancel), nil, session.StepDoor, session.DoorFree, false},

		// In session.
		{"recorded withdraw", toRecorded, true, I(session.IntentWithdraw), nil, session.StepWithdrawChoice, session.DoorInSession, false},
		{"recorded end", toRecorded, true, I(session.IntentEnd), nil, session.StepEndPIN, session.DoorInSession, true},
		{"recorded cancel", toRecorded, true, I(session.IntentCancel), session.ErrWrongStep, session.StepInSession, session.DoorInSession, true},
		{"recorded start", toRecorded, true, I(session.IntentStart), session.ErrWrongStep, session.StepInSession, session.DoorInSession, true},
		{"recorded consent again", toRecorded, true, consent(1, true), session.ErrWrongStep, session.StepInSession, session.DoorInSession, true},
		{"unrecorded withdraw", toUnrecorded, false, I(session.IntentWithdraw), session.ErrInvalid, session.StepInSession, session.DoorInSession, false},
		{"unrecorded end", toUnrecorded, false, I(session.IntentEnd), nil, session.StepEndPIN, session.DoorInSession, false},

		// Withdrawal.
		{"withdraw keep", toWithdraw, true, I(session.IntentWithdrawKeep), nil, session.StepInSession, session.DoorInSession, false},
		{"withdraw delete", toWithdraw, true, I(session.IntentWithdrawDelete), nil, session.StepInSession, session.DoorInSession, false},
		{"withdraw twice", cat(toWithdraw, I(session.IntentWithdrawKeep)), true, I(session.IntentWithdraw), session.ErrInvalid, session.StepInSession, session.DoorInSession, false},
		{"withdraw choice end", toWithdraw, true, I(session.IntentEnd), session.ErrWrongStep, session.StepWithdrawChoice, session.DoorInSession, false},

		// End.
		{"end pin withdraw", toEndPIN, true, I(session.IntentWithdraw), nil, session.StepWithdrawChoice, session.DoorInSession, false},
		{"end pin cancel", toEndPIN, true, I(session.IntentCancel), nil, session.StepInSession, session.DoorInSession, true},
		{"end pin wrong", cat(toEndPIN, pinIntents(badPIN)[:4]), true, I(session.IntentPINOK), session.ErrWrongPIN, session.StepEndPIN, session.DoorInSession, true},
		{"end pin right", cat(toEndPIN, pinIntents(goodPIN)[:4]), true, I(session.IntentPINOK), nil, session.StepFeedback, session.DoorInSession, false},
		{"feedback 6", toFeedback, true, session.Intent{Kind: session.IntentFeedback, Rating: 6}, session.ErrInvalid, session.StepFeedback, session.DoorInSession, false},
		{"feedback skip", toFeedback, true, session.Intent{Kind: session.IntentFeedback, Rating: 0}, nil, session.StepDoor, session.DoorFree, false},
		{"feedback 5", toFeedback, true, session.Intent{Kind: session.IntentFeedback, Rating: 5}, nil, session.StepDoor, session.DoorFree, false},
		{"feedback withdraw", toFeedback, true, I(session.IntentWithdraw), session.ErrWrongStep, session.StepFeedback, session.DoorInSession, false},

		// Maintenance.
		{"maintenance pin right", cat(toMaintPIN, pinIntents(goodPIN)[:4]), false, I(session.IntentPINOK), nil, session.StepMaintenance, session.DoorFree, false},
		{"maintenance cancel", toMaintenance, false, I(session.IntentCancel), nil, session.StepDoor, session.DoorFree, false},
		{"maintenance start", toMaintenance, false, I(session.IntentStart), session.ErrWrongStep, session.StepMaintenance, session.DoorFree, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, testConfig(), false)
			h.must(tt.prefix...)
			if tt.recording {
				h.report(session.RecorderRecording)
			}
			err := h.send(tt.event)
			switch {
			case tt.wantErr == nil && err != nil:
				t.Fatalf("err = %v, want nil", err)
			case tt.wantErr != nil && !isRefused(err, tt.wantErr):
				t.Fatalf("err = %v, want a refusal with %v", err, tt.wantErr)
			}
			s := h.snap()
			if s.Step != tt.step || s.Door != tt.door || s.Recording != tt.wantRec {
				t.Errorf("step=%s door=%s recording=%v, want step=%s door=%s recording=%v", s.Step, s.Door, s.Recording, tt.step, tt.door, tt.wantRec)
			}
		})
	}
}

func TestDeclineHidesWhoAndStartsNothing(t *testing.T) {
	h := newHarness(t, testConfig(), true)
	h.must(cat(toRecordChoice, session.Intent{Kind: session.IntentRecord, Yes: true}, consent(1, true), consent(2, false))...)
	s := h.snap()
	if s.Recorded || s.Recording || s.Decisions != nil || s.Notice != session.NoticeNotRecordedDeclined || s.Message == "" {
		t.Errorf("after a decline: %+v", s)
	}
	if calls := h.rec.Calls(); len(calls) != 0 {
		t.Errorf("recorder calls after a decline: %+v", calls)
	}
	h.must(kind(session.IntentEnd))
	h.must(pinIntents(goodPIN)...)
	h.must(session.Intent{Kind: session.IntentFeedback})
	ended := h.up.Calls()
	if len(ended) != 1 {
		t.Fatalf("uploader calls = %+v, want one session summary", ended)
	}
	if sum := ended[0].Summary; !sum.Declined || sum.Recorded || !sum.WantRecording || sum.Participants != 2 || sum.Feedback != 0 {
		t.Errorf("summary of a declined session = %+v", sum)
	}
}

func TestWithdrawStopsAtOnceAndNeverRestarts(t *testing.T) {
	h := newHarness(t, testConfig(), true)
	h.must(toRecorded...)
	if !h.snap().Recording {
		t.Fatal("not recording after every consent")
	}
	h.must(kind(session.IntentWithdraw))
	calls := h.rec.Calls()
	if last := calls[len(calls)-1]; last.Op != "stop" || !last.Withdrawn {
		t.Fatalf("last recorder call = %+v, want stop(withdrawn)", last)
	}
	// A late "recording" report must not turn the light back on.
	h.report(session.RecorderRecording)
	if s := h.snap(); s.Recording || !s.Withdrawn || s.Notice != session.NoticeWithdrawn {
		t.Fatalf("after withdrawal: recording=%v withdrawn=%v notice=%q", s.Recording, s.Withdrawn, s.Notice)
	}
	h.must(kind(session.IntentWithdrawDelete))
	if last := h.rec.Calls()[len(h.rec.Calls())-1]; last.Op != "discard" || last.SessionID != "s1" {
		t.Errorf("last recorder call = %+v, want discard(s1)", last)
	}
	h.must(kind(session.IntentEnd))
	h.must(pinIntents(goodPIN)...)
	for _, c := range h.rec.Calls() {
		if c.Op == "stop" && !c.Withdrawn {
			t.Errorf("a second stop at end after withdrawal: %+v", h.rec.Calls())
		}
	}
}

func TestCheckOverride(t *testing.T) {
	h := newHarness(t, testConfig(), true)
	h.must(toChecklist...)
	h.core.ChecksUpdated([]session.CheckResult{
		{Name: "microphone", State: session.CheckAbnormal, Required: true},
		{Name: "light", State: session.CheckAbnormal, Required: false},
	})
	h.must(tickAll...)
	if s := h.snap(); !s.Blocked {
		t.Fatal("not blocked by a failing required check")
	}
	if err := h.send(kind(session.IntentCheckContinue)); !isRefused(err, session.ErrInvalid) {
		t.Fatalf("continue past a failing check: %v", err)
	}
	if err := h.send(session.Intent{Kind: session.IntentCheckOverride, Reason: "  "}); !isRefused(err, session.ErrInvalid) {
		t.Fatalf("override without a reason: %v", err)
	}
	h.must(session.Intent{Kind: session.IntentCheckOverride, Reason: "spare mic on the desk"})
	s := h.snap()
	if s.Step != session.StepParticipants || s.OverrideNote == "" || s.Door != session.DoorInSession {
		t.Fatalf("after override: %+v", s)
	}
	h.must(session.Intent{Kind: session.IntentParticipants, Count: 1}, session.Intent{Kind: session.IntentRecord, Yes: true}, consent(1, true))
	info := h.rec.Calls()[0].Info
	if !info.ChecksOverridden || info.OverrideReason != "spare mic on the desk" {
		t.Errorf("SessionInfo override = %v %q", info.ChecksOverridden, info.OverrideReason)
	}
}

func TestOutOfService(t *testing.T) {
	h := newHarness(t, testConfig(), false)
	h.core.ChecksUpdated([]session.CheckResult{{Name: "door_closed", State: session.CheckAbnormal, Required: true}})
	if d := h.snap().Door; d != session.DoorOutOfService {
		t.Fatalf("door = %s, want out_of_service", d)
	}
	h.core.ChecksUpdated([]session.CheckResult{{Name: "door_closed", State: session.CheckGood, Required: true}})
	if d := h.snap().Door; d != session.DoorFree {
		t.Fatalf("door = %s after the check recovered, want free", d)
	}
	// While a session is open the door says so, whatever the checks.
	h.must(toParticipants...)
	h.core.ChecksUpdated([]session.CheckResult{{Name: "door_closed", State: session.CheckAbnormal, Required: true}})
	if d := h.snap().Door; d != session.DoorInSession {
		t.Fatalf("door = %s during a session, want in_session", d)
	}
}

func TestLockout(t *testing.T) {
	cfg := testConfig()
	h := newHarness(t, cfg, false)
	h.must(kind(session.IntentStart))
	for i := 1; i <= cfg.Flow.LockoutAttempts; i++ {
		for _, in := range pinIntents(badPIN)[:4] {
			h.must(in)
		}
		err := h.send(kind(session.IntentPINOK))
		want := session.ErrWrongPIN
		if i == cfg.Flow.LockoutAttempts {
			want = session.ErrLocked
		}
		if !isRefused(err, want) {
			t.Fatalf("attempt %d: %v, want %v", i, err, want)
		}
	}
	s := h.snap()
	if !s.LockedUntil.Equal(t0.Add(cfg.Flow.LockoutFor.Duration)) || s.PINError == "" {
		t.Fatalf("after lockout: locked_until=%v pin_error=%q", s.LockedUntil, s.PINError)
	}
	// Even the right PIN is refused while locked; the pad stays open.
	if err := h.send(session.Intent{Kind: session.IntentPINDigit, Digit: 1}); !isRefused(err, session.ErrLocked) {
		t.Fatalf("digit while locked: %v", err)
	}
	// The lockout is per kiosk: leaving and coming back does not reset it.
	h.advance(cfg.Flow.PINTimeout.Duration)
	if s := h.snap(); s.Step != session.StepDoor || s.LockedUntil.IsZero() {
		t.Fatalf("after PIN timeout: step=%s locked_until=%v", s.Step, s.LockedUntil)
	}
	h.must(kind(session.IntentMaintenance))
	if err := h.send(session.Intent{Kind: session.IntentPINDigit, Digit: 1}); !isRefused(err, session.ErrLocked) {
		t.Fatalf("maintenance PIN while locked: %v", err)
	}
	h.must(kind(session.IntentCancel))
	h.advance(cfg.Flow.LockoutFor.Duration)
	if s := h.snap(); !s.LockedUntil.IsZero() || s.PINError != "" {
		t.Fatalf("lockout not lifted: %+v", s)
	}
	h.must(toChecklist...)
}

func TestTimeouts(t *testing.T) {
	cfg := testConfig()
	pinT, consentT := cfg.Flow.PINTimeout.Duration, cfg.Flow.ConsentTimeout.Duration
	tests := []struct {
		name    string
		prefix  []session.Intent
		advance time.Duration
		step    session.Step
		ended   int // SessionEnded calls
	}{
		{"pin abandoned", cat(kind(session.IntentStart)), pinT, session.StepDoor, 0},
		{"pin still typing", cat(kind(session.IntentStart)), pinT - time.Second, session.StepPIN, 0},
		{"maintenance pin abandoned", toMaintPIN, pinT, session.StepDoor, 0},
		{"checklist abandoned", toChecklist, consentT, session.StepDoor, 0},
		{"participants abandoned", toParticipants, consentT, session.StepDoor, 1},
		{"consent abandoned", cat(toConsent, consent(1, true)), consentT, session.StepDoor, 1},
		{"consent not yet abandoned", cat(toConsent, consent(1, true)), consentT - time.Second, session.StepConsent, 0},
		{"in session never times out", toRecorded, 10 * consentT, session.StepInSession, 0},
		{"end pin abandoned", toEndPIN, pinT, session.StepInSession, 0},
		{"feedback abandoned", toFeedback, consentT, session.StepDoor, 1},
		{"maintenance abandoned", toMaintenance, consentT, session.StepDoor, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, cfg, true)
			h.must(tt.prefix...)
			h.advance(tt.advance)
			s := h.snap()
			if s.Step != tt.step {
				t.Errorf("step = %s, want %s", s.Step, tt.step)
			}
			if n := len(h.up.Calls()); n != tt.ended {
				t.Errorf("SessionEnded calls = %d, want %d", n, tt.ended)
			}
			if s.Step == session.StepDoor && (s.Door != session.DoorFree || s.SessionID != "") {
				t.Errorf("back at the door with door=%s session=%q", s.Door, s.SessionID)
			}
			for _, c := range h.rec.Calls() {
				if c.Op == "start" && tt.step == session.StepDoor && tt.ended > 0 && len(tt.prefix) < len(toRecorded) {
					t.Errorf("an abandoned session started the recorder: %+v", c)
				}
			}
		})
	}
}

func TestMaxLength(t *testing.T) {
	cfg := testConfig()
	h := newHarness(t, cfg, true)
	h.must(toRecorded...)
	warnAt := cfg.MaxLength - cfg.Flow.MaxLengthWarn.Duration
	h.advance(warnAt - time.Second)
	if s := h.snap(); len(s.Alerts) != 0 || !s.Recording {
		t.Fatalf("before the warning: alerts=%v recording=%v", s.Alerts, s.Recording)
	}
	h.advance(time.Second)
	if s := h.snap(); len(s.Alerts) != 1 || s.Alerts[0].Code != session.AlertMaxLengthNear || !s.Recording {
		t.Fatalf("at the warning: alerts=%v recording=%v", s.Alerts, s.Recording)
	}
	h.advance(cfg.Flow.MaxLengthWarn.Duration)
	s := h.snap()
	if s.Recording || len(s.Alerts) != 1 || s.Alerts[0].Code != session.AlertMaxLengthReached || s.Notice != session.NoticeMaxLength {
		t.Fatalf("at max length: recording=%v alerts=%v notice=%q", s.Recording, s.Alerts, s.Notice)
	}
	if s.Step != session.StepInSession || s.Door != session.DoorInSession {
		t.Fatalf("the session should go on unrecorded: step=%s door=%s", s.Step, s.Door)
	}
	calls := h.rec.Calls()
	if last := calls[len(calls)-1]; last.Op != "stop" || last.Withdrawn {
		t.Fatalf("last recorder call = %+v, want stop", last)
	}
	// Ending stops nothing a second time.
	h.must(kind(session.IntentEnd))
	h.must(pinIntents(goodPIN)...)
	if n := len(h.rec.Calls()); n != len(calls) {
		t.Errorf("recorder calls after end = %+v", h.rec.Calls()[len(calls):])
	}
}

func TestRecorderReports(t *testing.T) {
	h := newHarness(t, testConfig(), false)
	h.must(toRecorded...)
	id := h.snap().SessionID
	// A report for another session never lights the door.
	h.core.RecorderChanged(session.RecorderStatus{SessionID: "other", State: session.RecorderRecording})
	if h.snap().Recording {
		t.Fatal("recording from another session's report")
	}
	alerts := []session.Alert{{Code: "mic_silent", Since: t0}}
	h.core.RecorderChanged(session.RecorderStatus{SessionID: id, State: session.RecorderRecording, Alerts: alerts, Level: session.Level{RMSdBFS: -30}})
	s := h.snap()
	if !s.Recording || len(s.Alerts) != 1 || s.Alerts[0].Code != "mic_silent" || s.Level.RMSdBFS != -30 {
		t.Fatalf("after a recording report: %+v", s)
	}
	h.core.RecorderChanged(session.RecorderStatus{SessionID: id, State: session.RecorderFault, Reason: "device lost"})
	if h.snap().Recording {
		t.Fatal("recording while the recorder is in fault")
	}
	h.core.RecorderChanged(session.RecorderStatus{SessionID: id, State: session.RecorderStopped, Reason: "disk floor"})
	if s := h.snap(); s.Recording || s.Notice != "" {
		// It was not recording just before, so no "stopped by the recorder" notice.
		t.Fatalf("after stop: %+v", s)
	}
	h.core.RecorderChanged(session.RecorderStatus{SessionID: id, State: session.RecorderRecording})
	h.core.RecorderChanged(session.RecorderStatus{SessionID: id, State: session.RecorderStopped, Reason: "disk floor"})
	if s := h.snap(); s.Recording || s.Notice != session.NoticeRecorderStopped {
		t.Fatalf("after the recorder stopped on its own: %+v", s)
	}
}

func TestRecorderStartFails(t *testing.T) {
	h := newHarness(t, testConfig(), true)
	h.rec.FailStart(errors.New("disk full"))
	h.must(toRecorded...)
	s := h.snap()
	if s.Recording || s.Recorded || s.Notice != session.NoticeRecorderFailed || s.Step != session.StepInSession {
		t.Fatalf("after a failed start: %+v", s)
	}
	if err := h.send(kind(session.IntentWithdraw)); !isRefused(err, session.ErrInvalid) {
		t.Errorf("withdraw of an unrecorded session: %v", err)
	}
}

func TestLanguageResetsAtTheDoor(t *testing.T) {
	h := newHarness(t, testConfig(), true)
	h.must(session.Intent{Kind: session.IntentLanguage, Language: "zh"}, kind(session.IntentStart))
	if l := h.snap().Language; l != "zh" {
		t.Fatalf("language = %s", l)
	}
	h.must(kind(session.IntentCancel))
	if l := h.snap().Language; l != "en" {
		t.Fatalf("language after the door = %s, want the room's first", l)
	}
}

// The daemon wires the recorder's callback before the core exists, and
// recovery at start-up may report through it.
func TestReportsToNilCore(t *testing.T) {
	var c *session.Core
	c.RecorderChanged(session.RecorderStatus{State: session.RecorderIdle})
	c.ChecksUpdated(nil)
}

// A subscriber that never reads does not block the core, and when it does
// read it gets the latest snapshot, not a backlog.
func TestSlowSubscriber(t *testing.T) {
	h := newHarness(t, testConfig(), true)
	ch, stop := h.core.Subscribe()
	defer stop()
	h.must(toRecorded...)
	h.must(kind(session.IntentWithdraw))
	got := <-ch
	if got.Step != session.StepWithdrawChoice || got.Seq != h.snap().Seq {
		t.Fatalf("slow subscriber got step=%s seq=%d, want the latest (seq %d)", got.Step, got.Seq, h.snap().Seq)
	}
	select {
	case s := <-ch:
		t.Fatalf("a second, stale snapshot: seq %d", s.Seq)
	default:
	}
	stop()
	h.must(kind(session.IntentWithdrawKeep)) // no send to an unsubscribed channel
	select {
	case s := <-ch:
		t.Fatalf("snapshot after unsubscribe: seq %d", s.Seq)
	default:
	}
}
