package session_test

import (
	"roomkiosk/internal/room"
	"testing"
	"time"
)

// recorderOps lists the recorder calls after the withdrawal's stop.
func recorderOps(h *harness) []string {
	var ops []string
	for _, c := range h.rec.Calls() {
		ops = append(ops, c.Op)
	}
	return ops
}

// Keep is an explicit release: the core calls Recorder.Keep, and never
// Discard.
func TestWithdrawKeepReleases(t *testing.T) {
	h := newHarness(t, testConfig(), true)
	h.must(toWithdraw...)
	h.must(kind(room.IntentWithdrawKeep))
	calls := h.rec.Calls()
	if last := calls[len(calls)-1]; last.Op != "keep" || last.SessionID != "s1" {
		t.Fatalf("recorder calls %v, want keep(s1) last", recorderOps(h))
	}
	for _, c := range calls {
		if c.Op == "discard" {
			t.Errorf("discard after keep: %v", recorderOps(h))
		}
	}
}

// Nobody chooses: the choice screen never times out and nothing is kept or
// deleted for the participants; a daemon stop while the choice is pending
// leaves the recording held (neither Keep nor Discard).
func TestWithdrawChoiceWaitsForAChoice(t *testing.T) {
	h := newHarness(t, testConfig(), true)
	h.must(toWithdraw...)
	h.advance(24 * time.Hour)
	if s := h.snap(); s.Step != room.StepWithdrawChoice || s.Recording {
		t.Fatalf("a day later: step %s recording %v, want withdraw_choice", s.Step, s.Recording)
	}
	h.stop()
	for _, c := range h.rec.Calls() {
		if c.Op == "keep" || c.Op == "discard" {
			t.Errorf("the core chose for the participants: %v", recorderOps(h))
		}
	}
	if n := len(h.up.Calls()); n != 0 {
		t.Errorf("session summary sent without a choice or an end: %+v", h.up.Calls())
	}
}
