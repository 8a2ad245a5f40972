package session

import (
	"slices"
	"time"

	"roomkiosk/internal/room"
)

// touch restarts the abandoned-screen timer after input on a timed screen.
func (c *Core) touch() {
	switch c.st.step {
	case room.StepPIN, room.StepMaintenancePIN, room.StepEndPIN:
		c.arm(timerStep, c.cfg.Flow.PINTimeout.Duration)
	case room.StepChecklist, room.StepParticipants, room.StepRecordChoice, room.StepConsent, room.StepMaintenance, room.StepFeedback, room.StepHeldChoice:
		c.arm(timerStep, c.cfg.Flow.ConsentTimeout.Duration)
	}
}

func (c *Core) timeout(k timerKind) {
	st := &c.st
	switch k {
	case timerHeartbeat:
		c.heartbeat()
	case timerHeld:
		c.expireHeld()
	case timerLockout:
		st.lockedUntil = time.Time{}
		st.pinErr = ""
	case timerStep:
		switch st.step {
		case room.StepPIN, room.StepMaintenancePIN, room.StepChecklist, room.StepMaintenance, room.StepHeldChoice:
			c.log.Info().Str("step", string(st.step)).Msg("screen abandoned: back to the door")
			c.toDoor()
		case room.StepParticipants, room.StepRecordChoice, room.StepConsent:
			c.slog().Info().Str("step", string(st.step)).Msg("session abandoned before it began; nothing recorded")
			c.closeSession(0, true)
		case room.StepEndPIN:
			c.closePINPad()
			st.step = room.StepInSession
		case room.StepFeedback:
			c.closeSession(0, false)
		}
	case timerMaxWarn:
		if s := st.sess; s != nil && s.recorded && !s.stopped {
			s.alerts = append(s.alerts, room.Alert{Code: room.AlertMaxLengthNear, Message: "The recording will stop soon: maximum session length.", Since: c.now()})
			c.slog().Info().Msg("maximum session length near")
		}
	case timerMaxLen:
		if s := st.sess; s != nil && s.recorded && !s.stopped && !s.selfStopped {
			if err := c.rec.Stop(s.id, false); err != nil {
				c.slog().Error().Err(err).Msg("stop recording at maximum length")
			}
			s.stopped = true
			s.alerts = slices.DeleteFunc(s.alerts, func(a room.Alert) bool { return a.Code == room.AlertMaxLengthNear })
			s.alerts = append(s.alerts, room.Alert{Code: room.AlertMaxLengthReached, Message: "Recording stopped: maximum session length reached.", Since: c.now()})
			s.message, s.notice = msgMaxLength, room.NoticeMaxLength
			c.slog().Warn().Msg("maximum session length reached: recording stopped")
		}
	}
}

func (c *Core) arm(k timerKind, d time.Duration) {
	c.stopTimer(k)
	c.st.gens[k]++
	gen := c.st.gens[k]
	c.st.timers[k] = c.clock.AfterFunc(d, func() {
		done := make(chan struct{})
		c.post(timerEvent{kind: k, gen: gen, done: done}, done)
	})
}

func (c *Core) stopTimer(k timerKind) {
	if t := c.st.timers[k]; t != nil {
		t.Stop()
		c.st.timers[k] = nil
	}
	c.st.gens[k]++ // a callback already on its way is ignored
}
