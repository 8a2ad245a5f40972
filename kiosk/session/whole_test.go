package session_test

import (
	"fmt"
	"roomkiosk/internal/room"
	"slices"
	"strings"
	"testing"
)

// TestWholeSession drives one recorded session from the door to feedback
// and checks the exact sequence of visible states and port calls, in the
// manner of Tailscale's ipnlocal state_test.
func TestWholeSession(t *testing.T) {
	h := newHarness(t, testConfig(), false)
	var got []string
	note := func(what string) {
		s := h.snap()
		got = append(got, fmt.Sprintf("%s: door=%s step=%s rec=%v recorder=%s turn=%d", what, s.Door, s.Step, s.Recording, s.Recorder, s.ConsentTurn))
	}
	note("initial")
	h.must(kind(room.IntentStart))
	note("start")
	h.must(pinIntents(goodPIN)...)
	note("pin")
	h.core.ChecksUpdated([]room.CheckResult{{Name: "temperature", State: room.CheckGood, Required: true}})
	h.must(tickAll...)
	h.must(kind(room.IntentCheckContinue))
	note("checklist")
	h.must(room.Intent{Kind: room.IntentParticipants, Count: 2})
	note("participants")
	h.must(room.Intent{Kind: room.IntentRecord, Yes: true})
	note("record")
	h.must(consent(1, true))
	note("consent 1")
	h.must(consent(2, true))
	note("consent 2")
	h.report(room.RecorderStarting)
	note("recorder starting")
	h.report(room.RecorderRecording)
	note("recorder recording")
	h.must(kind(room.IntentEnd))
	note("end")
	h.must(pinIntents(goodPIN)...)
	note("end pin")
	h.report(room.RecorderStopped)
	note("recorder stopped")
	h.must(room.Intent{Kind: room.IntentFeedback, Rating: 4})
	note("feedback")

	want := []string{
		"initial: door=free step=door rec=false recorder=idle turn=0",
		"start: door=free step=pin rec=false recorder=idle turn=0",
		"pin: door=free step=checklist rec=false recorder=idle turn=0",
		"checklist: door=in_session step=participants rec=false recorder=idle turn=0",
		"participants: door=in_session step=record_choice rec=false recorder=idle turn=0",
		"record: door=in_session step=consent rec=false recorder=idle turn=1",
		"consent 1: door=in_session step=consent rec=false recorder=idle turn=2",
		"consent 2: door=in_session step=in_session rec=false recorder=starting turn=0",
		"recorder starting: door=in_session step=in_session rec=false recorder=starting turn=0",
		"recorder recording: door=in_session step=in_session rec=true recorder=recording turn=0",
		"end: door=in_session step=end_pin rec=true recorder=recording turn=0",
		"end pin: door=in_session step=feedback rec=false recorder=recording turn=0",
		"recorder stopped: door=in_session step=feedback rec=false recorder=stopped turn=0",
		"feedback: door=free step=door rec=false recorder=idle turn=0",
	}
	if !slices.Equal(got, want) {
		t.Errorf("states:\n got %s\nwant %s", strings.Join(got, "\n     "), strings.Join(want, "\n     "))
	}

	calls := h.rec.Calls()
	if len(calls) != 2 || calls[0].Op != "start" || calls[1].Op != "stop" || calls[1].SessionID != "s1" || calls[1].Withdrawn {
		t.Fatalf("recorder calls = %+v, want start then stop(s1, false)", calls)
	}
	info := calls[0].Info
	if info.ID != "s1" || info.CounselorID != "c-1" || info.Started != t0 || info.MaxLength != testConfig().MaxLength {
		t.Errorf("SessionInfo = %+v", info)
	}
	c := info.Consent
	if c.AgreementID != "rec-1" || c.Language != "en" || c.TextSHA256 != room.TextSHA256(texts["en"]) || c.AgreementText != texts["en"] {
		t.Errorf("consent record = %+v", c)
	}
	if len(c.Decisions) != 2 || !c.Decisions[0].Consented || !c.Decisions[1].Consented || c.Decisions[1].Participant != 2 {
		t.Errorf("decisions = %+v", c.Decisions)
	}
	if got := h.chk.Calls(); len(got) != 2 || got[0].Reason != "pre-session" || got[1].Reason != "after-session" {
		t.Errorf("checker calls = %+v, want a pre-session and an after-session run", got)
	}
	if got := h.up.Calls(); len(got) != 1 || got[0].SessionID != "s1" || got[0].Feedback != 4 {
		t.Errorf("uploader calls = %+v", got)
	} else if sum := got[0].Summary; sum.ID != "s1" || sum.Started != t0 || sum.Participants != 2 || !sum.WantRecording ||
		!sum.Recorded || sum.Declined || sum.Withdrawn || sum.Abandoned || sum.Feedback != 4 || sum.Ended.Before(sum.Started) {
		t.Errorf("session summary = %+v", sum)
	}
	var status []string
	for _, s := range h.up.Statuses() {
		status = append(status, fmt.Sprintf("%s/%v/%d checks", s.Door, s.Recording, len(s.Checks)))
	}
	// The uploader hears of every change status.json shows: the door, the
	// recording, and the checks arriving (so the fleet view has them).
	wantStatus := []string{"free/false/0 checks", "free/false/1 checks", "in_session/false/1 checks", "in_session/true/1 checks", "in_session/false/1 checks", "free/false/1 checks"}
	if !slices.Equal(status, wantStatus) {
		t.Errorf("uploader statuses = %v, want %v", status, wantStatus)
	}
}
