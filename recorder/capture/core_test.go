package capture_test

import (
	"context"
	"io"
	"os"
	"testing"
	"time"

	"filippo.io/age"
	"github.com/rs/zerolog"
	"golang.org/x/crypto/bcrypt"

	"roomkiosk/internal/room"
	"roomkiosk/kiosk/session"
	"roomkiosk/kiosk/session/sessiontest"
	"roomkiosk/recorder"
	"roomkiosk/recorder/alsatest"
	"roomkiosk/recorder/capture"
	"roomkiosk/recorder/manifest"
)

// TestCoreConsentGatesCapture drives the real session core with the real
// recorder over real ALSA: no capture device is opened while consent is
// incomplete or declined; it opens once everyone consented; a withdrawal
// closes it and "delete" removes the audio. (How fast it closes is the
// benchmark figure "withdrawal to capture closed", bench_test.go.)
func TestCoreConsentGatesCapture(t *testing.T) {
	needALSA(t)
	hash, err := bcrypt.GenerateFromPassword([]byte("1234"), bcrypt.DefaultCost) // the minimum the core accepts
	if err != nil {
		t.Fatal(err)
	}
	text := "Recording agreement v1. You may stop at any time."
	flow := session.DefaultFlow()
	flow.ManualChecks = nil
	cfg := session.Config{
		Room:       session.RoomConfig{ID: "101", Name: "Room 101", Languages: []string{"en"}},
		Counselors: []session.Counselor{{ID: "c-1", PINHash: string(hash)}},
		Agreement:  session.AgreementConfig{ID: "rec-1", Texts: map[string]string{"en": text}},
		Flow:       flow,
		MaxLength:  time.Hour,
	}
	id, _ := age.GenerateX25519Identity()
	rcfg := recorder.Default()
	rcfg.SpoolDir = t.TempDir()
	rcfg.FreeMarginMB = 1
	var core *session.Core
	rec, err := recorder.New(recorder.Options{Config: rcfg, Recipients: []age.Recipient{id.Recipient()}, RoomID: "101", DeviceID: "101",
		Source: &capture.Source{}, Log: zerolog.New(io.Discard),
		OnStatus: func(s room.RecorderStatus) { core.RecorderChanged(s) }})
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Close()
	core, err = session.New(cfg, session.Deps{Recorder: rec, Checker: &sessiontest.Checker{}, Uploader: &sessiontest.Uploader{}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- core.Run(ctx) }()
	defer func() { cancel(); <-done }()

	feed := feeder.FeedAndHold(alsatest.SpeechFor(t, 20*time.Second, rate, 1, chunk), chunk, bps)
	defer feed.Stop()

	send := func(ins ...room.Intent) {
		t.Helper()
		for _, in := range ins {
			sctx, c := context.WithTimeout(context.Background(), 60*time.Second) // liveness: pin_ok runs argon2id, seconds under -race and load
			err := core.Send(sctx, in)
			c()
			if err != nil {
				t.Fatalf("%+v: %v", in, err)
			}
		}
	}
	waitSnap := func(what string, ok func(room.Snapshot) bool) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for !ok(core.Snapshot()) {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s; snapshot step %s recorder %s", what, core.Snapshot().Step, core.Snapshot().Recorder)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	noDevice := func(when string) {
		t.Helper()
		// Give a wrongly started recorder time to open the device.
		time.Sleep(300 * time.Millisecond)
		if fifoHasReader(feeder.FIFO) {
			t.Fatalf("capture device open %s", when)
		}
		if ents, _ := os.ReadDir(rec.Spool().SessionsDir()); len(ents) != 0 {
			t.Fatalf("spool has %d sessions %s", len(ents), when)
		}
	}
	pin := []room.Intent{{Kind: room.IntentPINDigit, Digit: 1}, {Kind: room.IntentPINDigit, Digit: 2},
		{Kind: room.IntentPINDigit, Digit: 3}, {Kind: room.IntentPINDigit, Digit: 4}, {Kind: room.IntentPINOK}}
	consent := func(p int, yes bool) room.Intent {
		return room.Intent{Kind: room.IntentConsent, Participant: p, Yes: yes, Language: "en", TextSHA256: room.TextSHA256(text)}
	}
	toConsent := func() {
		send(room.Intent{Kind: room.IntentStart})
		send(pin...)
		waitSnap("checklist", func(s room.Snapshot) bool { return s.Step == room.StepChecklist })
		send(room.Intent{Kind: room.IntentCheckContinue}, room.Intent{Kind: room.IntentParticipants, Count: 2},
			room.Intent{Kind: room.IntentRecord, Yes: true})
	}

	// Session 1: the second participant declines.
	toConsent()
	send(consent(1, true))
	noDevice("with one of two consents")
	send(consent(2, false))
	waitSnap("in session, unrecorded", func(s room.Snapshot) bool { return s.Step == room.StepInSession })
	noDevice("after a declined consent")
	if s := core.Snapshot(); s.Recording || s.Recorded {
		t.Fatalf("declined session shows recording: %+v", s)
	}
	send(room.Intent{Kind: room.IntentEnd})
	send(pin...)
	waitSnap("feedback", func(s room.Snapshot) bool { return s.Step == room.StepFeedback })
	send(room.Intent{Kind: room.IntentFeedback, Rating: 0})
	waitSnap("door", func(s room.Snapshot) bool { return s.Step == room.StepDoor })

	// Session 2: everyone consents; then a withdrawal with delete.
	toConsent()
	send(consent(1, true))
	noDevice("before the last consent")
	send(consent(2, true))
	waitSnap("recording", func(s room.Snapshot) bool { return s.Recording && s.Recorder == room.RecorderRecording })
	if !fifoHasReader(feeder.FIFO) {
		t.Fatal("recording reported but no device open")
	}
	sid := core.Snapshot().SessionID
	time.Sleep(time.Second)
	send(room.Intent{Kind: room.IntentWithdraw})
	waitDeviceClosed(t, "the withdrawal tap")
	waitSnap("not recording", func(s room.Snapshot) bool { return !s.Recording })
	send(room.Intent{Kind: room.IntentWithdrawDelete})
	rec.Wait()
	if _, err := os.Stat(rec.Spool().SessionDir(sid)); !os.IsNotExist(err) {
		t.Fatalf("deleted session still in the spool: %v", err)
	}
	b, err := os.ReadFile(rec.Spool().DeletionPath(sid))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := manifest.ParseDeletion(b); err != nil {
		t.Fatal(err)
	}
}
