package e2e

import (
	"context"
	"slices"
	"testing"
	"time"

	"roomkiosk/internal/room"
	"roomkiosk/kiosk/control"
)

// driver holds a session through the daemon's real control socket, as the
// screen does (the reliability figures need no pixels).
type driver struct {
	t   testing.TB
	c   *control.Client
	ctx context.Context
}

func dial(t testing.TB, ctx context.Context, socket string) *driver {
	t.Helper()
	c, err := control.Dial(ctx, socket)
	if err != nil {
		t.Fatalf("dial control socket: %v", err)
	}
	return &driver{t: t, c: c, ctx: ctx}
}

func (d *driver) send(in room.Intent) {
	d.t.Helper()
	if err := d.c.Send(d.ctx, in); err != nil {
		d.t.Fatalf("send %s: %v", in.Kind, err)
	}
}

func (d *driver) wait(what string, cond func(room.Snapshot) bool) room.Snapshot {
	d.t.Helper()
	timeout := time.After(30 * time.Second)
	for {
		select {
		case s, ok := <-d.c.Snapshots():
			if !ok {
				d.t.Fatalf("control socket closed while waiting for %s", what)
			}
			if cond(s) {
				return s
			}
		case <-timeout:
			d.t.Fatalf("%s: not within 30 s", what)
		}
	}
}

// recordOne takes the room from Free to a recording session with one
// participant and returns the session id.
func (d *driver) recordOne() string {
	d.t.Helper()
	// The boot round first (its microphone check holds the device).
	d.wait("free door with the boot checks in", func(s room.Snapshot) bool {
		return s.Step == room.StepDoor && s.Door == room.DoorFree && len(s.Checks) > 0
	})
	d.send(room.Intent{Kind: room.IntentStart})
	d.wait("pin", func(s room.Snapshot) bool { return s.Step == room.StepPIN })
	for _, c := range pinCode {
		d.send(room.Intent{Kind: room.IntentPINDigit, Digit: int(c - '0')})
	}
	asked := time.Now()
	d.send(room.Intent{Kind: room.IntentPINOK})
	// Wait for the pre-session round, as a counselor reading the
	// checklist does.
	snap := d.wait("checklist with fresh checks", func(s room.Snapshot) bool {
		return s.Step == room.StepChecklist && !s.Blocked && micCheckedSince(s.Checks, asked)
	})
	for i := range snap.ManualItems {
		d.send(room.Intent{Kind: room.IntentCheckToggle, Item: i})
	}
	d.wait("items ticked", func(s room.Snapshot) bool {
		return !slices.ContainsFunc(s.ManualItems, func(m room.ManualItem) bool { return !m.Checked })
	})
	d.send(room.Intent{Kind: room.IntentCheckContinue})
	d.wait("participants", func(s room.Snapshot) bool { return s.Step == room.StepParticipants })
	d.send(room.Intent{Kind: room.IntentParticipants, Count: 1})
	d.wait("record choice", func(s room.Snapshot) bool { return s.Step == room.StepRecordChoice })
	d.send(room.Intent{Kind: room.IntentRecord, Yes: true})
	snap = d.wait("consent", func(s room.Snapshot) bool { return s.Step == room.StepConsent })
	text := snap.Agreement.Texts["en"]
	d.send(room.Intent{Kind: room.IntentConsent, Participant: 1, Yes: true, Language: "en", TextSHA256: room.TextSHA256(text)})
	snap = d.wait("recording", func(s room.Snapshot) bool { return s.Recording })
	return snap.SessionID
}

func micCheckedSince(cs []room.CheckResult, t time.Time) bool {
	for _, c := range cs {
		if c.Name == "microphone" {
			return c.At.After(t)
		}
	}
	return false
}
