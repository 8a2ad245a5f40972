package capture_test

import (
	"context"
	"io"
	"sync"
	"sync/atomic"
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
	"roomkiosk/recorder/recordertest"
)

// checkRunner stands in for the check runner: every RunChecks runs the
// microphone check on its own goroutine, as the runner does.
type checkRunner struct {
	check *recorder.MicCheck
	mu    sync.Mutex
	res   []room.CheckResult
	wg    sync.WaitGroup
}

func (c *checkRunner) RunChecks(string) {
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		r := c.check.Run(context.Background())
		c.mu.Lock()
		c.res = append(c.res, r)
		c.mu.Unlock()
	}()
}

func (c *checkRunner) results() []room.CheckResult {
	c.wg.Wait()
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]room.CheckResult(nil), c.res...)
}

// TestNoDeviceInUnrecordedSessionsALSA (issue 13 item 3, issue 17 item 3):
// with the real ALSA capture path, the session core and the recorder, no
// capture device is open at any moment between the start and the end of a
// declined and of a not-recorded session, though the microphone check runs
// (at the checklist, on its interval, on door edges); it reports "deferred:
// session in progress". The check that held the device at the checklist is
// closed before the session opens. Outside sessions the check opens the
// device again.
func TestNoDeviceInUnrecordedSessionsALSA(t *testing.T) {
	needALSA(t)
	speech := alsaSpeech(t)
	id, _ := age.GenerateX25519Identity()
	cfg := recorder.Default()
	cfg.SpoolDir = t.TempDir()
	cfg.FreeMarginMB = 1
	dev := &recordertest.Counting{Source: &capture.Source{Device: cfg.Device}}
	rec, err := recorder.New(recorder.Options{Config: cfg, Recipients: []age.Recipient{id.Recipient()},
		RoomID: "101", DeviceID: "101", Source: dev, Log: zerolog.New(io.Discard)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rec.Close() })
	runner := &checkRunner{check: &recorder.MicCheck{Config: cfg, Source: dev, Recorder: rec}}

	hash, _ := bcrypt.GenerateFromPassword([]byte("1234"), 10)
	flow := session.DefaultFlow()
	flow.ManualChecks = nil
	core, err := session.New(session.Config{
		Room:       session.RoomConfig{ID: "r101", Name: "Room 101", Languages: []string{"en"}},
		Counselors: []session.Counselor{{ID: "c-1", PINHash: string(hash)}},
		Agreement:  session.AgreementConfig{ID: "rec-1", Texts: map[string]string{"en": "Agreement."}},
		Flow:       flow,
	}, session.Deps{Recorder: rec, Checker: runner, Uploader: &sessiontest.Uploader{}, Log: zerolog.New(io.Discard)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go core.Run(ctx)
	send := func(ins ...room.Intent) {
		t.Helper()
		for _, in := range ins {
			if err := core.Send(ctx, in); err != nil {
				t.Fatalf("%+v: %v", in, err)
			}
		}
	}
	pin := []room.Intent{{Kind: room.IntentPINDigit, Digit: 1}, {Kind: room.IntentPINDigit, Digit: 2},
		{Kind: room.IntentPINDigit, Digit: 3}, {Kind: room.IntentPINDigit, Digit: 4}, {Kind: room.IntentPINOK}}

	for _, tt := range []struct {
		name  string
		reach []room.Intent // from the participants screen into the unrecorded session
	}{
		{"not recorded", []room.Intent{{Kind: room.IntentRecord, Yes: false}}},
		{"declined", []room.Intent{{Kind: room.IntentRecord, Yes: true},
			{Kind: room.IntentConsent, Participant: 1, Yes: false, Language: "en", TextSHA256: room.TextSHA256("Agreement.")}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			// Each open of the FIFO microphone needs its own writer.
			feed := feeder.FeedAndHold(speech, chunk, bps)
			defer feed.Stop()
			send(room.Intent{Kind: room.IntentStart})
			send(pin...) // the checklist runs the pre-session checks: the check opens the device
			deadline := time.Now().Add(5 * time.Second)
			for dev.Now() == 0 {
				if time.Now().After(deadline) {
					t.Fatal("the pre-session check never opened the device")
				}
				time.Sleep(time.Millisecond)
			}
			// Continue while the check holds the device: the session opens
			// only once it is closed.
			send(room.Intent{Kind: room.IntentCheckContinue})
			var most atomic.Int32
			watching := make(chan struct{})
			watched := make(chan struct{})
			most.Store(int32(dev.Now()))
			go func() { // what is open at any moment of the session
				defer close(watched)
				for {
					if n := int32(dev.Now()); n > most.Load() {
						most.Store(n)
					}
					select {
					case <-watching:
						return
					case <-time.After(200 * time.Microsecond):
					}
				}
			}()
			opens := dev.Opens()
			// A microphone ready for anyone who opens it during the
			// session (the check's writer ended with its close), so a
			// wrong open is counted rather than stuck.
			<-feed.Done()
			inSession := feeder.FeedAndHold(speech, chunk, bps)
			defer inSession.Stop()
			send(room.Intent{Kind: room.IntentParticipants, Count: 1})
			send(tt.reach...)
			// Send returns with the decision; the snapshot follows.
			s := core.Snapshot()
			for deadline := time.Now().Add(5 * time.Second); s.Step != room.StepInSession && time.Now().Before(deadline); s = core.Snapshot() {
				time.Sleep(5 * time.Millisecond)
			}
			if s.Step != room.StepInSession || s.Recording || s.Door != room.DoorInSession {
				t.Fatalf("not an unrecorded session: %+v", s)
			}
			// The check's interval and door edges during the session.
			for range 3 {
				runner.RunChecks("interval")
				time.Sleep(300 * time.Millisecond)
			}
			rs := runner.results()
			send(room.Intent{Kind: room.IntentEnd})
			send(pin...)
			// At the feedback screen the session is still open; the
			// feedback closes it, and the checks run again after it.
			close(watching)
			<-watched
			if m := most.Load(); m != 0 || dev.Opens() != opens {
				t.Errorf("the capture device was open during the session (at most %d at once, %d opens)", m, dev.Opens()-opens)
			}
			runner.mu.Lock()
			runner.res = nil
			runner.mu.Unlock()
			send(room.Intent{Kind: room.IntentFeedback})
			// Outside the session the check opens the device again.
			after := runner.results()
			if len(after) != 1 || after[0].Value == recorder.Deferred || dev.Opens() != opens+1 {
				t.Errorf("the check after the session: %+v (%d opens)", after, dev.Opens()-opens)
			}
			deferred := 0
			for _, r := range rs {
				if r.Value == recorder.Deferred {
					deferred++
				}
			}
			// The three interval runs and the pre-session one that yielded.
			if deferred < 4 || len(rs) != 4 {
				t.Errorf("microphone check results %+v: want %q for each run in the session", rs, recorder.Deferred)
			}
			runner.mu.Lock()
			runner.res = nil
			runner.mu.Unlock()
		})
	}
}

func alsaSpeech(t *testing.T) []byte {
	return alsatest.SpeechFor(t, 60*time.Second, rate, 1, chunk)
}
