package session

import (
	"reflect"
	"slices"
	"strings"

	"roomkiosk/internal/room"
)

func (c *Core) door() room.Door {
	switch {
	case c.st.sess != nil:
		return room.DoorInSession
	case len(c.failingRequired()) > 0:
		return room.DoorOutOfService
	}
	return room.DoorFree
}

// build makes a snapshot that shares no mutable memory with the state.
func (c *Core) build() room.Snapshot {
	st := &c.st
	s := room.Snapshot{
		RoomID:      c.cfg.Room.ID,
		RoomName:    c.cfg.Room.Name,
		Door:        c.door(),
		Recording:   c.recording(),
		Recorder:    st.recSt.State,
		Step:        st.step,
		Language:    st.lang,
		Languages:   slices.Clone(c.cfg.Room.Languages),
		PINDigits:   len(st.digits),
		PINChecking: st.verifying,
		PINError:    st.pinErr,
		Checks:      slices.Clone(st.checks),
		Faults:      slices.Clone(st.faults),
		ManualItems: slices.Clone(st.manual),
		Blocked:     len(c.failingRequired()) > 0,
		Agreement:   room.Agreement{ID: c.cfg.Agreement.ID, Texts: c.cfg.Agreement.Texts},
		MaxLength:   c.cfg.MaxLength,
		Level:       st.recSt.Level,
		Alerts:      slices.Clone(st.recSt.Alerts),
	}
	if s.Recorder == "" {
		s.Recorder = room.RecorderIdle
	}
	if c.locked() {
		s.LockedUntil = st.lockedUntil
	}
	if f := c.cfg.Consent; f.Family() {
		s.MinorAge = f.MinorAge
		s.Guardian = &room.Agreement{ID: f.Guardian.ID, Texts: f.Guardian.Texts}
		s.Assent = &room.Agreement{ID: f.Assent.ID, Texts: f.Assent.Texts}
	}
	if st.overridden {
		s.OverrideNote = "Required checks overridden by the counselor."
	}
	if ss := st.sess; ss != nil {
		s.SessionID = ss.id
		s.SessionStarted = ss.started
		s.Participants = ss.participants
		s.WantRecording = ss.want
		s.Recorded = ss.recorded
		s.ConsentTurn = ss.turn
		s.Children = ss.children
		if ss.turn > 0 {
			s.ConsentRole, s.ConsentTurns = ss.turnRole(), ss.turns()
		}
		if !ss.declined {
			// After a decline the decisions are not published, so the
			// room cannot tell who declined.
			s.Decisions = slices.Clone(ss.decisions)
		}
		s.Withdrawn = ss.withdrawn
		s.Alerts = append(s.Alerts, ss.alerts...)
		s.Message = ss.message
		s.Notice = ss.notice
		if ss.notice == room.NoticeRecordingResumed {
			s.ResumedGap = ss.resumedGap
		}
	}
	if len(s.Alerts) == 0 {
		s.Alerts = nil
	}
	c.buildMaintenance(&s)
	return s
}

// checkStates is a comparable digest of the checks' names and states.
func checkStates(cs []room.CheckResult) string {
	var b strings.Builder
	for _, r := range cs {
		b.WriteString(r.Name)
		b.WriteByte('=')
		b.WriteString(string(r.State))
		b.WriteByte(';')
	}
	return b.String()
}

// publish stores and fans out a new snapshot if anything changed, and tells
// the uploader about door and recording changes.
func (c *Core) publish() {
	s := c.build()
	prev := c.st.lastPublished
	s.Seq, s.At = prev.Seq, prev.At
	changed := !reflect.DeepEqual(s, prev)
	if changed {
		s.Seq = prev.Seq + 1
		s.At = c.now()
		c.st.lastPublished = s
		c.snap.Store(&s)
		c.subMu.Lock()
		for _, ch := range c.subs {
			select { // latest wins
			case <-ch:
			default:
			}
			ch <- s
		}
		c.subMu.Unlock()
	}
	// The uploader hears of what status.json shows: the door, recording,
	// and each check's state (so the fleet view sees a check turn abnormal
	// while the room stays free), not of every level update.
	checks := checkStates(s.Checks) + maintDigest(s)
	if !c.st.told || s.Door != c.st.toldDoor || s.Recording != c.st.toldRecording || checks != c.st.toldChecks {
		c.st.told, c.st.toldDoor, c.st.toldRecording, c.st.toldChecks = true, s.Door, s.Recording, checks
		c.uploader.StatusChanged(c.st.lastPublished)
	}
}
