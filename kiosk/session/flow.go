package session

import (
	"slices"
	"strings"

	"roomkiosk/internal/room"
)

func (c *Core) applyLanguage(in room.Intent) error {
	if !slices.Contains(c.cfg.Room.Languages, in.Language) {
		return c.refuse(in, room.ErrInvalid, "language %q is not one of this room's (%s)", in.Language, strings.Join(c.cfg.Room.Languages, ", "))
	}
	c.st.lang = in.Language
	c.touch()
	return nil
}

// applyCancel leaves a screen before a session began (or the end PIN pad).
func (c *Core) applyCancel(in room.Intent) error {
	st := &c.st
	switch st.step {
	case room.StepPIN, room.StepMaintenancePIN, room.StepChecklist, room.StepMaintenance:
		c.toDoor()
	case room.StepParticipants, room.StepRecordChoice, room.StepConsent:
		c.slog().Info().Str("step", string(st.step)).Msg("session cancelled before it began; nothing recorded")
		c.closeSession(0, true)
	case room.StepEndPIN:
		c.closePINPad()
		st.step = room.StepInSession
	default:
		return c.wrongStep(in)
	}
	return nil
}
