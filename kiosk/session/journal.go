package session

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"roomkiosk/internal/room"
)

// JournalStore keeps the open session's journal on durable storage. The
// core decides what goes in it (and writes nothing personal: ids, counts,
// flags, times, agreement hashes); the store only keeps bytes. The daemon
// wires a file in the spool (recorder/spool.SessionJournal); a nil store
// keeps no journal, and a restart then forgets the open session.
type JournalStore interface {
	// Save replaces the journal; it is on disk (fsync'ed, atomically
	// replaced) when Save returns.
	Save(b []byte) error
	// Load returns the journal, or nil and no error when there is none. It
	// reads at most MaxJournalBytes+1 bytes.
	Load() ([]byte, error)
	// Clear removes the journal durably; no journal is not an error.
	Clear() error
}

// HeartbeatInterval is how often the core rewrites the open session's
// journal while nothing else changes it. The journal's written time then
// says when the daemon was last alive, so a restart is measured from the
// stop, not from the session's last change: a session comes back if the
// daemon is up again within session.resume_window of its last heartbeat,
// whatever the session's age. One heartbeat replaces a journal of about
// 1 KiB atomically (temporary file, fsync, rename, fsync of the folder):
// on an SD card two fsyncs and a few 4 KiB blocks a minute, and only while
// a session is open; a recording writes 32 KB every second.
const HeartbeatInterval = time.Minute

// MaxJournalBytes bounds the journal: a larger one is damaged.
const MaxJournalBytes = 16 << 10

// journalVersion is what the core writes for a session without children;
// a family session's journal is journalFamilyVersion (it has children and
// roles), which a core from before family sessions refuses, closing the
// session as interrupted rather than misreading it.
const (
	journalVersion       = 1
	journalFamilyVersion = 2
)

// journal is what survives the daemon: the state that matters of the open
// session. It holds no personal data and no free text (the override reason
// is not kept: it is logged, encrypted, when the recording starts).
type journal struct {
	Version int       `json:"version"`
	Written time.Time `json:"written"` // the core's clock at the write

	SessionID    string          `json:"session_id"`
	Started      time.Time       `json:"started"`
	Step         room.Step       `json:"step"`
	Counselor    string          `json:"counselor"` // pseudonymous id
	Overridden   bool            `json:"checks_overridden,omitempty"`
	Participants int             `json:"participants"`
	Children     int             `json:"children,omitempty"` // of the participants (version 2)
	Want         bool            `json:"want_recording"`
	Turn         int             `json:"consent_turn,omitempty"`
	Decisions    []room.Decision `json:"decisions,omitempty"`
	Declined     bool            `json:"declined,omitempty"`

	// The recording.
	Recorded    bool              `json:"recorded,omitempty"` // Recorder.Start succeeded
	RecStarted  time.Time         `json:"recording_started,omitzero"`
	StartFailed bool              `json:"start_failed,omitempty"`
	Stopped     bool              `json:"stopped,omitempty"`      // stopped by the core (end, max length, withdrawal)
	SelfStopped bool              `json:"self_stopped,omitempty"` // the recorder stopped by itself (disk floor)
	Withdrawn   bool              `json:"withdrawn,omitempty"`
	Held        bool              `json:"held,omitempty"` // the withdrawal stopped a running recording: the recorder holds it
	Resumed     []room.Resumption `json:"resumed,omitempty"`
	Notice      string            `json:"notice,omitempty"`
	Alerts      []string          `json:"alerts,omitempty"` // codes of the core's own alerts
}

// Steps a journal may name: a session is open on each of these. The end PIN
// pad is not one (a restart shows the in-session screen again).
var journalSteps = []room.Step{room.StepParticipants, room.StepRecordChoice, room.StepConsent,
	room.StepInSession, room.StepWithdrawChoice, room.StepFeedback}

// Messages the room reads, by notice code: the journal keeps the code only.
var noticeMessages = map[string]string{
	room.NoticeNotRecordedChoice:     msgNotRecordedChoice,
	room.NoticeNotRecordedDeclined:   msgNotRecordedDeclined,
	room.NoticeRecorderFailed:        msgRecorderFailed,
	room.NoticeWithdrawn:             msgWithdrawn,
	room.NoticeMaxLength:             msgMaxLength,
	room.NoticeRecorderStopped:       msgRecorderStopped,
	room.NoticeRecordingResumed:      msgResumed,
	room.NoticeNotRecordedNoGuardian: msgNotRecordedNoGuardian,
}

var journalAlerts = map[string]string{
	room.AlertMaxLengthNear:    "The recording will stop soon: maximum session length.",
	room.AlertMaxLengthReached: "Recording stopped: maximum session length reached.",
	room.AlertRecorderFailed:   "The recorder could not start; the session is not recorded.",
	room.AlertKeepFailed:       "The kept recording could not be released; it stays on the device for an admin.",
}

func resumedMessage(gap time.Duration) string {
	return fmt.Sprintf("Recording resumed after an interruption: %s not recorded.", gap.Round(time.Second))
}

// parseJournal decodes and checks a journal against the configuration: a
// journal that fails is damaged, and the session it names is closed as
// interrupted.
func (c *Core) parseJournal(b []byte) (*journal, error) {
	if len(b) > MaxJournalBytes {
		return nil, fmt.Errorf("session journal: %d bytes, more than %d", len(b), MaxJournalBytes)
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	var j journal
	if err := d.Decode(&j); err != nil {
		return nil, fmt.Errorf("session journal: %w", err)
	}
	if d.More() {
		return nil, errors.New("session journal: trailing data after the JSON object")
	}
	if err := c.validJournal(&j); err != nil {
		return nil, fmt.Errorf("session journal: %w", err)
	}
	return &j, nil
}

func (c *Core) validJournal(j *journal) error {
	n := j.Participants
	turns := room.ConsentTurns(n-j.Children, j.Children)
	consented := 0
	for _, d := range j.Decisions {
		if d.Consented {
			consented++
		}
	}
	switch {
	case j.Version != journalVersion && j.Version != journalFamilyVersion:
		return fmt.Errorf("version %d not supported (this core writes %d and %d)", j.Version, journalVersion, journalFamilyVersion)
	case (j.Version == journalFamilyVersion) != (j.Children > 0):
		return fmt.Errorf("version %d with %d children", j.Version, j.Children)
	case j.Children < 0 || j.Children > n:
		return fmt.Errorf("children %d of %d participants", j.Children, n)
	case j.Children == n && n > 0 && (j.Want || j.Step == room.StepRecordChoice || len(j.Decisions) > 0):
		return errors.New("a recording asked with no adult present")
	case j.SessionID == "" || !validID(j.SessionID):
		return fmt.Errorf("session_id %q is not a session id", j.SessionID)
	case j.Written.IsZero() || j.Started.IsZero():
		return errors.New("written and started are required")
	case !slices.Contains(journalSteps, j.Step):
		return fmt.Errorf("step %q is not a step of an open session", j.Step)
	case j.Counselor == "" || !validID(j.Counselor):
		return fmt.Errorf("counselor %q is not a counselor id", j.Counselor)
	case n < 0 || n > room.MaxParticipants:
		return fmt.Errorf("participants %d out of range", n)
	case n == 0 && j.Step != room.StepParticipants:
		return fmt.Errorf("no participants at step %q", j.Step)
	case len(j.Decisions) > turns:
		return fmt.Errorf("%d decisions for %d consent turns", len(j.Decisions), turns)
	case j.Turn < 0 || j.Turn > turns:
		return fmt.Errorf("consent_turn %d out of range", j.Turn)
	case j.Step == room.StepConsent && (!j.Want || j.Turn != len(j.Decisions)+1 || j.Declined):
		return fmt.Errorf("consent turn %d after %d decisions", j.Turn, len(j.Decisions))
	case j.Declined != (consented < len(j.Decisions)):
		return errors.New("declined does not match the decisions")
	case j.Recorded && (!j.Want || consented != turns || j.RecStarted.IsZero()):
		return errors.New("recorded without every participant's consent")
	case (j.Stopped || j.SelfStopped || j.Withdrawn || len(j.Resumed) > 0) && !j.Recorded:
		return errors.New("a recording's state without a recording")
	case j.Held && !j.Withdrawn:
		return errors.New("held without a withdrawal")
	case j.Step == room.StepWithdrawChoice && !j.Withdrawn:
		return errors.New("withdraw choice without a withdrawal")
	case len(j.Resumed) > 100 || len(j.Alerts) > 10:
		return errors.New("too many resumptions or alerts")
	case j.Notice != "" && noticeMessages[j.Notice] == "":
		return fmt.Errorf("notice %q unknown", j.Notice)
	}
	for i, d := range j.Decisions {
		h, _ := hex.DecodeString(d.TextSHA256)
		role, _ := room.TurnRole(n-j.Children, j.Children, i+1)
		ag, _ := c.agreementFor(role)
		switch {
		case d.Participant != i+1:
			return fmt.Errorf("decisions[%d]: participant %d out of order", i, d.Participant)
		case d.Role != "" && d.Role != role || d.AgreementID != "" && d.AgreementID != ag.ID:
			return fmt.Errorf("decisions[%d]: role %q on %q is not turn %d's", i, d.Role, d.AgreementID, i+1)
		case !slices.Contains(c.cfg.Room.Languages, d.Language):
			return fmt.Errorf("decisions[%d]: language %q is not the room's", i, d.Language)
		case len(h) != 32:
			return fmt.Errorf("decisions[%d]: text_sha256 is not a SHA-256", i)
		case d.At.IsZero():
			return fmt.Errorf("decisions[%d]: at is required", i)
		}
	}
	for _, a := range j.Alerts {
		if journalAlerts[a] == "" {
			return fmt.Errorf("alert %q unknown", a)
		}
	}
	return nil
}

// journalOf is the journal of the open session (nil when none is open).
func (c *Core) journalOf() *journal {
	s := c.st.sess
	if s == nil {
		return nil
	}
	step := c.st.step
	if step == room.StepEndPIN {
		step = room.StepInSession
	}
	j := &journal{
		Version: journalVersion, SessionID: s.id, Started: s.started, Step: step,
		Counselor: s.counselor, Overridden: s.overridden, Participants: s.participants, Children: s.children,
		Want: s.want, Turn: s.turn, Decisions: s.decisions, Declined: s.declined,
		Recorded: s.recorded, RecStarted: s.recStarted, StartFailed: s.startFailed, Stopped: s.stopped,
		SelfStopped: s.selfStopped, Withdrawn: s.withdrawn, Held: s.held, Resumed: s.resumptions,
		Notice: s.notice,
	}
	if s.children > 0 {
		j.Version = journalFamilyVersion
	}
	for _, a := range s.alerts {
		if journalAlerts[a.Code] != "" && !slices.Contains(j.Alerts, a.Code) {
			j.Alerts = append(j.Alerts, a.Code)
		}
	}
	return j
}

// persist writes the journal when the open session changed (and removes
// it when the session closed). It runs on the core's goroutine before an
// intent's reply, so what the screen is told is on disk first. A failed
// write is logged and tried again at the next event. Every write (or
// failed try) arms the heartbeat: the journal is rewritten at the latest
// HeartbeatInterval later.
func (c *Core) persist() {
	if c.journal == nil {
		return
	}
	j := c.journalOf()
	if j == nil {
		c.stopTimer(timerHeartbeat)
		if c.st.journaled {
			if err := c.journal.Clear(); err != nil {
				c.log.Error().Err(err).Msg("remove session journal")
				return
			}
			c.st.journaled, c.st.lastJournal = false, nil
		}
		return
	}
	key, err := json.Marshal(j) // without Written: what changed
	if err != nil {
		c.slog().Error().Err(err).Msg("encode session journal")
		return
	}
	if c.st.journaled && bytes.Equal(key, c.st.lastJournal) {
		return
	}
	j.Written = c.now()
	b, err := json.MarshalIndent(j, "", "  ")
	if err == nil {
		err = c.journal.Save(append(b, '\n'))
	}
	c.arm(timerHeartbeat, HeartbeatInterval)
	if err != nil {
		c.slog().Error().Err(err).Msg("write session journal")
		return
	}
	c.st.journaled, c.st.lastJournal = true, key
}

// heartbeat rewrites the open session's journal with the time now: the
// proof that the daemon was alive then (restore measures the resume window
// from it).
func (c *Core) heartbeat() {
	c.st.lastJournal = nil
	c.persist()
}

// restore reads the journal at start-up. A session within the resume window
// comes back at its step; one outside it, or a damaged journal, is closed
// as interrupted when Run starts.
func (c *Core) restore() {
	if c.journal == nil {
		return
	}
	b, err := c.journal.Load()
	if err == nil && b == nil {
		return
	}
	var j *journal
	if err == nil {
		j, err = c.parseJournal(b)
	}
	if err != nil {
		// The safe default: whatever was open is closed as interrupted;
		// its recording (if any) is sealed by the recorder's recovery.
		c.log.Error().Err(err).Msg("session journal damaged: closing the session it names as interrupted")
		c.st.pendingEnd = damagedSummary(b)
		c.st.journaled = true // so that Run removes it
		return
	}
	c.heldWithoutJournal(j)
	now := c.now()
	age := now.Sub(j.Written)
	window := c.cfg.Flow.ResumeWindow.Duration
	// The journal was written at the latest one heartbeat before the stop:
	// a restart within the window after the stop is within the window plus
	// one heartbeat of the last write. A window of 0 never resumes.
	slack := HeartbeatInterval
	if window == 0 {
		slack = 0
	}
	if age > window+slack || age < -time.Minute {
		// Outside the window (or written "later" than now: the clock went
		// back, so how long ago cannot be told).
		c.log.Warn().Str("session", j.SessionID).Dur("since_journal", age).Dur("window", window).
			Msg("session open at the last stop is outside the resume window: closed as interrupted")
		sum := summaryOf(j)
		c.st.pendingEnd = &sum
		c.st.journaled = true
		return
	}
	s := &sessionState{
		id: j.SessionID, started: j.Started, counselor: j.Counselor, overridden: j.Overridden,
		participants: j.Participants, children: j.Children, want: j.Want, turn: j.Turn, decisions: slices.Clone(j.Decisions),
		declined: j.Declined, recorded: j.Recorded, recStarted: j.RecStarted, startFailed: j.StartFailed,
		stopped: j.Stopped, selfStopped: j.SelfStopped, withdrawn: j.Withdrawn, held: j.Held,
		resumptions: slices.Clone(j.Resumed), notice: j.Notice, message: noticeMessages[j.Notice],
	}
	if n := len(s.resumptions); n > 0 && s.notice == room.NoticeRecordingResumed {
		s.resumedGap = s.resumptions[n-1].Gap
		s.message = resumedMessage(s.resumedGap)
	}
	for _, code := range j.Alerts {
		s.alerts = append(s.alerts, room.Alert{Code: code, Message: journalAlerts[code], Since: j.Written})
	}
	c.st.sess = s
	c.st.step = j.Step
	c.st.counselor = j.Counselor
	c.st.overridden = j.Overridden
	c.st.journaled, c.st.lastJournal = true, nil // rewritten at the first event
	c.st.restored = true
	c.st.resumeRecording = s.recorded && !s.stopped && !s.selfStopped && !s.withdrawn
	c.log.Info().Str("session", s.id).Str("step", string(j.Step)).Bool("resume_recording", c.st.resumeRecording).
		Dur("since_journal", age).Msg("session open at the last stop comes back")
}

// heldWithoutJournal finishes a withdrawal the journal missed: the recorder
// held the recording (its hold is on disk before Stop returns) and the
// daemon died before the core journaled the withdrawal. The recorder's hold
// is the durable fact: the session comes back withdrawn, its recording
// held (never resumed, never uploaded), at the participants' choice.
func (c *Core) heldWithoutJournal(j *journal) {
	if !j.Recorded || j.Withdrawn {
		return
	}
	hl, ok := c.rec.(HeldLister)
	if !ok {
		return
	}
	list, err := hl.Held()
	if err != nil || !slices.ContainsFunc(list, func(h room.HeldRecording) bool { return h.SessionID == j.SessionID }) {
		return
	}
	j.Withdrawn, j.Held, j.Stopped = true, true, true
	j.Step, j.Notice = room.StepWithdrawChoice, room.NoticeWithdrawn
	c.log.Warn().Str("session", j.SessionID).Msg("the recorder holds this session's recording: a withdrawal the journal missed; it comes back withdrawn")
}

// ResumeSession names the session whose recording the core will resume when
// Run starts ("" when none): the daemon's recovery leaves its spool folder
// unfinished for it. Call it before Run.
func (c *Core) ResumeSession() string {
	if c.st.resumeRecording && c.st.sess != nil {
		return c.st.sess.id
	}
	return ""
}

// startUp does what restore decided, once Run owns the state: close an
// interrupted session, or re-arm a restored session's timers and resume its
// recording.
func (c *Core) startUp() {
	st := &c.st
	if sum := st.pendingEnd; sum != nil {
		st.pendingEnd = nil
		if sum.ID != "" {
			c.uploader.SessionEnded(*sum)
		}
		return
	}
	if !st.restored {
		return
	}
	s := st.sess
	c.observeSession(true)
	switch st.step {
	case room.StepParticipants, room.StepRecordChoice, room.StepConsent, room.StepFeedback:
		c.arm(timerStep, c.cfg.Flow.ConsentTimeout.Duration)
	}
	if st.resumeRecording {
		st.resumeRecording = false
		c.resumeRecording(s)
	}
}

// resumeRecording starts the recorder again for a session that was
// recording when the daemon stopped: a new part of the same session.
func (c *Core) resumeRecording(s *sessionState) {
	left := time.Duration(0)
	if c.cfg.MaxLength > 0 {
		left = c.cfg.MaxLength - c.now().Sub(s.recStarted)
		if left <= 0 {
			s.stopped = true
			s.message, s.notice = msgMaxLength, room.NoticeMaxLength
			s.alerts = append(s.alerts, room.Alert{Code: room.AlertMaxLengthReached, Message: journalAlerts[room.AlertMaxLengthReached], Since: c.now()})
			c.slog().Warn().Msg("maximum session length passed during the interruption: not resuming the recording")
			return
		}
	}
	info := c.sessionInfo(s)
	info.Resume = true
	c.st.recSt = room.RecorderStatus{SessionID: s.id, State: room.RecorderStarting}
	s.resuming = true
	if err := c.rec.Start(info); err != nil {
		c.st.recSt = room.RecorderStatus{State: room.RecorderIdle}
		s.resuming = false
		s.stopped = true
		s.message, s.notice = msgRecorderStopped, room.NoticeRecorderStopped
		c.slog().Error().Err(err).Msg("resume recording after the restart")
		return
	}
	c.slog().Info().Msg("recording resumes after the restart")
	if c.cfg.MaxLength > 0 {
		if w := left - c.cfg.Flow.MaxLengthWarn.Duration; w > 0 && c.cfg.Flow.MaxLengthWarn.Duration > 0 {
			c.arm(timerMaxWarn, w)
		}
		c.arm(timerMaxLen, left)
	}
}

// noteResumed records the resumption once the recorder says it records
// again and how long the gap was.
func (c *Core) noteResumed(s *sessionState, gap time.Duration) {
	s.resuming = false
	s.resumptions = append(s.resumptions, room.Resumption{At: c.now(), Gap: gap})
	s.resumedGap = gap
	s.message, s.notice = resumedMessage(gap), room.NoticeRecordingResumed
	c.slog().Info().Dur("gap", gap).Msg("recording resumed after an interruption")
}

func summaryOf(j *journal) room.Summary {
	return room.Summary{
		ID: j.SessionID, Started: j.Started, Ended: j.Written, Participants: j.Participants,
		WantRecording: j.Want, Declined: j.Declined, Recorded: j.Recorded, Withdrawn: j.Withdrawn,
		Interrupted: true, Resumed: len(j.Resumed), Children: j.Children,
	}
}

// damagedSummary makes what can be told of a damaged journal: its session
// id if that much is readable (so the archive lists the session as
// interrupted), nothing else.
func damagedSummary(b []byte) *room.Summary {
	var partial struct {
		SessionID string    `json:"session_id"`
		Started   time.Time `json:"started"`
		Written   time.Time `json:"written"`
	}
	if len(b) > MaxJournalBytes || json.Unmarshal(b, &partial) != nil || !validID(partial.SessionID) || partial.SessionID == "" {
		return &room.Summary{}
	}
	if partial.Started.IsZero() {
		// The id begins with the session's UTC start.
		partial.Started, _ = time.Parse("20060102T150405Z", strings.SplitN(partial.SessionID, "-", 2)[0])
	}
	if partial.Written.Before(partial.Started) {
		partial.Written = partial.Started
	}
	return &room.Summary{ID: partial.SessionID, Started: partial.Started, Ended: partial.Written, Interrupted: true}
}
