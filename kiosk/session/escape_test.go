package session_test

import (
	"slices"
	"testing"

	"roomkiosk/internal/room"
)

// Issue 13 item 2: the recorder stopped by itself (disk floor) and a
// participant then withdraws: both choices lead back to the session and the
// door, and nothing is asked of the recorder that it cannot do (it holds
// nothing: what it sealed was queued).
func TestWithdrawAfterRecorderStoppedByItself(t *testing.T) {
	for _, choice := range []room.IntentKind{room.IntentWithdrawKeep, room.IntentWithdrawDelete} {
		t.Run(string(choice), func(t *testing.T) {
			h := newHarness(t, testConfig(), true)
			h.must(toRecorded...)
			id := h.snap().SessionID
			h.rec.StoppedByItself(id)
			h.report(room.RecorderStopped)
			if s := h.snap(); s.Recording || s.Notice != room.NoticeRecorderStopped {
				t.Fatalf("after the recorder stopped: %+v", s)
			}
			h.must(kind(room.IntentWithdraw))
			if s := h.snap(); s.Step != room.StepWithdrawChoice || !s.Withdrawn {
				t.Fatalf("after withdraw: %+v", s)
			}
			h.must(kind(choice))
			if s := h.snap(); s.Step != room.StepInSession {
				t.Fatalf("after %s: step %s", choice, s.Step)
			}
			ops := recorderOps(h)
			if slices.Contains(ops, "keep") || slices.Contains(ops, "stop") {
				t.Errorf("recorder calls %v: nothing runs or is held", ops)
			}
			if choice == room.IntentWithdrawDelete && !slices.Contains(ops, "discard") {
				t.Errorf("delete did not reach the recorder: %v", ops)
			}
			leave(t, h)
		})
	}
}

// A Keep the recorder cannot carry out does not trap the room at the choice:
// the audio stays held on the device for an admin (as after a power cut),
// the counselor sees an alert, and the session goes on.
func TestKeepFailureDoesNotTrap(t *testing.T) {
	h := newHarness(t, testConfig(), true)
	h.must(toWithdraw...)
	h.rec.Discard(h.snap().SessionID) // the fake forgets what it held
	h.must(kind(room.IntentWithdrawKeep))
	s := h.snap()
	if s.Step != room.StepInSession || !slices.ContainsFunc(s.Alerts, func(a room.Alert) bool { return a.Code == room.AlertKeepFailed }) {
		t.Fatalf("after a failed keep: step %s alerts %+v", s.Step, s.Alerts)
	}
	leave(t, h)
}
