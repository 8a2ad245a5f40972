// Package kiosktest drives a running kiosk through its real control socket,
// as the screen does, with no pixels: the end-to-end tests (kiosk/e2e) and
// the power-cut test's guest inside the booted image
// (images/powercut/guest) hold their sessions with it. It imports no
// "testing", so a plain program can use it: a driver gives up through a
// Failer (a test's testing.TB, or the guest's print-and-exit).
package kiosktest

import (
	"context"
	"slices"
	"time"

	"roomkiosk/internal/room"
	"roomkiosk/kiosk/control"
)

// Failer is how a driver gives up: testing.TB satisfies it.
type Failer interface {
	Helper()
	Fatalf(format string, args ...any)
}

// Driver holds sessions through one control connection.
type Driver struct {
	c    *control.Client
	ctx  context.Context
	fail Failer
	// Patience is how long Wait waits for a matching snapshot (0: 30 s).
	Patience time.Duration
}

// sendTimeout bounds one intent's delivery.
const sendTimeout = 30 * time.Second

// Dial connects to the daemon's control socket, trying again every 100 ms
// for up to retryFor (0: once) while the daemon starts.
func Dial(ctx context.Context, f Failer, socket string, retryFor time.Duration) *Driver {
	f.Helper()
	deadline := time.Now().Add(retryFor)
	for {
		c, err := control.Dial(ctx, socket)
		if err == nil {
			return &Driver{c: c, ctx: ctx, fail: f}
		}
		if !time.Now().Before(deadline) || ctx.Err() != nil {
			f.Fatalf("dial control socket: %v", err)
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Send passes an intent as a tap would.
func (d *Driver) Send(in room.Intent) {
	d.fail.Helper()
	ctx, cancel := context.WithTimeout(d.ctx, sendTimeout)
	defer cancel()
	if err := d.c.Send(ctx, in); err != nil {
		d.fail.Fatalf("send %s: %v", in.Kind, err)
	}
}

// Wait returns the first snapshot that satisfies cond.
func (d *Driver) Wait(what string, cond func(room.Snapshot) bool) room.Snapshot {
	d.fail.Helper()
	patience := d.Patience
	if patience == 0 {
		patience = 30 * time.Second
	}
	timeout := time.After(patience)
	var last room.Snapshot
	for {
		select {
		case s, ok := <-d.c.Snapshots():
			if !ok {
				d.fail.Fatalf("control socket closed while waiting for %s", what)
				return last
			}
			last = s
			if cond(s) {
				return s
			}
		case <-timeout:
			d.fail.Fatalf("%s: not within %v (step %s, door %s, blocked %v)", what, patience, last.Step, last.Door, last.Blocked)
			return last
		}
	}
}

// Digits taps a PIN's digits on the PIN pad (not OK).
func (d *Driver) Digits(pin string) {
	d.fail.Helper()
	for _, c := range pin {
		d.Send(room.Intent{Kind: room.IntentPINDigit, Digit: int(c - '0')})
	}
}

// RecordOne takes the room from Free to a recording session with one
// consenting participant, as a counselor with pin does, and returns the
// session id.
func (d *Driver) RecordOne(pin string) string {
	d.fail.Helper()
	return d.RecordFamily(pin, 1, 0)
}

// RecordFamily is RecordOne for a session of adults and children (the
// room's config must have the guardian and assent texts when children > 0):
// every turn says yes on its role's text (the adult agreement, a guardian's,
// a child's assent), as the screen sends it.
func (d *Driver) RecordFamily(pin string, adults, children int) string {
	d.fail.Helper()
	// The boot round first (its microphone check holds the device).
	d.Wait("free door with the boot checks in", func(s room.Snapshot) bool {
		return s.Step == room.StepDoor && s.Door == room.DoorFree && len(s.Checks) > 0
	})
	d.Send(room.Intent{Kind: room.IntentStart})
	d.Wait("pin", func(s room.Snapshot) bool { return s.Step == room.StepPIN })
	d.Digits(pin)
	asked := time.Now()
	d.Send(room.Intent{Kind: room.IntentPINOK})
	// Wait for the pre-session round, as a counselor reading the
	// checklist does.
	snap := d.Wait("checklist with fresh checks", func(s room.Snapshot) bool {
		return s.Step == room.StepChecklist && !s.Blocked && MicCheckedSince(s.Checks, asked)
	})
	for i := range snap.ManualItems {
		d.Send(room.Intent{Kind: room.IntentCheckToggle, Item: i})
	}
	d.Wait("items ticked", func(s room.Snapshot) bool {
		return !slices.ContainsFunc(s.ManualItems, func(m room.ManualItem) bool { return !m.Checked })
	})
	d.Send(room.Intent{Kind: room.IntentCheckContinue})
	d.Wait("participants", func(s room.Snapshot) bool { return s.Step == room.StepParticipants })
	d.Send(room.Intent{Kind: room.IntentParticipants, Count: adults + children, Children: children})
	d.Wait("record choice", func(s room.Snapshot) bool { return s.Step == room.StepRecordChoice })
	d.Send(room.Intent{Kind: room.IntentRecord, Yes: true})
	for turn := 1; turn <= room.ConsentTurns(adults, children); turn++ {
		snap = d.Wait("consent turn", func(s room.Snapshot) bool { return s.Step == room.StepConsent && s.ConsentTurn == turn })
		ag := snap.Agreement
		switch kind, _, _ := room.ParseRole(snap.ConsentRole); {
		case kind == "guardian" && snap.Guardian != nil:
			ag = *snap.Guardian
		case kind == "assent" && snap.Assent != nil:
			ag = *snap.Assent
		}
		d.Send(room.Intent{Kind: room.IntentConsent, Participant: turn, Yes: true, Language: "en",
			TextSHA256: room.TextSHA256(ag.Texts["en"]), Role: snap.ConsentRole})
	}
	snap = d.Wait("recording", func(s room.Snapshot) bool { return s.Recording })
	return snap.SessionID
}

// MicCheckedSince reports whether the microphone check ran after t.
func MicCheckedSince(cs []room.CheckResult, t time.Time) bool {
	for _, c := range cs {
		if c.Name == "microphone" {
			return c.At.After(t)
		}
	}
	return false
}

// Close closes the connection.
func (d *Driver) Close() error { return d.c.Close() }
