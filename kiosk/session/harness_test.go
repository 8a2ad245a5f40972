package session_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"roomkiosk/internal/room"
	"roomkiosk/kiosk/pin"
	"roomkiosk/kiosk/session"
	"roomkiosk/kiosk/session/sessiontest"
)

// memoVerify is the real pin.Verify, remembered per hash and PIN: the
// random-sequence tests type the same PINs thousands of times, and bcrypt
// at cost 10 under -race would take minutes.
var memoVerify = func() func(hash, p string) bool {
	var mu sync.Mutex
	seen := map[[2]string]bool{}
	return func(hash, p string) bool {
		mu.Lock()
		defer mu.Unlock()
		k := [2]string{hash, p}
		ok, done := seen[k]
		if !done {
			ok = pin.Verify(hash, p)
			seen[k] = ok
		}
		return ok
	}
}()

const (
	goodPIN = "1234"
	badPIN  = "9999"
)

var (
	t0      = time.Date(2026, 1, 27, 9, 30, 0, 0, time.UTC)
	pinHash string // bcrypt at the minimum cost the core accepts (10); memoVerify keeps -race runs fast
	texts   = map[string]string{
		"en": "Recording agreement v1. You may stop at any time.",
		"zh": "录音同意书 v1。您可以随时停止。",
	}
)

func init() {
	b, err := bcrypt.GenerateFromPassword([]byte(goodPIN), pin.MinBcryptCost)
	if err != nil {
		panic(err)
	}
	pinHash = string(b)
}

func testConfig() session.Config {
	flow := session.DefaultFlow()
	flow.ManualChecks = []string{"Room tidy", "Water ready"}
	return session.Config{
		Room:       session.RoomConfig{ID: "r101", Name: "Room 101", Languages: []string{"en", "zh"}},
		Counselors: []session.Counselor{{ID: "c-1", PINHash: pinHash}},
		Agreement:  session.AgreementConfig{ID: "rec-1", Texts: texts},
		Flow:       flow,
		MaxLength:  2 * time.Hour,

		// A technician (maintenance_test.go) for the random sequences.
		Technicians: []session.Technician{{ID: "t-1", PINHash: techHash}},
	}
}

type harness struct {
	t     testing.TB
	core  *session.Core
	rec   *sessiontest.Recorder
	chk   *sessiontest.Checker
	up    *sessiontest.Uploader
	clock *sessiontest.Clock
	maint *sessiontest.Maintenance
	ids   int
	stop  func()
}

// newHarness runs a core on fakes; autoReport makes the fake recorder report
// its state back like the real one.
func newHarness(t testing.TB, cfg session.Config, autoReport bool) *harness {
	t.Helper()
	return newHarnessWith(t, cfg, autoReport, nil)
}

func depsForNew() session.Deps {
	return session.Deps{Recorder: &sessiontest.Recorder{}, Checker: &sessiontest.Checker{}, Uploader: &sessiontest.Uploader{}}
}

// newHarnessWith lets a test adjust the core before it runs.
func newHarnessWith(t testing.TB, cfg session.Config, autoReport bool, adjust func(*session.Core)) *harness {
	t.Helper()
	h := &harness{
		t:     t,
		rec:   &sessiontest.Recorder{},
		chk:   &sessiontest.Checker{},
		up:    &sessiontest.Uploader{},
		clock: sessiontest.NewClock(t0),
	}
	h.maint = &sessiontest.Maintenance{}
	core, err := session.New(cfg, session.Deps{
		Recorder: h.rec, Checker: h.chk, Uploader: h.up, Clock: h.clock, Maintenance: h.maint,
		NewID: func(time.Time) string { h.ids++; return fmt.Sprintf("s%d", h.ids) },
	})
	if err != nil {
		t.Fatal(err)
	}
	h.core = core
	session.SetVerify(core, memoVerify)
	if adjust != nil {
		adjust(core)
	}
	if autoReport {
		h.rec.SetReport(core.RecorderChanged)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- core.Run(ctx) }()
	var once sync.Once
	h.stop = func() { // a test may stop the core before the cleanup does
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Run: %v", err)
			}
		})
	}
	t.Cleanup(h.stop)
	return h
}

// liveness bounds a wait for the core's answer.
const liveness = 60 * time.Second

func (h *harness) send(in room.Intent) error {
	h.t.Helper()
	// A liveness bound, not a timing assertion: pin_ok waits for bcrypt or
	// argon2id, which under -race at a load of 30 took over 10 s.
	ctx, cancel := context.WithTimeout(context.Background(), liveness)
	defer cancel()
	err := h.core.Send(ctx, in)
	session.Sync(h.core)
	return err
}

func (h *harness) must(ins ...room.Intent) {
	h.t.Helper()
	for _, in := range ins {
		if err := h.send(in); err != nil {
			h.t.Fatalf("%+v: %v", in, err)
		}
	}
}

func (h *harness) snap() room.Snapshot {
	session.Sync(h.core)
	return h.core.Snapshot()
}

func (h *harness) advance(d time.Duration) {
	h.clock.Advance(d)
	session.Sync(h.core)
}

func (h *harness) report(st room.RecorderState) {
	h.core.RecorderChanged(room.RecorderStatus{SessionID: h.core.Snapshot().SessionID, State: st})
	session.Sync(h.core)
}

// Intent builders.
func pinIntents(p string) []room.Intent {
	var out []room.Intent
	for _, r := range p {
		out = append(out, room.Intent{Kind: room.IntentPINDigit, Digit: int(r - '0')})
	}
	return append(out, room.Intent{Kind: room.IntentPINOK})
}

func kind(k room.IntentKind) room.Intent { return room.Intent{Kind: k} }

func consent(p int, yes bool) room.Intent {
	return room.Intent{Kind: room.IntentConsent, Participant: p, Yes: yes, Language: "en", TextSHA256: room.TextSHA256(texts["en"])}
}

func cat(parts ...any) []room.Intent {
	var out []room.Intent
	for _, p := range parts {
		switch p := p.(type) {
		case room.Intent:
			out = append(out, p)
		case []room.Intent:
			out = append(out, p...)
		default:
			panic(fmt.Sprintf("cat: %T", p))
		}
	}
	return out
}

// Flows to reach each step.
var (
	toChecklist    = cat(kind(room.IntentStart), pinIntents(goodPIN))
	tickAll        = cat(room.Intent{Kind: room.IntentCheckToggle, Item: 0}, room.Intent{Kind: room.IntentCheckToggle, Item: 1})
	toParticipants = cat(toChecklist, tickAll, kind(room.IntentCheckContinue))
	toRecordChoice = cat(toParticipants, room.Intent{Kind: room.IntentParticipants, Count: 2})
	toConsent      = cat(toRecordChoice, room.Intent{Kind: room.IntentRecord, Yes: true})
	toRecorded     = cat(toConsent, consent(1, true), consent(2, true))
	toUnrecorded   = cat(toRecordChoice, room.Intent{Kind: room.IntentRecord, Yes: false})
	toWithdraw     = cat(toRecorded, kind(room.IntentWithdraw))
	toEndPIN       = cat(toRecorded, kind(room.IntentEnd))
	toFeedback     = cat(toEndPIN, pinIntents(goodPIN))
	toMaintPIN     = cat(kind(room.IntentMaintenance))
	toMaintenance  = cat(toMaintPIN, pinIntents(goodPIN))
)

func isRefused(err error, sentinel error) bool {
	var re *room.RefusedError
	return errors.As(err, &re) && errors.Is(err, sentinel)
}
