package session

import (
	"roomkiosk/internal/room"
)

// applyEnd opens the end-of-session PIN pad.
func (c *Core) applyEnd(in room.Intent) error {
	if c.st.step != room.StepInSession {
		return c.wrongStep(in)
	}
	c.st.step = room.StepEndPIN
	c.openPINPad()
	return nil
}

// applyFeedback takes the clients' rating (0 skips) and closes the session.
func (c *Core) applyFeedback(in room.Intent) error {
	if c.st.step != room.StepFeedback {
		return c.wrongStep(in)
	}
	if in.Rating < 0 || in.Rating > 5 {
		return c.refuse(in, room.ErrInvalid, "rating must be 1 to 5, or 0 to skip, not %d", in.Rating)
	}
	c.closeSession(in.Rating, false)
	return nil
}

func (c *Core) closeSession(rating int, abandoned bool) {
	st := &c.st
	s := st.sess
	if s.recorded && !s.stopped && !s.selfStopped {
		// Not reachable through the flow (end stops first); kept so that
		// no path can leave a capture running for a closed session.
		if err := c.rec.Stop(s.id, false); err != nil {
			c.slog().Error().Err(err).Msg("stop recording at close")
		}
		s.stopped = true
	}
	c.slog().Info().Bool("recorded", s.recorded).Bool("withdrawn", s.withdrawn).Int("feedback", rating).Msg("session closed")
	c.uploader.SessionEnded(room.Summary{
		ID: s.id, Started: s.started, Ended: c.now(), Participants: s.participants,
		WantRecording: s.want, Declined: s.declined, Recorded: s.recorded, Withdrawn: s.withdrawn,
		Abandoned: abandoned, Feedback: rating, Resumed: len(s.resumptions), Children: s.children,
	})
	c.observeSession(false)
	c.toDoor()
	// During the session the microphone check only deferred or followed
	// the recording: judge the room again now that it is free.
	c.checker.RunChecks("after-session")
}

// observeSession tells a recorder that wants to know that the session
// opened or closed.
func (c *Core) observeSession(open bool) {
	o, ok := c.rec.(SessionObserver)
	if !ok || c.st.sess == nil {
		return
	}
	if open {
		o.SessionOpened(c.st.sess.id)
	} else {
		o.SessionClosed(c.st.sess.id)
	}
}

// toDoor leaves whatever flow is open, closing no session (closeSession
// does that first).
func (c *Core) toDoor() {
	st := &c.st
	c.closePINPad()
	for k := range st.timers {
		if timerKind(k) != timerLockout {
			c.stopTimer(timerKind(k))
		}
	}
	st.step = room.StepDoor
	st.sess = nil
	st.manual = nil
	st.counselor = ""
	st.technician = ""
	st.overridden, st.override = false, ""
	st.recSt = room.RecorderStatus{State: room.RecorderIdle}
	st.lang = c.cfg.Room.Languages[0]
}
