package screentest

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"roomkiosk/internal/room"
	"roomkiosk/kiosk/internal/uitest"
	"roomkiosk/kiosk/ui"
)

func hasTarget(v ui.View, id string) bool {
	return slices.ContainsFunc(v.Targets, func(t ui.ViewTarget) bool { return t.ID == id })
}

func enterPIN(t *testing.T, s *Screen, pin string) {
	t.Helper()
	for _, d := range pin {
		s.TapThen(t, "pin-"+string(d))
	}
	s.Tap(t, "pin-ok")
}

// toConsent goes from the door to the consent screen of a recorded session
// with one participant: Start, PIN, every manual item, Continue, 1, record.
func toConsent(t *testing.T, s *Screen) {
	t.Helper()
	s.Tap(t, "start")
	s.WaitScene(t, "pin")
	enterPIN(t, s, PIN)
	s.WaitScene(t, "checklist")
	for i := range 3 {
		s.TapThen(t, fmt.Sprintf("check-item-%d", i))
	}
	s.Tap(t, "check-continue")
	s.WaitScene(t, "participants")
	s.Tap(t, "participants-1")
	s.WaitScene(t, "record_choice")
	s.Tap(t, "record-yes")
	s.WaitScene(t, "consent")
}

// TestWholeSession drives a recorded session with two participants through
// the real screen binary, the real control socket and the real session
// core, by tapping what /ui reports, with a screenshot at each step.
func TestWholeSession(t *testing.T) {
	d := StartDaemon(t, DaemonConfig(t), "")
	x := StartX(t)
	s := StartScreen(t, BuildScreen(t), x, d.Socket)

	v := s.WaitScene(t, "door")
	if v.Door != "free" || v.Recording || !slices.Contains(v.Texts, "Free") || !slices.Contains(v.Texts, "Room 101") {
		t.Fatalf("door: %+v", v)
	}
	s.Shot(t, "door")

	s.Tap(t, "start")
	s.WaitScene(t, "pin")
	s.Shot(t, "pin")
	enterPIN(t, s, PIN)
	s.WaitScene(t, "checklist")
	s.Shot(t, "checklist")
	for i := range 3 {
		s.TapThen(t, "check-item-"+string(rune('0'+i)))
	}
	s.Shot(t, "checklist-ticked")
	s.Tap(t, "check-continue")

	s.WaitScene(t, "participants")
	s.Shot(t, "participants")
	s.Tap(t, "participants-2")
	s.WaitScene(t, "record_choice")
	s.Shot(t, "record-choice")
	s.Tap(t, "record-yes")

	for turn := 1; turn <= 2; turn++ {
		want := "Participant " + string(rune('0'+turn)) + " of 2"
		s.WaitFor(t, want, 10*time.Second, func(v ui.View) bool { return v.Scene == "consent" && slices.Contains(v.Texts, want) })
		s.Shot(t, "consent-"+string(rune('0'+turn)))
		s.Agree(t)
	}

	// The door says Recording only once the (fake) recorder reports it.
	v = s.WaitFor(t, "recording", 10*time.Second, func(v ui.View) bool { return v.Scene == "in_session" && v.Recording })
	if !slices.Contains(v.Texts, "Recording") || !hasTarget(v, "withdraw") {
		t.Fatalf("in session: %+v", v)
	}
	s.Shot(t, "recording")
	calls := d.Recorder.Calls()
	if len(calls) != 1 || calls[0].Op != "start" {
		t.Fatalf("recorder calls %+v", calls)
	}
	consent := calls[0].Info.Consent
	if consent.TextSHA256 != room.TextSHA256(uitest.AgreementEN) || consent.Language != "en" || len(consent.Decisions) != 2 {
		t.Errorf("consent record: %+v", consent)
	}
	for _, dec := range consent.Decisions {
		if !dec.Consented || dec.TextSHA256 != room.TextSHA256(uitest.AgreementEN) {
			t.Errorf("decision %+v", dec)
		}
		// The agreement takes more than one page here: each participant
		// paged through all of it before "I agree" worked.
		if dec.Pages < 2 || dec.PagesSeen != dec.Pages {
			t.Errorf("decision %+v: want every page of a multi-page agreement seen", dec)
		}
	}

	// The screen crashes mid-session: recording goes on, and the restarted
	// screen shows the same scene.
	s.Kill()
	time.Sleep(100 * time.Millisecond)
	if snap := d.Core.Snapshot(); !snap.Recording || snap.Step != room.StepInSession {
		t.Fatalf("recording stopped with the screen: %+v", snap)
	}
	s.Start(t)
	v = s.WaitFor(t, "recording after restart", 10*time.Second, func(v ui.View) bool { return v.Scene == "in_session" && v.Recording })
	s.Shot(t, "recording-after-restart")

	// One participant withdraws and keeps what was recorded.
	s.Tap(t, "withdraw")
	s.WaitScene(t, "withdraw_choice")
	s.Shot(t, "withdraw-choice")
	s.Tap(t, "withdraw-keep")
	v = s.WaitFor(t, "unrecorded session", 10*time.Second, func(v ui.View) bool {
		return v.Scene == "in_session" && !v.Recording && !hasTarget(v, "withdraw")
	})
	if !slices.Contains(v.Texts, "Not recorded") {
		t.Errorf("after withdrawal: %q", v.Texts)
	}
	s.Shot(t, "withdrawn")
	ops := []string{}
	for _, c := range d.Recorder.Calls() {
		ops = append(ops, c.Op)
		if c.Op == "stop" && !c.Withdrawn {
			t.Error("stop not marked as a withdrawal")
		}
	}
	// Keep means no discard; a core that tells the recorder "keep" after
	// the stop (holding a withdrawal out of the upload until the choice,
	// findings F8) is as right as one that says nothing.
	if !slices.Equal(ops, []string{"start", "stop"}) && !slices.Equal(ops, []string{"start", "stop", "keep"}) {
		t.Errorf("recorder calls %v, want start, stop (and keep): no discard", ops)
	}

	// End with the PIN, give feedback, back to Free.
	s.Tap(t, "end")
	s.WaitScene(t, "end_pin")
	s.Shot(t, "end-pin")
	enterPIN(t, s, PIN)
	s.WaitScene(t, "feedback")
	s.Shot(t, "feedback")
	s.Tap(t, "feedback-4")
	v = s.WaitFor(t, "free door", 10*time.Second, func(v ui.View) bool { return v.Scene == "door" && v.Door == "free" })
	s.Shot(t, "door-again")
	ended := d.Uploader.Calls()
	if len(ended) != 1 || ended[0].Feedback != 4 {
		t.Errorf("uploader calls %+v, want one session end with feedback 4", ended)
	}
	if strings.Contains(s.Output(), PIN) {
		t.Error("the screen logged the PIN")
	}
}

// TestWrongPINLocksOut: five wrong PINs show the lockout with the time left.
func TestWrongPINLocksOut(t *testing.T) {
	d := StartDaemon(t, DaemonConfig(t), "")
	x := StartX(t)
	s := StartScreen(t, BuildScreen(t), x, d.Socket)
	s.WaitScene(t, "door")
	s.Tap(t, "start")
	s.WaitScene(t, "pin")
	for i := 0; i < 5; i++ {
		enterPIN(t, s, "9999")
		s.WaitFor(t, "wrong PIN", 10*time.Second, func(v ui.View) bool {
			return v.Locked || slices.Contains(v.Texts, "Wrong PIN, please try again")
		})
		if i < 4 {
			s.Shot(t, "wrong-pin")
		}
	}
	v := s.WaitFor(t, "lockout", 10*time.Second, func(v ui.View) bool { return v.Locked })
	if !strings.Contains(strings.Join(v.Texts, " "), "Try again in") {
		t.Errorf("lockout not explained: %q", v.Texts)
	}
	for _, tg := range v.Targets {
		if strings.HasPrefix(tg.ID, "pin-") && tg.Enabled {
			t.Errorf("%s enabled during lockout", tg.ID)
		}
	}
	s.Shot(t, "lockout")
}

// TestReconnectsToRestartedDaemon: the daemon goes away, the screen says
// it is connecting, and it shows the new daemon's state when it is back.
func TestReconnectsToRestartedDaemon(t *testing.T) {
	d := StartDaemon(t, DaemonConfig(t), "")
	x := StartX(t)
	s := StartScreen(t, BuildScreen(t), x, d.Socket)
	s.WaitScene(t, "door")
	// What /ui says is on the X screen: the big state panel is Free's green.
	g, err := x.NewGrabber()
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	img, err := g.Image()
	if err != nil {
		t.Fatal(err)
	}
	if c := img.RGBAAt(60, 100); c != ui.ColFree {
		t.Errorf("pixel in the state panel is %v, want Free's %v", c, ui.ColFree)
	}
	s.Tap(t, "lang-zh")
	s.WaitFor(t, "chinese door", 10*time.Second, func(v ui.View) bool { return v.Language == "zh" && slices.Contains(v.Texts, "空闲") })
	s.Shot(t, "door-zh")
	d.Stop()
	s.WaitScene(t, "connecting")
	s.Shot(t, "connecting")
	StartDaemon(t, DaemonConfig(t), d.Socket)
	s.WaitFor(t, "door from the new daemon", 10*time.Second, func(v ui.View) bool { return v.Scene == "door" && v.Connected })
}

// TestDeclineLanguageAndMaintenance: the maintenance screen behind the
// PIN; then a participant switches the consent screen to Chinese and
// declines, and the session runs unrecorded, saying so plainly.
func TestDeclineLanguageAndMaintenance(t *testing.T) {
	d := StartDaemon(t, DaemonConfig(t), "")
	x := StartX(t)
	s := StartScreen(t, BuildScreen(t), x, d.Socket)
	s.WaitScene(t, "door")
	s.Tap(t, "maintenance")
	s.WaitScene(t, "maintenance_pin")
	enterPIN(t, s, PIN)
	v := s.WaitScene(t, "maintenance")
	if !slices.Contains(v.Texts, "Temperature") || !slices.Contains(v.Texts, "No faults") {
		t.Errorf("maintenance: %q", v.Texts)
	}
	s.Shot(t, "maintenance")
	s.Tap(t, "maintenance-back")
	s.WaitScene(t, "door")

	toConsent(t, s)
	s.Tap(t, "lang-zh")
	s.WaitFor(t, "chinese agreement", 10*time.Second, func(v ui.View) bool {
		return v.Language == "zh" && slices.Contains(v.Texts, "来访者 1 / 1")
	})
	s.Shot(t, "consent-zh")
	s.Tap(t, "consent-no")
	v = s.WaitFor(t, "unrecorded session", 10*time.Second, func(v ui.View) bool { return v.Scene == "in_session" })
	if v.Recording || hasTarget(v, "withdraw") || !slices.Contains(v.Texts, "未录音：有来访者不同意录音") {
		t.Errorf("declined session: recording %v, texts %q", v.Recording, v.Texts)
	}
	s.Shot(t, "declined-zh")
	if calls := d.Recorder.Calls(); len(calls) != 0 {
		t.Errorf("the recorder was called after a decline: %+v", calls)
	}
	s.Tap(t, "end")
	s.WaitScene(t, "end_pin")
	enterPIN(t, s, PIN)
	s.WaitScene(t, "feedback")
	s.Tap(t, "feedback-skip")
	s.WaitScene(t, "door")
	if ended := d.Uploader.Calls(); len(ended) != 1 || ended[0].Feedback != 0 {
		t.Errorf("uploader calls %+v, want one session end without feedback", ended)
	}
}

// TestOverrideFailedCheck: a failing required check blocks Continue; the
// counselor overrides it with a reason and the flow goes on to a recorded
// session, which a participant stops, deleting what was recorded.
func TestOverrideFailedCheck(t *testing.T) {
	d := StartDaemon(t, DaemonConfig(t), "")
	failing := GoodChecks()
	for i := range failing {
		if failing[i].Name == "door" {
			failing[i].State, failing[i].Value = room.CheckAbnormal, "open"
			failing[i].Hint = "Close the door"
		}
	}
	d.Checker.SetResults(failing, d.Core.ChecksUpdated)
	d.Core.ChecksUpdated(failing)
	x := StartX(t)
	s := StartScreen(t, BuildScreen(t), x, d.Socket)
	s.WaitScene(t, "door")
	s.Tap(t, "start")
	s.WaitScene(t, "pin")
	enterPIN(t, s, PIN)
	s.WaitScene(t, "checklist")
	for i := range 3 {
		s.TapThen(t, "check-item-"+string(rune('0'+i)))
	}
	v := s.WaitFor(t, "blocked checklist", 10*time.Second, func(v ui.View) bool { return hasTarget(v, "check-override") })
	for _, tg := range v.Targets {
		if tg.ID == "check-continue" && tg.Enabled {
			t.Error("Continue enabled while a required check fails")
		}
	}
	if !slices.Contains(v.Texts, "Close the door") {
		t.Errorf("remedy hint not shown: %q", v.Texts)
	}
	s.Shot(t, "blocked")
	s.Tap(t, "check-override")
	s.WaitScene(t, "override")
	s.Shot(t, "override-reasons")
	s.Tap(t, "override-reason-1")
	s.WaitScene(t, "participants")
	s.Tap(t, "participants-1")
	s.WaitScene(t, "record_choice")
	s.Tap(t, "record-yes")
	s.WaitScene(t, "consent")
	s.Agree(t)
	v = s.WaitFor(t, "recording", 10*time.Second, func(v ui.View) bool { return v.Scene == "in_session" && v.Recording })
	if !slices.Contains(v.Texts, "Started despite a failed required check") {
		t.Errorf("override not shown to the counselor: %q", v.Texts)
	}
	s.Shot(t, "recording-overridden")
	if calls := d.Recorder.Calls(); len(calls) != 1 || !calls[0].Info.ChecksOverridden || calls[0].Info.OverrideReason != room.OverrideCheckedInPerson {
		t.Errorf("recorder start %+v, want the override and its reason", calls)
	}
	s.Tap(t, "withdraw")
	s.WaitScene(t, "withdraw_choice")
	s.Tap(t, "withdraw-delete")
	s.WaitFor(t, "stopped session", 10*time.Second, func(v ui.View) bool { return v.Scene == "in_session" && !v.Recording })
	var ops []string
	for _, c := range d.Recorder.Calls() {
		ops = append(ops, c.Op)
	}
	if !slices.Equal(ops, []string{"start", "stop", "discard"}) {
		t.Errorf("recorder calls %v, want start, stop, discard", ops)
	}
}
