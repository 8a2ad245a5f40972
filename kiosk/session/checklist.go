package session

import (
	"slices"
	"strings"

	"roomkiosk/internal/room"
)

func (c *Core) applyCheckToggle(in room.Intent) error {
	st := &c.st
	if st.step != room.StepChecklist {
		return c.wrongStep(in)
	}
	if in.Item < 0 || in.Item >= len(st.manual) {
		return c.refuse(in, room.ErrInvalid, "checklist item %d does not exist", in.Item)
	}
	st.manual[in.Item].Checked = !st.manual[in.Item].Checked
	c.touch()
	return nil
}

// applyCheckContinue opens the session once every manual item is ticked
// and the required checks pass, or are overridden with a reason code.
func (c *Core) applyCheckContinue(in room.Intent) error {
	st := &c.st
	if st.step != room.StepChecklist {
		return c.wrongStep(in)
	}
	if i := slices.IndexFunc(st.manual, func(m room.ManualItem) bool { return !m.Checked }); i >= 0 {
		return c.refuse(in, room.ErrInvalid, "checklist item %d (%s) is not ticked", i, st.manual[i].Text)
	}
	failing := c.failingRequired()
	if len(failing) > 0 {
		if in.Kind == room.IntentCheckContinue {
			return c.refuse(in, room.ErrInvalid, "required check failing: %s; fix it or override with a reason", strings.Join(failing, ", "))
		}
		// A code from the fixed list, never free text: the reason goes
		// into the maintenance log, which is uploaded in the clear. The
		// refusal does not echo what was sent.
		if !room.ValidOverrideReason(in.Reason) {
			return c.refuse(in, room.ErrInvalid, "an override needs one of the reason codes %s", strings.Join(room.OverrideReasons(), ", "))
		}
		st.overridden = true
		st.override = in.Reason
	}
	c.openSession(failing)
	return nil
}

func (c *Core) failingRequired() []string {
	var out []string
	for _, r := range c.st.checks {
		if r.Required && r.State == room.CheckAbnormal {
			out = append(out, r.Name)
		}
	}
	return out
}

func (c *Core) openSession(failing []string) {
	st := &c.st
	now := c.now()
	st.sess = &sessionState{
		id:         c.newID(now),
		started:    now,
		counselor:  st.counselor,
		overridden: st.overridden,
		override:   st.override,
	}
	st.step = room.StepParticipants
	st.recSt = room.RecorderStatus{State: room.RecorderIdle}
	c.observeSession(true)
	c.arm(timerStep, c.cfg.Flow.ConsentTimeout.Duration)
	l := c.slog().Info().Str("counselor", st.counselor)
	if st.overridden {
		// The reason is a code from a fixed list (never free text).
		l = l.Bool("override", true).Str("override_reason", st.override).Strs("failing_checks", failing)
	}
	l.Msg("session opened")
}
