package session

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"roomkiosk/internal/room"
)

// Held recordings (issue 22): a withdrawn recording whose keep-or-delete
// choice a restart came before stays held on the device. Keeping it is the
// client's own choice, made on the same screen as in the session
// (room.StepHeldChoice, opened by their counselor from the maintenance
// screen); a counselor can only delete it sooner; nobody deciding, it is
// deleted at session.held_deadline after its session started. Every
// decision goes to the recorder with who made it and when.

// HeldSettler is a Recorder that writes who decided about a held recording,
// and when, with the recording (the manifest of a kept one, the deletion
// request of a deleted one). Without it the core calls Keep or Discard.
type HeldSettler interface {
	Settle(sessionID string, d room.HeldDecision) error
}

// settleHeld keeps or deletes a held recording as d says.
func (c *Core) settleHeld(id string, d room.HeldDecision) error {
	if hs, ok := c.rec.(HeldSettler); ok {
		return hs.Settle(id, d)
	}
	if d.Keep {
		return c.rec.Keep(id)
	}
	return c.rec.Discard(id)
}

// applyHeldAsk hands the kiosk to the client of the oldest held recording:
// their keep-or-delete screen, with the agreement's wording.
func (c *Core) applyHeldAsk(in room.Intent) error {
	st := &c.st
	if err := c.heldByCounselor(in); err != nil {
		return err
	}
	st.step = room.StepHeldChoice
	c.touch()
	c.log.Info().Str("session", st.held[0].SessionID).Str("counselor", st.counselor).Msg("held recording: the client chooses")
	return nil
}

// heldByCounselor refuses a held-recording intent that is not a
// counselor's on the maintenance screen with a recording waiting.
func (c *Core) heldByCounselor(in room.Intent) error {
	st := &c.st
	if st.step != room.StepMaintenance {
		return c.wrongStep(in)
	}
	if st.technician != "" || st.counselor == "" {
		// The participants' choice is asked by their counselor, never
		// made by a technician.
		return c.refuse(in, room.ErrInvalid, "a held recording is settled by a counselor")
	}
	if len(st.held) == 0 {
		return c.refuse(in, room.ErrInvalid, "no recording waits for a decision")
	}
	return nil
}

// applyHeldClientChoice is the client's keep or delete on the held choice
// screen; the kiosk goes back to the door after it.
func (c *Core) applyHeldClientChoice(in room.Intent) error {
	st := &c.st
	if len(st.held) == 0 {
		c.toDoor()
		return c.refuse(in, room.ErrInvalid, "no recording waits for a decision")
	}
	id := st.held[0].SessionID
	d := room.HeldDecision{Keep: in.Kind == room.IntentWithdrawKeep, By: room.DecidedByClient, At: c.now()}
	l := c.log.With().Str("session", id).Logger()
	if err := c.settleHeld(id, d); err != nil {
		l.Error().Err(err).Bool("keep", d.Keep).Msg("held recording: the client's choice could not be carried out")
		return fmt.Errorf("settle the held recording: %w", err)
	}
	l.Info().Bool("keep", d.Keep).Msg("held recording settled by the client")
	c.markResolved(id)
	st.held = st.held[1:]
	c.toDoor()
	return nil
}

// expireHeld deletes the held recordings past their deadline (the session
// started held_deadline ago or longer) and arms the timer for the next.
// The one a client is choosing about now waits for their choice.
func (c *Core) expireHeld() {
	st := &c.st
	deadline := c.cfg.Flow.HeldDeadline.Duration
	if deadline <= 0 {
		return
	}
	now := c.now()
	var next time.Time
	for _, h := range slices.Clone(st.held) {
		id := h.SessionID
		started := heldStarted(id)
		if started.IsZero() || st.step == room.StepHeldChoice && st.held[0].SessionID == id {
			continue // not a dated id (never the recorder's); or being chosen now
		}
		due := started.Add(deadline)
		if due.After(now) {
			if next.IsZero() || due.Before(next) {
				next = due
			}
			continue
		}
		l := c.log.With().Str("session", id).Logger()
		if err := c.settleHeld(id, room.HeldDecision{By: room.DecidedByDeadline, At: now}); err != nil {
			l.Error().Err(err).Msg("held recording past its deadline: delete")
			continue
		}
		l.Info().Dur("held_deadline", deadline).Msg("held recording deleted at its deadline: nobody chose")
		c.markResolved(id)
		st.held = slices.DeleteFunc(st.held, func(h room.HeldRecording) bool { return h.SessionID == id })
	}
	if next.IsZero() {
		c.stopTimer(timerHeld)
		return
	}
	c.arm(timerHeld, next.Sub(now))
}

// heldStarted is when a held recording's session started: its id begins
// with its UTC start (a session id the recorder accepted).
func heldStarted(id string) time.Time {
	t, err := time.Parse("20060102T150405Z", strings.SplitN(id, "-", 2)[0])
	if err != nil {
		return time.Time{}
	}
	return t
}
