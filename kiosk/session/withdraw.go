package session

import (
	"fmt"
	"slices"

	"roomkiosk/internal/room"
)

// applyWithdraw stops the recording at once, in this very event, and asks
// the room to keep or delete what was recorded.
func (c *Core) applyWithdraw(in room.Intent) error {
	st := &c.st
	s := st.sess
	if s == nil || (st.step != room.StepInSession && st.step != room.StepEndPIN) {
		return c.wrongStep(in)
	}
	if !s.recorded {
		return c.refuse(in, room.ErrInvalid, "this session is not recorded")
	}
	if s.withdrawn {
		return c.refuse(in, room.ErrInvalid, "consent was already withdrawn")
	}
	// Stop first, in this very event: the 250 ms budget. A recording
	// that already stopped (end of its maximum length, or by itself)
	// has nothing running to hold: what it sealed is queued, and the
	// choice then keeps it as it is or deletes it.
	s.held = !s.stopped && !s.selfStopped
	if s.held {
		if err := c.rec.Stop(s.id, true); err != nil {
			c.slog().Error().Err(err).Msg("stop recording after withdrawal")
		}
	}
	s.resuming = false
	s.stopped, s.withdrawn = true, true
	c.stopTimer(timerMaxWarn)
	c.stopTimer(timerMaxLen)
	s.alerts = slices.DeleteFunc(s.alerts, func(a room.Alert) bool { return a.Code == room.AlertMaxLengthNear })
	s.message, s.notice = msgWithdrawn, room.NoticeWithdrawn
	c.closePINPad()
	st.step = room.StepWithdrawChoice
	c.slog().Info().Msg("consent withdrawn: recording stopped")
	return nil
}

// applyWithdrawChoice is the keep-or-delete choice. Until it is made the
// recorder holds the withdrawn audio on the device (Stop(id, true) seals it
// out of the upload queue). The choice screen has no timeout and the
// session cannot end before it, so nobody chooses for the participants: a
// choice still pending at a daemon stop, crash or power cut leaves the
// audio held on the device, never uploaded and never deleted, for an admin
// to settle (recorder/FORMAT.md, "Withdrawal hold").
func (c *Core) applyWithdrawChoice(in room.Intent) error {
	st := &c.st
	if st.step == room.StepHeldChoice {
		return c.applyHeldClientChoice(in) // held.go
	}
	if st.step != room.StepWithdrawChoice {
		return c.wrongStep(in)
	}
	s := st.sess
	if in.Kind == room.IntentWithdrawDelete {
		if err := c.settleHeld(s.id, room.HeldDecision{By: room.DecidedByClient, At: c.now()}); err != nil {
			c.slog().Error().Err(err).Msg("discard recording")
			return fmt.Errorf("delete the recording: %w", err)
		}
		c.slog().Info().Msg("withdrawn recording deleted")
	} else if s.held {
		// The recorder held the withdrawn audio out of the upload
		// queue; only this explicit choice releases it. If the
		// release fails the audio stays held on the device (never
		// uploaded, never deleted) for an admin, as after a power
		// cut: the room still leaves this screen.
		if err := c.settleHeld(s.id, room.HeldDecision{Keep: true, By: room.DecidedByClient, At: c.now()}); err != nil {
			c.slog().Error().Err(err).Msg("keep recording: it stays held on the device")
			s.alerts = append(s.alerts, room.Alert{Code: room.AlertKeepFailed, Message: journalAlerts[room.AlertKeepFailed], Since: c.now()})
		} else {
			c.slog().Info().Msg("withdrawn recording kept")
		}
	} else {
		c.slog().Info().Msg("withdrawn after the recording had stopped: what was recorded is kept")
	}
	c.markResolved(s.id) // the recorder may list it as held while it seals
	st.step = room.StepInSession
	return nil
}
