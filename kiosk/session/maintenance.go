package session

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"roomkiosk/internal/room"
	"roomkiosk/kiosk/pin"
)

// Technician is one [[technicians]] entry: a pseudonymous id and a PIN hash
// that opens the maintenance screen to record maintenance. It never opens
// or ends a session.
type Technician struct {
	ID      string `toml:"id"`
	PINHash string `toml:"pin_hash"` // from `roomctl pin-hash`
}

// ValidateTechnicians checks the [[technicians]] entries (none is fine): ids
// are distinct, also from the counselors' (the maintenance log names either
// by id), and each hash meets the same strength floor as a counselor's.
func ValidateTechnicians(ts []Technician, counselors []Counselor) error {
	seen := map[string]bool{}
	for _, c := range counselors {
		seen[c.ID] = true
	}
	for i, t := range ts {
		if t.ID == "" {
			return fmt.Errorf("technicians[%d].id: required", i)
		}
		if !validID(t.ID) {
			return fmt.Errorf("technicians[%d].id: %q may hold only letters, digits, '-' and '_'", i, t.ID)
		}
		if seen[t.ID] {
			return fmt.Errorf("technicians[%d].id: %q appears twice (or is a counselor's id)", i, t.ID)
		}
		seen[t.ID] = true
		if !strings.HasPrefix(t.PINHash, "$2a$") && !strings.HasPrefix(t.PINHash, "$2b$") && !strings.HasPrefix(t.PINHash, "$argon2id$") {
			return fmt.Errorf("technicians[%d].pin_hash: not a bcrypt or argon2id hash (make one with `roomctl pin-hash`)", i)
		}
		if err := pin.CheckHash(t.PINHash); err != nil {
			return fmt.Errorf("technicians[%d].pin_hash (technician %q): %w", i, t.ID, err)
		}
	}
	return nil
}

// MaintenanceLog keeps technicians' entries and counselors' problem reports
// on durable storage (the daemon wires the maintenance log, which the
// uploader sends to the bucket). Calls must return quickly: the core's
// goroutine makes them, and each entry is on disk before the screen is told.
type MaintenanceLog interface {
	// RecordMaintenance keeps a technician's entry; it clears the problems
	// the entry names.
	RecordMaintenance(e room.MaintenanceEntry) error
	// ReportProblem keeps a counselor's report, with the session it ended
	// and the counselor's pseudonymous id (the log keeps ids only).
	ReportProblem(p room.ProblemReport, sessionID, counselorID string) error
}

// HeldLister is a Recorder that lists the withdrawn recordings it holds
// until someone keeps or deletes them (recorder.Recorder.Held): those a
// restart left without a choice are settled on the maintenance screen.
type HeldLister interface {
	Held() ([]room.HeldRecording, error)
}

// maintState is what the maintenance log says: the last technician's entry
// and the reported problems still open.
type maintState struct {
	last     *room.MaintenanceEntry
	problems []room.ProblemReport
}

// MaintenanceUpdated replaces the last maintenance entry and the open
// problem reports (the daemon reads them from the maintenance log at start
// and after each entry). Like FaultsUpdated it never blocks.
func (c *Core) MaintenanceUpdated(last *room.MaintenanceEntry, problems []room.ProblemReport) {
	if c == nil {
		return
	}
	m := maintState{problems: slices.Clone(problems)}
	if last != nil {
		e := *last
		e.Cleared = slices.Clone(e.Cleared)
		m.last = &e
	}
	c.pendMu.Lock()
	c.pendMaint = &m
	c.pendMu.Unlock()
	c.poke()
}

// applyMaintenance decides the maintenance intents.
func (c *Core) applyMaintenance(in room.Intent) error {
	switch in.Kind {
	case room.IntentMaintenanceAction:
		return c.applyMaintenanceAction(in)
	case room.IntentReportProblem:
		return c.applyReportProblem(in)
	case room.IntentHeldKeep, room.IntentHeldDelete, room.IntentHeldAsk:
		return c.applyHeldChoice(in)
	}
	return c.refuse(in, room.ErrInvalid, "unknown intent %q", in.Kind)
}

// applyMaintenanceAction records a technician's maintenance entry.
func (c *Core) applyMaintenanceAction(in room.Intent) error {
	st := &c.st
	if st.step != room.StepMaintenance {
		return c.wrongStep(in)
	}
	if st.technician == "" {
		return c.refuse(in, room.ErrInvalid, "only a technician records maintenance (open it with a technician's PIN)")
	}
	// A code from the fixed list, never free text: the entry is
	// uploaded in the clear. The refusal does not echo what was sent.
	if !room.ValidMaintenanceAction(in.Reason) {
		return c.refuse(in, room.ErrInvalid, "a maintenance action must be one of %s", strings.Join(room.MaintenanceActions(), ", "))
	}
	if c.maint == nil {
		return c.refuse(in, room.ErrInvalid, "this kiosk keeps no maintenance log")
	}
	e := room.MaintenanceEntry{At: c.now(), Action: in.Reason, Technician: st.technician}
	for _, p := range st.maint.problems {
		if !slices.Contains(e.Cleared, p.Problem) {
			e.Cleared = append(e.Cleared, p.Problem)
		}
	}
	if err := c.maint.RecordMaintenance(e); err != nil {
		c.log.Error().Err(err).Msg("record maintenance")
		return fmt.Errorf("record maintenance: %w", err)
	}
	st.maint = maintState{last: &e}
	c.log.Info().Str("technician", st.technician).Str("action", e.Action).Strs("cleared", e.Cleared).Msg("maintenance recorded")
	c.touch()
	// The technician changed something: judge the room again now.
	c.checker.RunChecks("maintenance")
	return nil
}

// applyReportProblem records a problem the counselor reports at the end of
// a session.
func (c *Core) applyReportProblem(in room.Intent) error {
	st := &c.st
	s := st.sess
	if st.step != room.StepFeedback || s == nil {
		return c.wrongStep(in)
	}
	if !room.ValidProblem(in.Reason) {
		return c.refuse(in, room.ErrInvalid, "a problem report must be one of %s", strings.Join(room.ProblemCodes(), ", "))
	}
	if slices.Contains(s.reported, in.Reason) {
		c.touch()
		return nil // one report per problem and session: a second tap changes nothing
	}
	if c.maint == nil {
		return c.refuse(in, room.ErrInvalid, "this kiosk keeps no maintenance log")
	}
	p := room.ProblemReport{At: c.now(), Problem: in.Reason}
	if err := c.maint.ReportProblem(p, s.id, s.counselor); err != nil {
		c.slog().Error().Err(err).Msg("report problem")
		return fmt.Errorf("report problem: %w", err)
	}
	s.reported = append(s.reported, in.Reason)
	if !slices.ContainsFunc(st.maint.problems, func(x room.ProblemReport) bool { return x.Problem == p.Problem }) {
		st.maint.problems = append(st.maint.problems, p)
	}
	c.slog().Info().Str("problem", p.Problem).Msg("equipment problem reported")
	c.touch()
	return nil
}

// applyHeldChoice is the counselor's part in a held recording (held.go):
// hand the kiosk to its client (held_ask), or delete it sooner. Keeping it
// on the counselor's word is refused (issue 22).
func (c *Core) applyHeldChoice(in room.Intent) error {
	st := &c.st
	if in.Kind == room.IntentHeldAsk {
		return c.applyHeldAsk(in)
	}
	if err := c.heldByCounselor(in); err != nil {
		return err
	}
	if in.Kind == room.IntentHeldKeep {
		return c.refuse(in, room.ErrInvalid, "keeping a held recording is the client's own choice: hand them the kiosk (held_ask)")
	}
	id := st.held[0].SessionID
	l := c.log.With().Str("session", id).Str("counselor", st.counselor).Logger()
	if err := c.settleHeld(id, room.HeldDecision{By: room.DecidedByCounselor, At: c.now()}); err != nil {
		l.Error().Err(err).Msg("delete held recording")
		return fmt.Errorf("delete the held recording: %w", err)
	}
	l.Info().Msg("held recording deleted by the counselor")
	c.markResolved(id)
	st.held = st.held[1:]
	c.touch()
	return nil
}

// markResolved notes a withdrawn recording whose choice was made in this
// run: the recorder may still list it as held for a moment (it seals in the
// background), and it must not come back as waiting.
func (c *Core) markResolved(id string) {
	if c.st.resolved == nil {
		c.st.resolved = map[string]bool{}
	}
	c.st.resolved[id] = true
}

// refreshHeld asks the recorder which withdrawn recordings wait for a
// choice. The open session's own is not one of them: its participants
// choose on the withdraw screen.
func (c *Core) refreshHeld() {
	hl, ok := c.rec.(HeldLister)
	if !ok {
		return
	}
	list, err := hl.Held()
	if err != nil {
		c.log.Warn().Err(err).Msg("list held recordings")
		return
	}
	var held []room.HeldRecording
	for _, h := range list {
		if c.st.resolved[h.SessionID] || (c.st.sess != nil && c.st.sess.id == h.SessionID) {
			continue
		}
		// The count is the recorder's, from a file: bounded before a
		// screen words anything by it.
		h.Children = min(max(h.Children, 0), room.MaxParticipants-1)
		held = append(held, h)
	}
	// Ids begin with their start time: oldest first.
	slices.SortFunc(held, func(a, b room.HeldRecording) int { return strings.Compare(a.SessionID, b.SessionID) })
	c.st.held = held
	c.expireHeld() // held.go
}

// buildMaintenance adds the maintenance fields to a snapshot.
func (c *Core) buildMaintenance(s *room.Snapshot) {
	st := &c.st
	s.Technician = st.step == room.StepMaintenance && st.technician != ""
	if e := st.maint.last; e != nil {
		cp := *e
		cp.Cleared = slices.Clone(e.Cleared)
		s.LastMaintenance = &cp
	}
	s.Problems = slices.Clone(st.maint.problems)
	s.HeldWaiting = len(st.held)
	if st.step == room.StepHeldChoice && len(st.held) > 0 && st.sess == nil {
		// The client of a held family session chooses as a guardian, as
		// on the session's own withdraw screen (which Children words).
		s.Children = st.held[0].Children
	}
	if ss := st.sess; ss != nil {
		s.ProblemsReported = slices.Clone(ss.reported)
	}
}

// maintDigest is what the uploader must hear of a change in (status.json
// carries the last maintenance, the open problems and the held count).
func maintDigest(s room.Snapshot) string {
	var b strings.Builder
	if e := s.LastMaintenance; e != nil {
		b.WriteString(e.At.Format(time.RFC3339Nano))
		b.WriteString(e.Action)
	}
	for _, p := range s.Problems {
		b.WriteString("|" + p.Problem)
	}
	fmt.Fprintf(&b, "#%d", s.HeldWaiting)
	return b.String()
}
