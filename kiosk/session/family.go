package session

import (
	"errors"
	"fmt"
	"slices"

	"roomkiosk/internal/room"
)

// ConsentConfig is the [consent] section: family sessions with children
// (issue 24). A child is a participant under MinorAge. A child's
// recording needs a present adult's guardian agreement and the child's own
// assent, each a text of its own (one per room language, with its own
// id), like the recording agreement. Without these texts the room records
// no session with a child: the participants screen offers no children.
type ConsentConfig struct {
	MinorAge int             `toml:"minor_age"` // default 14
	Guardian AgreementConfig `toml:"guardian"`  // "I am this child's parent or legal guardian and I agree that ..."
	Assent   AgreementConfig `toml:"assent"`    // short sentences a child understands
}

// DefaultConsent returns the [consent] defaults (no texts: no family
// sessions until they are configured).
func DefaultConsent() ConsentConfig { return ConsentConfig{MinorAge: room.DefaultMinorAge} }

// Family reports whether the guardian and assent texts are configured.
func (c ConsentConfig) Family() bool { return c.Guardian.ID != "" || c.Assent.ID != "" }

// Validate checks the [consent] section against the room's languages and
// the recording agreement's id.
func (c ConsentConfig) Validate(languages []string, agreementID string) error {
	if c.MinorAge < 1 || c.MinorAge > 21 {
		return fmt.Errorf("consent.minor_age: %d is out of range (1 to 21; 13, 14 and 16 are common)", c.MinorAge)
	}
	if !c.Family() {
		return nil
	}
	if err := c.Guardian.validate("consent.guardian", languages); err != nil {
		return err
	}
	if err := c.Assent.validate("consent.assent", languages); err != nil {
		return err
	}
	if ids := []string{agreementID, c.Guardian.ID, c.Assent.ID}; len(slices.Compact(slices.Sorted(slices.Values(ids)))) != 3 {
		return errors.New("consent.guardian.id and consent.assent.id: must differ from each other and from agreement.id")
	}
	return nil
}

// adults is the open session's adults (participants less children).
func (s *sessionState) adults() int { return s.participants - s.children }

// turns is how many consent turns the open session asks.
func (s *sessionState) turns() int { return room.ConsentTurns(s.adults(), s.children) }

// turnRole is who answers the current turn.
func (s *sessionState) turnRole() string {
	r, _ := room.TurnRole(s.adults(), s.children, s.turn)
	return r
}

// agreementFor returns the agreement a role answers: its id and the hashes
// of its texts by language.
func (c *Core) agreementFor(role string) (AgreementConfig, map[string]string) {
	switch kind, _, _ := room.ParseRole(role); kind {
	case "guardian":
		return c.cfg.Consent.Guardian, c.guardianHash
	case "assent":
		return c.cfg.Consent.Assent, c.assentHash
	}
	return c.cfg.Agreement, c.textHash
}

// noGuardian: a child is present and no adult, so nobody can give a
// guardian's consent: the session goes on unrecorded.
func (c *Core) noGuardian() {
	s := c.st.sess
	s.message, s.notice = msgNotRecordedNoGuardian, room.NoticeNotRecordedNoGuardian
	c.slog().Info().Int("children", s.children).Msg("session not recorded: a child without an adult present")
	c.enterSession()
}

func hashTexts(texts map[string]string) map[string]string {
	out := map[string]string{}
	for l, t := range texts {
		out[l] = room.TextSHA256(t)
	}
	return out
}
