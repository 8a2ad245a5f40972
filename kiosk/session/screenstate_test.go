package session_test

import (
	"context"
	"testing"
	"time"

	"roomkiosk/internal/room"
	"roomkiosk/kiosk/pin"
	"roomkiosk/kiosk/session"
)

// TestSnapshotSaysPINIsBeingChecked (issue 13 item 7): while the hash is
// checked the snapshot says so, so the screen can show "Checking..." at
// once instead of nothing until the answer.
func TestSnapshotSaysPINIsBeingChecked(t *testing.T) {
	entered, release := make(chan struct{}, 1), make(chan struct{})
	h := newHarnessWith(t, testConfig(), false, func(c *session.Core) {
		session.SetVerify(c, func(hash, p string) bool {
			entered <- struct{}{}
			<-release
			return pin.Verify(hash, p)
		})
	})
	h.must(kind(room.IntentStart))
	for _, in := range pinIntents(goodPIN)[:4] {
		h.must(in)
	}
	if s := h.snap(); s.PINChecking || s.PINDigits != 4 {
		t.Fatalf("before OK: checking=%v digits=%d", s.PINChecking, s.PINDigits)
	}
	answer := make(chan error, 1)
	go func() { answer <- h.core.Send(context.Background(), kind(room.IntentPINOK)) }()
	<-entered
	session.Sync(h.core)
	if s := h.snap(); !s.PINChecking || s.Step != room.StepPIN {
		t.Fatalf("during the check: checking=%v step=%s", s.PINChecking, s.Step)
	}
	close(release)
	select {
	case err := <-answer:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(liveness):
		t.Fatal("no answer")
	}
	if s := h.snap(); s.PINChecking || s.Step != room.StepChecklist {
		t.Fatalf("after the check: checking=%v step=%s", s.PINChecking, s.Step)
	}
}

// TestConsentRecordsPagesSeen (issue 13 item 7): the decision keeps how many
// pages of the agreement the participant saw; a yes with pages unseen, or
// impossible counts, are refused; a no may come from any page.
func TestConsentRecordsPagesSeen(t *testing.T) {
	h := newHarness(t, testConfig(), true)
	h.must(toConsent...)
	c := func(p int, yes bool, pages, seen int) room.Intent {
		in := consent(p, yes)
		in.Pages, in.PagesSeen = pages, seen
		return in
	}
	for _, tt := range []struct {
		name        string
		pages, seen int
	}{{"page 2 of 3 unseen", 3, 1}, {"more seen than there are", 2, 3}, {"negative", -1, 0}} {
		if err := h.send(c(1, true, tt.pages, tt.seen)); !isRefused(err, room.ErrInvalid) {
			t.Errorf("%s: %v, want refused", tt.name, err)
		}
	}
	h.must(c(1, true, 3, 3), c(2, true, 2, 2))
	calls := h.rec.Calls()
	if len(calls) != 1 {
		t.Fatalf("recorder calls %+v", calls)
	}
	d := calls[0].Info.Consent.Decisions
	if len(d) != 2 || d[0].Pages != 3 || d[0].PagesSeen != 3 || d[1].Pages != 2 || d[1].PagesSeen != 2 {
		t.Errorf("decisions %+v, want pages 3/3 and 2/2 recorded", d)
	}

	// A participant may decline without reading on; the record says how far.
	h2 := newHarness(t, testConfig(), true)
	h2.must(toConsent...)
	h2.must(c(1, false, 3, 1))
	if s := h2.snap(); s.Step != room.StepInSession || s.Recorded {
		t.Fatalf("after a decline on page 1: %+v", s.Step)
	}
}
