package session

import (
	"fmt"
	"time"

	"roomkiosk/internal/room"
)

// applyOpenPINPad opens the start or the maintenance PIN pad from the door.
func (c *Core) applyOpenPINPad(in room.Intent) error {
	st := &c.st
	if st.step != room.StepDoor {
		return c.wrongStep(in)
	}
	st.step = room.StepPIN
	if in.Kind == room.IntentMaintenance {
		st.step = room.StepMaintenancePIN
	}
	c.openPINPad()
	return nil
}

// applyPIN takes a digit, a backspace or OK on any PIN pad. OK defers the
// reply until the PIN is checked.
func (c *Core) applyPIN(in room.Intent, reply chan error) error {
	st := &c.st
	if !isPINStep(st.step) {
		return c.wrongStep(in)
	}
	if st.verifying {
		return c.refuse(in, room.ErrBusy, "the PIN is being checked")
	}
	if c.locked() {
		return c.refuse(in, room.ErrLocked, "too many wrong PINs; try again after %s", st.lockedUntil.Format(time.TimeOnly))
	}
	c.touch()
	switch in.Kind {
	case room.IntentPINDigit:
		if in.Digit < 0 || in.Digit > 9 {
			return c.refuse(in, room.ErrInvalid, "digit %d is not 0-9", in.Digit)
		}
		if len(st.digits) >= 8 {
			return c.refuse(in, room.ErrInvalid, "a PIN has at most 8 digits")
		}
		st.digits = append(st.digits, byte('0'+in.Digit))
		st.pinErr = ""
	case room.IntentPINBack:
		if len(st.digits) > 0 {
			st.digits = st.digits[:len(st.digits)-1]
		}
	case room.IntentPINOK:
		if len(st.digits) < 4 {
			return c.refuse(in, room.ErrInvalid, "a PIN has at least 4 digits")
		}
		c.verifyPIN(reply)
		return errDeferred
	}
	return nil
}

func isPINStep(s room.Step) bool {
	return s == room.StepPIN || s == room.StepEndPIN || s == room.StepMaintenancePIN
}

func (c *Core) locked() bool {
	return !c.st.lockedUntil.IsZero() && c.now().Before(c.st.lockedUntil)
}

func (c *Core) openPINPad() {
	c.st.digits = c.st.digits[:0]
	c.st.pinErr = ""
	c.arm(timerStep, c.cfg.Flow.PINTimeout.Duration)
}

// closePINPad clears the pad and abandons a PIN check in flight.
func (c *Core) closePINPad() {
	st := &c.st
	st.digits = st.digits[:0]
	st.pinErr = ""
	if st.verifying {
		st.verifying = false
		st.pinGen++
		st.pinReply <- &room.RefusedError{Kind: room.IntentPINOK, Step: st.step, Reason: "the PIN pad was closed", Err: room.ErrWrongStep}
		st.pinReply = nil
	}
	c.stopTimer(timerStep)
}

// verifyPIN checks the typed PIN off the core's goroutine (argon2id takes a
// noticeable time on a small board, and a withdrawal must not wait for it).
func (c *Core) verifyPIN(reply chan error) {
	st := &c.st
	typed := string(st.digits)
	st.digits = st.digits[:0]
	st.verifying = true
	st.pinGen++
	st.pinReply = reply
	gen := st.pinGen
	counselors, verify := c.cfg.Counselors, c.verify
	// Technicians' PINs open the maintenance screen only: never a
	// session, never the end of one.
	var technicians []Technician
	if st.step == room.StepMaintenancePIN {
		technicians = c.cfg.Technicians
	}
	go func() {
		who, tech := "", ""
		for _, cn := range counselors {
			if verify(cn.PINHash, typed) {
				who = cn.ID
				break
			}
		}
		for _, tn := range technicians {
			if who != "" {
				break
			}
			if verify(tn.PINHash, typed) {
				tech = tn.ID
				break
			}
		}
		done := make(chan struct{})
		c.post(pinEvent{gen: gen, counselor: who, technician: tech, done: done}, done)
	}()
}

func (c *Core) pinResult(counselor, technician string) {
	st := &c.st
	reply := st.pinReply
	st.verifying, st.pinReply = false, nil
	if counselor == "" && technician == "" {
		st.wrong++
		log := c.slog().Warn().Int("attempt", st.wrong).Str("step", string(st.step))
		if st.wrong >= c.cfg.Flow.LockoutAttempts {
			st.wrong = 0
			st.lockedUntil = c.now().Add(c.cfg.Flow.LockoutFor.Duration)
			st.pinErr = "Too many wrong PINs. The PIN pad is locked for a while."
			c.arm(timerLockout, c.cfg.Flow.LockoutFor.Duration)
			log.Msg("wrong PIN: PIN pad locked")
			reply <- &room.RefusedError{Kind: room.IntentPINOK, Step: st.step, Reason: "wrong PIN; too many attempts, locked until " + st.lockedUntil.Format(time.TimeOnly), Err: room.ErrLocked}
		} else {
			st.pinErr = "Wrong PIN."
			log.Msg("wrong PIN")
			reply <- &room.RefusedError{Kind: room.IntentPINOK, Step: st.step, Reason: "wrong PIN", Err: room.ErrWrongPIN}
		}
		c.touch()
		return
	}
	st.wrong = 0
	st.pinErr = ""
	c.stopTimer(timerStep)
	switch st.step {
	case room.StepPIN:
		st.counselor = counselor
		st.overridden, st.override = false, ""
		st.manual = make([]room.ManualItem, len(c.cfg.Flow.ManualChecks))
		for i, t := range c.cfg.Flow.ManualChecks {
			st.manual[i] = room.ManualItem{ID: fmt.Sprintf("manual-%d", i+1), Text: t}
		}
		st.step = room.StepChecklist
		c.arm(timerStep, c.cfg.Flow.ConsentTimeout.Duration)
		c.log.Info().Str("counselor", counselor).Msg("counselor PIN accepted: pre-session checklist")
		c.checker.RunChecks("pre-session")
	case room.StepMaintenancePIN:
		st.step = room.StepMaintenance
		c.arm(timerStep, c.cfg.Flow.ConsentTimeout.Duration)
		if technician != "" {
			st.technician = technician
			c.log.Info().Str("technician", technician).Msg("maintenance opened by a technician")
		} else {
			st.counselor = counselor
			c.log.Info().Str("counselor", counselor).Msg("maintenance opened")
		}
		c.refreshHeld()
		c.checker.RunChecks("maintenance")
	case room.StepEndPIN:
		s := st.sess
		if s.recorded && !s.stopped && !s.selfStopped {
			if err := c.rec.Stop(s.id, false); err != nil {
				c.slog().Error().Err(err).Msg("stop recording at session end")
			}
			s.stopped = true
		}
		c.stopTimer(timerMaxWarn)
		c.stopTimer(timerMaxLen)
		st.step = room.StepFeedback
		c.arm(timerStep, c.cfg.Flow.ConsentTimeout.Duration)
		c.slog().Info().Str("counselor", counselor).Msg("session ended by counselor: feedback")
	}
	c.persist() // the end is on disk before the screen hears of it
	reply <- nil
}
