package session_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"roomkiosk/internal/room"
	"roomkiosk/kiosk/session"
)

// TestStateEvent is the state x event table: from a state reached by a
// prefix of intents, one event gives an error (or none) and a new state.
func TestStateEvent(t *testing.T) {
	I := func(k room.IntentKind) room.Intent { return room.Intent{Kind: k} }
	sha := room.TextSHA256(texts["en"])
	tests := []struct {
		name      string
		prefix    []room.Intent
		recording bool // the recorder reports recording after the prefix
		event     room.Intent
		wantErr   error // a sentinel, or nil
		step      room.Step
		door      room.Door
		wantRec   bool
	}{
		// Door.
		{"door start", nil, false, I(room.IntentStart), nil, room.StepPIN, room.DoorFree, false},
		{"door maintenance", nil, false, I(room.IntentMaintenance), nil, room.StepMaintenancePIN, room.DoorFree, false},
		{"door withdraw", nil, false, I(room.IntentWithdraw), room.ErrWrongStep, room.StepDoor, room.DoorFree, false},
		{"door end", nil, false, I(room.IntentEnd), room.ErrWrongStep, room.StepDoor, room.DoorFree, false},
		{"door consent", nil, false, consent(1, true), room.ErrWrongStep, room.StepDoor, room.DoorFree, false},
		{"door pin digit", nil, false, room.Intent{Kind: room.IntentPINDigit, Digit: 1}, room.ErrWrongStep, room.StepDoor, room.DoorFree, false},
		{"door cancel", nil, false, I(room.IntentCancel), room.ErrWrongStep, room.StepDoor, room.DoorFree, false},
		{"door feedback", nil, false, room.Intent{Kind: room.IntentFeedback, Rating: 3}, room.ErrWrongStep, room.StepDoor, room.DoorFree, false},
		{"door language zh", nil, false, room.Intent{Kind: room.IntentLanguage, Language: "zh"}, nil, room.StepDoor, room.DoorFree, false},
		{"door language fr", nil, false, room.Intent{Kind: room.IntentLanguage, Language: "fr"}, room.ErrInvalid, room.StepDoor, room.DoorFree, false},
		{"door unknown intent", nil, false, I("dance"), room.ErrInvalid, room.StepDoor, room.DoorFree, false},

		// PIN pad.
		{"pin wrong", cat(I(room.IntentStart), pinIntents(badPIN)[:4]), false, I(room.IntentPINOK), room.ErrWrongPIN, room.StepPIN, room.DoorFree, false},
		{"pin too short", cat(I(room.IntentStart), pinIntents("12")[:2]), false, I(room.IntentPINOK), room.ErrInvalid, room.StepPIN, room.DoorFree, false},
		{"pin digit 10", cat(I(room.IntentStart)), false, room.Intent{Kind: room.IntentPINDigit, Digit: 10}, room.ErrInvalid, room.StepPIN, room.DoorFree, false},
		{"pin ninth digit", cat(I(room.IntentStart), pinIntents("12345678")[:8]), false, room.Intent{Kind: room.IntentPINDigit, Digit: 1}, room.ErrInvalid, room.StepPIN, room.DoorFree, false},
		{"pin back", cat(I(room.IntentStart), pinIntents("12349")[:5]), false, I(room.IntentPINBack), nil, room.StepPIN, room.DoorFree, false},
		{"pin cancel", cat(I(room.IntentStart)), false, I(room.IntentCancel), nil, room.StepDoor, room.DoorFree, false},
		{"pin start again", cat(I(room.IntentStart)), false, I(room.IntentStart), room.ErrWrongStep, room.StepPIN, room.DoorFree, false},

		// Checklist.
		{"checklist continue unticked", toChecklist, false, I(room.IntentCheckContinue), room.ErrInvalid, room.StepChecklist, room.DoorFree, false},
		{"checklist toggle bad item", toChecklist, false, room.Intent{Kind: room.IntentCheckToggle, Item: 7}, room.ErrInvalid, room.StepChecklist, room.DoorFree, false},
		{"checklist continue ticked", cat(toChecklist, tickAll), false, I(room.IntentCheckContinue), nil, room.StepParticipants, room.DoorInSession, false},
		{"checklist override without failure", cat(toChecklist, tickAll), false, room.Intent{Kind: room.IntentCheckOverride, Reason: "x"}, nil, room.StepParticipants, room.DoorInSession, false},
		{"checklist cancel", toChecklist, false, I(room.IntentCancel), nil, room.StepDoor, room.DoorFree, false},

		// Participants and record choice.
		{"participants 0", toParticipants, false, room.Intent{Kind: room.IntentParticipants, Count: 0}, room.ErrInvalid, room.StepParticipants, room.DoorInSession, false},
		{"participants 7", toParticipants, false, room.Intent{Kind: room.IntentParticipants, Count: 7}, room.ErrInvalid, room.StepParticipants, room.DoorInSession, false},
		{"participants 6", toParticipants, false, room.Intent{Kind: room.IntentParticipants, Count: 6}, nil, room.StepRecordChoice, room.DoorInSession, false},
		{"participants cancel", toParticipants, false, I(room.IntentCancel), nil, room.StepDoor, room.DoorFree, false},
		{"record no", toRecordChoice, false, room.Intent{Kind: room.IntentRecord, Yes: false}, nil, room.StepInSession, room.DoorInSession, false},
		{"record yes", toRecordChoice, false, room.Intent{Kind: room.IntentRecord, Yes: true}, nil, room.StepConsent, room.DoorInSession, false},

		// Consent.
		{"consent out of turn", toConsent, false, consent(2, true), room.ErrInvalid, room.StepConsent, room.DoorInSession, false},
		{"consent wrong hash", toConsent, false, room.Intent{Kind: room.IntentConsent, Participant: 1, Yes: true, Language: "en", TextSHA256: room.TextSHA256(texts["zh"])}, room.ErrInvalid, room.StepConsent, room.DoorInSession, false},
		{"consent wrong language", toConsent, false, room.Intent{Kind: room.IntentConsent, Participant: 1, Yes: true, Language: "fr", TextSHA256: sha}, room.ErrInvalid, room.StepConsent, room.DoorInSession, false},
		{"consent zh text", toConsent, false, room.Intent{Kind: room.IntentConsent, Participant: 1, Yes: true, Language: "zh", TextSHA256: room.TextSHA256(texts["zh"])}, nil, room.StepConsent, room.DoorInSession, false},
		{"consent first yes", toConsent, false, consent(1, true), nil, room.StepConsent, room.DoorInSession, false},
		{"consent first no", toConsent, false, consent(1, false), nil, room.StepInSession, room.DoorInSession, false},
		{"consent last yes", cat(toConsent, consent(1, true)), false, consent(2, true), nil, room.StepInSession, room.DoorInSession, false},
		{"consent withdraw before recording", cat(toConsent, consent(1, true)), false, I(room.IntentWithdraw), room.ErrWrongStep, room.StepConsent, room.DoorInSession, false},
		{"consent cancel", cat(toConsent, consent(1, true)), false, I(room.IntentCancel), nil, room.StepDoor, room.DoorFree, false},

		// In session.
		{"recorded withdraw", toRecorded, true, I(room.IntentWithdraw), nil, room.StepWithdrawChoice, room.DoorInSession, false},
		{"recorded end", toRecorded, true, I(room.IntentEnd), nil, room.StepEndPIN, room.DoorInSession, true},
		{"recorded cancel", toRecorded, true, I(room.IntentCancel), room.ErrWrongStep, room.StepInSession, room.DoorInSession, true},
		{"recorded start", toRecorded, true, I(room.IntentStart), room.ErrWrongStep, room.StepInSession, room.DoorInSession, true},
		{"recorded consent again", toRecorded, true, consent(1, true), room.ErrWrongStep, room.StepInSession, room.DoorInSession, true},
		{"unrecorded withdraw", toUnrecorded, false, I(room.IntentWithdraw), room.ErrInvalid, room.StepInSession, room.DoorInSession, false},
		{"unrecorded end", toUnrecorded, false, I(room.IntentEnd), nil, room.StepEndPIN, room.DoorInSession, false},

		// Withdrawal.
		{"withdraw keep", toWithdraw, true, I(room.IntentWithdrawKeep), nil, room.StepInSession, room.DoorInSession, false},
		{"withdraw delete", toWithdraw, true, I(room.IntentWithdrawDelete), nil, room.StepInSession, room.DoorInSession, false},
		{"withdraw twice", cat(toWithdraw, I(room.IntentWithdrawKeep)), true, I(room.IntentWithdraw), room.ErrInvalid, room.StepInSession, room.DoorInSession, false},
		{"withdraw choice end", toWithdraw, true, I(room.IntentEnd), room.ErrWrongStep, room.StepWithdrawChoice, room.DoorInSession, false},

		// End.
		{"end pin withdraw", toEndPIN, true, I(room.IntentWithdraw), nil, room.StepWithdrawChoice, room.DoorInSession, false},
		{"end pin cancel", toEndPIN, true, I(room.IntentCancel), nil, room.StepInSession, room.DoorInSession, true},
		{"end pin wrong", cat(toEndPIN, pinIntents(badPIN)[:4]), true, I(room.IntentPINOK), room.ErrWrongPIN, room.StepEndPIN, room.DoorInSession, true},
		{"end pin right", cat(toEndPIN, pinIntents(goodPIN)[:4]), true, I(room.IntentPINOK), nil, room.StepFeedback, room.DoorInSession, false},
		{"feedback 6", toFeedback, true, room.Intent{Kind: room.IntentFeedback, Rating: 6}, room.ErrInvalid, room.StepFeedback, room.DoorInSession, false},
		{"feedback skip", toFeedback, true, room.Intent{Kind: room.IntentFeedback, Rating: 0}, nil, room.StepDoor, room.DoorFree, false},
		{"feedback 5", toFeedback, true, room.Intent{Kind: room.IntentFeedback, Rating: 5}, nil, room.StepDoor, room.DoorFree, false},
		{"feedback withdraw", toFeedback, true, I(room.IntentWithdraw), room.ErrWrongStep, room.StepFeedback, room.DoorInSession, false},

		// Maintenance.
		{"maintenance pin right", cat(toMaintPIN, pinIntents(goodPIN)[:4]), false, I(room.IntentPINOK), nil, room.StepMaintenance, room.DoorFree, false},
		{"maintenance cancel", toMaintenance, false, I(room.IntentCancel), nil, room.StepDoor, room.DoorFree, false},
		{"maintenance start", toMaintenance, false, I(room.IntentStart), room.ErrWrongStep, room.StepMaintenance, room.DoorFree, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, testConfig(), false)
			h.must(tt.prefix...)
			if tt.recording {
				h.report(room.RecorderRecording)
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
	h.must(cat(toRecordChoice, room.Intent{Kind: room.IntentRecord, Yes: true}, consent(1, true), consent(2, false))...)
	s := h.snap()
	if s.Recorded || s.Recording || s.Decisions != nil || s.Notice != room.NoticeNotRecordedDeclined || s.Message == "" {
		t.Errorf("after a decline: %+v", s)
	}
	if calls := h.rec.Calls(); len(calls) != 0 {
		t.Errorf("recorder calls after a decline: %+v", calls)
	}
	h.must(kind(room.IntentEnd))
	h.must(pinIntents(goodPIN)...)
	h.must(room.Intent{Kind: room.IntentFeedback})
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
	h.must(kind(room.IntentWithdraw))
	calls := h.rec.Calls()
	if last := calls[len(calls)-1]; last.Op != "stop" || !last.Withdrawn {
		t.Fatalf("last recorder call = %+v, want stop(withdrawn)", last)
	}
	// A late "recording" report must not turn the light back on.
	h.report(room.RecorderRecording)
	if s := h.snap(); s.Recording || !s.Withdrawn || s.Notice != room.NoticeWithdrawn {
		t.Fatalf("after withdrawal: recording=%v withdrawn=%v notice=%q", s.Recording, s.Withdrawn, s.Notice)
	}
	h.must(kind(room.IntentWithdrawDelete))
	if last := h.rec.Calls()[len(h.rec.Calls())-1]; last.Op != "discard" || last.SessionID != "s1" {
		t.Errorf("last recorder call = %+v, want discard(s1)", last)
	}
	h.must(kind(room.IntentEnd))
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
	h.core.ChecksUpdated([]room.CheckResult{
		{Name: "microphone", State: room.CheckAbnormal, Required: true},
		{Name: "light", State: room.CheckAbnormal, Required: false},
	})
	h.must(tickAll...)
	if s := h.snap(); !s.Blocked {
		t.Fatal("not blocked by a failing required check")
	}
	if err := h.send(kind(room.IntentCheckContinue)); !isRefused(err, room.ErrInvalid) {
		t.Fatalf("continue past a failing check: %v", err)
	}
	if err := h.send(room.Intent{Kind: room.IntentCheckOverride, Reason: "  "}); !isRefused(err, room.ErrInvalid) {
		t.Fatalf("override without a reason: %v", err)
	}
	// Free text is refused, whatever it says (issue 13 item 4): only codes.
	for _, r := range []string{"spare mic on the desk", "Checked in person: the room is fine", " urgent_session", "URGENT_SESSION"} {
		err := h.send(room.Intent{Kind: room.IntentCheckOverride, Reason: r})
		if !isRefused(err, room.ErrInvalid) {
			t.Fatalf("override with free text %q: %v", r, err)
		}
		if strings.Contains(err.Error(), "spare mic") || strings.Contains(err.Error(), "in person") {
			t.Errorf("the refusal echoes the text sent: %v", err)
		}
	}
	h.must(room.Intent{Kind: room.IntentCheckOverride, Reason: room.OverrideKnownSensorFault})
	s := h.snap()
	if s.Step != room.StepParticipants || s.OverrideNote == "" || s.Door != room.DoorInSession {
		t.Fatalf("after override: %+v", s)
	}
	h.must(room.Intent{Kind: room.IntentParticipants, Count: 1}, room.Intent{Kind: room.IntentRecord, Yes: true}, consent(1, true))
	info := h.rec.Calls()[0].Info
	if !info.ChecksOverridden || info.OverrideReason != room.OverrideKnownSensorFault {
		t.Errorf("SessionInfo override = %v %q", info.ChecksOverridden, info.OverrideReason)
	}
}

func TestOutOfService(t *testing.T) {
	h := newHarness(t, testConfig(), false)
	h.core.ChecksUpdated([]room.CheckResult{{Name: "door_closed", State: room.CheckAbnormal, Required: true}})
	if d := h.snap().Door; d != room.DoorOutOfService {
		t.Fatalf("door = %s, want out_of_service", d)
	}
	h.core.ChecksUpdated([]room.CheckResult{{Name: "door_closed", State: room.CheckGood, Required: true}})
	if d := h.snap().Door; d != room.DoorFree {
		t.Fatalf("door = %s after the check recovered, want free", d)
	}
	// While a session is open the door says so, whatever the checks.
	h.must(toParticipants...)
	h.core.ChecksUpdated([]room.CheckResult{{Name: "door_closed", State: room.CheckAbnormal, Required: true}})
	if d := h.snap().Door; d != room.DoorInSession {
		t.Fatalf("door = %s during a session, want in_session", d)
	}
}

func TestLockout(t *testing.T) {
	cfg := testConfig()
	h := newHarness(t, cfg, false)
	h.must(kind(room.IntentStart))
	for i := 1; i <= cfg.Flow.LockoutAttempts; i++ {
		for _, in := range pinIntents(badPIN)[:4] {
			h.must(in)
		}
		err := h.send(kind(room.IntentPINOK))
		want := room.ErrWrongPIN
		if i == cfg.Flow.LockoutAttempts {
			want = room.ErrLocked
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
	if err := h.send(room.Intent{Kind: room.IntentPINDigit, Digit: 1}); !isRefused(err, room.ErrLocked) {
		t.Fatalf("digit while locked: %v", err)
	}
	// The lockout is per kiosk: leaving and coming back does not reset it.
	h.advance(cfg.Flow.PINTimeout.Duration)
	if s := h.snap(); s.Step != room.StepDoor || s.LockedUntil.IsZero() {
		t.Fatalf("after PIN timeout: step=%s locked_until=%v", s.Step, s.LockedUntil)
	}
	h.must(kind(room.IntentMaintenance))
	if err := h.send(room.Intent{Kind: room.IntentPINDigit, Digit: 1}); !isRefused(err, room.ErrLocked) {
		t.Fatalf("maintenance PIN while locked: %v", err)
	}
	h.must(kind(room.IntentCancel))
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
		prefix  []room.Intent
		advance time.Duration
		step    room.Step
		ended   int // SessionEnded calls
	}{
		{"pin abandoned", cat(kind(room.IntentStart)), pinT, room.StepDoor, 0},
		{"pin still typing", cat(kind(room.IntentStart)), pinT - time.Second, room.StepPIN, 0},
		{"maintenance pin abandoned", toMaintPIN, pinT, room.StepDoor, 0},
		{"checklist abandoned", toChecklist, consentT, room.StepDoor, 0},
		{"participants abandoned", toParticipants, consentT, room.StepDoor, 1},
		{"consent abandoned", cat(toConsent, consent(1, true)), consentT, room.StepDoor, 1},
		{"consent not yet abandoned", cat(toConsent, consent(1, true)), consentT - time.Second, room.StepConsent, 0},
		{"in session never times out", toRecorded, 10 * consentT, room.StepInSession, 0},
		{"end pin abandoned", toEndPIN, pinT, room.StepInSession, 0},
		{"feedback abandoned", toFeedback, consentT, room.StepDoor, 1},
		{"maintenance abandoned", toMaintenance, consentT, room.StepDoor, 0},
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
			if s.Step == room.StepDoor && (s.Door != room.DoorFree || s.SessionID != "") {
				t.Errorf("back at the door with door=%s session=%q", s.Door, s.SessionID)
			}
			for _, c := range h.rec.Calls() {
				if c.Op == "start" && tt.step == room.StepDoor && tt.ended > 0 && len(tt.prefix) < len(toRecorded) {
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
	if s := h.snap(); len(s.Alerts) != 1 || s.Alerts[0].Code != room.AlertMaxLengthNear || !s.Recording {
		t.Fatalf("at the warning: alerts=%v recording=%v", s.Alerts, s.Recording)
	}
	h.advance(cfg.Flow.MaxLengthWarn.Duration)
	s := h.snap()
	if s.Recording || len(s.Alerts) != 1 || s.Alerts[0].Code != room.AlertMaxLengthReached || s.Notice != room.NoticeMaxLength {
		t.Fatalf("at max length: recording=%v alerts=%v notice=%q", s.Recording, s.Alerts, s.Notice)
	}
	if s.Step != room.StepInSession || s.Door != room.DoorInSession {
		t.Fatalf("the session should go on unrecorded: step=%s door=%s", s.Step, s.Door)
	}
	calls := h.rec.Calls()
	if last := calls[len(calls)-1]; last.Op != "stop" || last.Withdrawn {
		t.Fatalf("last recorder call = %+v, want stop", last)
	}
	// Ending stops nothing a second time.
	h.must(kind(room.IntentEnd))
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
	h.core.RecorderChanged(room.RecorderStatus{SessionID: "other", State: room.RecorderRecording})
	if h.snap().Recording {
		t.Fatal("recording from another session's report")
	}
	alerts := []room.Alert{{Code: "mic_silent", Since: t0}}
	h.core.RecorderChanged(room.RecorderStatus{SessionID: id, State: room.RecorderRecording, Alerts: alerts, Level: room.Level{RMSdBFS: -30}})
	s := h.snap()
	if !s.Recording || len(s.Alerts) != 1 || s.Alerts[0].Code != "mic_silent" || s.Level.RMSdBFS != -30 {
		t.Fatalf("after a recording report: %+v", s)
	}
	h.core.RecorderChanged(room.RecorderStatus{SessionID: id, State: room.RecorderFault, Reason: "device lost"})
	if h.snap().Recording {
		t.Fatal("recording while the recorder is in fault")
	}
	h.core.RecorderChanged(room.RecorderStatus{SessionID: id, State: room.RecorderStopped, Reason: "disk floor"})
	if s := h.snap(); s.Recording || s.Notice != "" {
		// It was not recording just before, so no "stopped by the recorder" notice.
		t.Fatalf("after stop: %+v", s)
	}
	h.core.RecorderChanged(room.RecorderStatus{SessionID: id, State: room.RecorderRecording})
	h.core.RecorderChanged(room.RecorderStatus{SessionID: id, State: room.RecorderStopped, Reason: "disk floor"})
	if s := h.snap(); s.Recording || s.Notice != room.NoticeRecorderStopped {
		t.Fatalf("after the recorder stopped on its own: %+v", s)
	}
}

func TestRecorderStartFails(t *testing.T) {
	h := newHarness(t, testConfig(), true)
	h.rec.FailStart(errors.New("disk full"))
	h.must(toRecorded...)
	s := h.snap()
	if s.Recording || s.Recorded || s.Notice != room.NoticeRecorderFailed || s.Step != room.StepInSession {
		t.Fatalf("after a failed start: %+v", s)
	}
	if err := h.send(kind(room.IntentWithdraw)); !isRefused(err, room.ErrInvalid) {
		t.Errorf("withdraw of an unrecorded session: %v", err)
	}
}

func TestLanguageResetsAtTheDoor(t *testing.T) {
	h := newHarness(t, testConfig(), true)
	h.must(room.Intent{Kind: room.IntentLanguage, Language: "zh"}, kind(room.IntentStart))
	if l := h.snap().Language; l != "zh" {
		t.Fatalf("language = %s", l)
	}
	h.must(kind(room.IntentCancel))
	if l := h.snap().Language; l != "en" {
		t.Fatalf("language after the door = %s, want the room's first", l)
	}
}

// The daemon wires the recorder's callback before the core exists, and
// recovery at start-up may report through it.
func TestReportsToNilCore(t *testing.T) {
	var c *session.Core
	c.RecorderChanged(room.RecorderStatus{State: room.RecorderIdle})
	c.ChecksUpdated(nil)
}

// A subscriber that never reads does not block the core, and when it does
// read it gets the latest snapshot, not a backlog.
func TestSlowSubscriber(t *testing.T) {
	h := newHarness(t, testConfig(), true)
	ch, stop := h.core.Subscribe()
	defer stop()
	h.must(toRecorded...)
	h.must(kind(room.IntentWithdraw))
	got := <-ch
	if got.Step != room.StepWithdrawChoice || got.Seq != h.snap().Seq {
		t.Fatalf("slow subscriber got step=%s seq=%d, want the latest (seq %d)", got.Step, got.Seq, h.snap().Seq)
	}
	select {
	case s := <-ch:
		t.Fatalf("a second, stale snapshot: seq %d", s.Seq)
	default:
	}
	stop()
	h.must(kind(room.IntentWithdrawKeep)) // no send to an unsubscribed channel
	select {
	case s := <-ch:
		t.Fatalf("snapshot after unsubscribe: seq %d", s.Seq)
	default:
	}
}
