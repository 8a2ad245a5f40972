package session_test

import (
	"context"
	"testing"
	"time"

	"roomkiosk/internal/room"
	"roomkiosk/kiosk/pin"
	"roomkiosk/kiosk/session"
)

// TestWithdrawDuringPINCheck shows that a slow PIN check (argon2id on a
// small board) never delays a withdrawal: the check runs off the core's
// goroutine, the withdrawal closes the pad, and the PIN's answer is then a
// refusal.
func TestWithdrawDuringPINCheck(t *testing.T) {
	h := newHarnessWith(t, testConfig(), true, func(c *session.Core) {
		session.SetVerify(c, gatedVerify)
	})
	gateOpen(true)
	h.must(toEndPIN...)
	gateOpen(false)
	for _, in := range pinIntents(goodPIN)[:4] {
		h.must(in)
	}
	answer := make(chan error, 1)
	go func() { answer <- h.core.Send(context.Background(), kind(room.IntentPINOK)) }()
	<-gateEntered // the check is in flight

	h.must(kind(room.IntentWithdraw))
	if s := h.snap(); s.Step != room.StepWithdrawChoice || s.Recording {
		t.Fatalf("withdrawal during a PIN check: step=%s recording=%v", s.Step, s.Recording)
	}
	gateRelease <- true
	select {
	case err := <-answer:
		if !isRefused(err, room.ErrWrongStep) {
			t.Fatalf("the PIN's answer after the pad closed: %v", err)
		}
	case <-time.After(liveness):
		t.Fatal("no answer to the PIN")
	}
	if s := h.snap(); s.Step != room.StepWithdrawChoice {
		t.Fatalf("a late PIN result moved the kiosk to %s", s.Step)
	}
}

var (
	gateMu      = make(chan bool, 1) // holds whether the gate is open
	gateEntered = make(chan struct{}, 1)
	gateRelease = make(chan bool)
)

func init() { gateMu <- true }

func gateOpen(open bool) { <-gateMu; gateMu <- open }

func gatedVerify(hash, p string) bool {
	open := <-gateMu
	gateMu <- open
	if !open {
		gateEntered <- struct{}{}
		<-gateRelease
	}
	return pin.Verify(hash, p)
}

// TestArgon2idCounselor runs the start PIN against a real argon2id hash
// from kiosk/pin, the form `roomctl pin-hash` makes.
func TestArgon2idCounselor(t *testing.T) {
	hash, err := pin.Hash("864209")
	if err != nil {
		t.Fatal(err)
	}
	cfg := testConfig()
	cfg.Counselors = append(cfg.Counselors, session.Counselor{ID: "c-argon", PINHash: hash})
	h := newHarness(t, cfg, false)
	h.must(kind(room.IntentStart))
	h.must(pinIntents("864209")...)
	if s := h.snap(); s.Step != room.StepChecklist {
		t.Fatalf("step = %s after an argon2id PIN", s.Step)
	}
}

func TestNewRefusesBadConfig(t *testing.T) {
	mod := func(f func(*session.Config)) session.Config { c := testConfig(); f(&c); return c }
	tests := []struct {
		name string
		cfg  session.Config
	}{
		{"no room id", mod(func(c *session.Config) { c.Room.ID = "" })},
		{"no counselors", mod(func(c *session.Config) { c.Counselors = nil })},
		{"broken hash", mod(func(c *session.Config) { c.Counselors[0].PINHash = "$argon2id$v=19$garbage" })},
		{"missing zh text", mod(func(c *session.Config) { c.Agreement.Texts = map[string]string{"en": "x"} })},
		{"no lockout attempts", mod(func(c *session.Config) { c.Flow.LockoutAttempts = 0 })},
		{"negative max length", mod(func(c *session.Config) { c.MaxLength = -time.Second })},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := session.New(tt.cfg, depsForNew()); err == nil {
				t.Error("New accepted a bad config")
			}
		})
	}
	if _, err := session.New(testConfig(), session.Deps{}); err == nil {
		t.Error("New accepted missing ports")
	}
}
