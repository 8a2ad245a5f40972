package session

import (
	"slices"

	"roomkiosk/internal/room"
)

// sessionInfo is what the recorder is told of a consented session.
func (c *Core) sessionInfo(s *sessionState) room.SessionInfo {
	first := s.decisions[0]
	return room.SessionInfo{
		ID:          s.id,
		CounselorID: s.counselor,
		Started:     s.started,
		MaxLength:   c.cfg.MaxLength,
		Consent: room.ConsentRecord{
			AgreementID:   c.cfg.Agreement.ID,
			AgreementText: c.cfg.Agreement.Texts[first.Language],
			TextSHA256:    first.TextSHA256,
			Language:      first.Language,
			Decisions:     slices.Clone(s.decisions),
			Resumed:       slices.Clone(s.resumptions),
			Version:       room.ConsentRecordVersion,
			Adults:        s.adults(),
			Children:      s.children,
		},
		ChecksOverridden: s.overridden,
		OverrideReason:   s.override,
	}
}

func (c *Core) startRecording() {
	s := c.st.sess
	info := c.sessionInfo(s)
	// Forget any report from before this Start: Recording must follow what
	// the recorder says from now on.
	c.st.recSt = room.RecorderStatus{SessionID: s.id, State: room.RecorderStarting}
	if err := c.rec.Start(info); err != nil {
		c.st.recSt = room.RecorderStatus{State: room.RecorderIdle}
		s.startFailed = true
		s.message, s.notice = msgRecorderFailed, room.NoticeRecorderFailed
		s.alerts = append(s.alerts, room.Alert{Code: room.AlertRecorderFailed, Message: "The recorder could not start; the session is not recorded.", Since: c.now()})
		c.slog().Error().Err(err).Msg("start recording")
		return
	}
	s.recorded = true
	s.recStarted = c.now()
	c.slog().Info().Int("participants", s.participants).Msg("all participants consented: recording started")
	if c.cfg.MaxLength > 0 {
		if w := c.cfg.MaxLength - c.cfg.Flow.MaxLengthWarn.Duration; w > 0 && c.cfg.Flow.MaxLengthWarn.Duration > 0 {
			c.arm(timerMaxWarn, w)
		}
		c.arm(timerMaxLen, c.cfg.MaxLength)
	}
}

func (c *Core) recorderStatus(rs room.RecorderStatus) {
	s := c.st.sess
	switch {
	case s == nil && rs.SessionID == "":
	case s != nil && rs.SessionID == s.id && s.recorded:
	default:
		return // a late report about another session, or about one not started
	}
	wasRecording := c.recording()
	c.st.recSt = rs
	if s != nil && s.resuming && rs.State == room.RecorderRecording && rs.ResumedGap > 0 {
		c.noteResumed(s, rs.ResumedGap)
	}
	if s == nil || s.stopped || s.withdrawn {
		return
	}
	if rs.State != room.RecorderStopped {
		s.selfStopped = false // the recorder runs this session (again)
		return
	}
	if !s.selfStopped {
		// The recorder stopped on its own (disk floor). Nothing of it
		// runs any more: a withdrawal now holds nothing, and ending
		// stops nothing.
		s.selfStopped = true
		s.resuming = false
		c.slog().Warn().Str("reason", rs.Reason).Msg("recorder stopped on its own")
	}
	if wasRecording {
		// Say so plainly.
		s.message, s.notice = msgRecorderStopped, room.NoticeRecorderStopped
	}
}

// recording is the door's "Recording": the recorder itself reports that it
// is capturing this session, and nothing has stopped it since.
func (c *Core) recording() bool {
	s := c.st.sess
	return s != nil && s.recorded && !s.stopped && !s.withdrawn &&
		c.st.recSt.SessionID == s.id && c.st.recSt.State == room.RecorderRecording
}
