package session

import (
	"slices"
	"strings"

	"roomkiosk/internal/room"
)

func (c *Core) applyParticipants(in room.Intent) error {
	st := &c.st
	if st.step != room.StepParticipants {
		return c.wrongStep(in)
	}
	if err := room.CheckFamily(in.Count, in.Children); err != nil {
		return c.refuse(in, room.ErrInvalid, "%v", err)
	}
	if in.Children > 0 && !c.cfg.Consent.Family() {
		return c.refuse(in, room.ErrInvalid, "this room has no guardian and assent texts (consent.guardian, consent.assent): it records no session with children")
	}
	st.sess.participants, st.sess.children = in.Count, in.Children
	c.touch()
	if in.Children == in.Count {
		c.noGuardian()
		return nil
	}
	st.step = room.StepRecordChoice
	return nil
}

// applyRecord is the counselor's choice to record; yes asks for consent.
func (c *Core) applyRecord(in room.Intent) error {
	st := &c.st
	if st.step != room.StepRecordChoice {
		return c.wrongStep(in)
	}
	s := st.sess
	s.want = in.Yes
	if !in.Yes {
		s.message, s.notice = msgNotRecordedChoice, room.NoticeNotRecordedChoice
		c.slog().Info().Msg("session not recorded: counselor's choice")
		c.enterSession()
		return nil
	}
	s.turn = 1
	st.step = room.StepConsent
	c.touch()
	return nil
}

// applyConsent takes one participant's decision on the agreement; the last
// yes starts the recording, any no ends the asking.
func (c *Core) applyConsent(in room.Intent) error {
	st := &c.st
	if st.step != room.StepConsent {
		return c.wrongStep(in)
	}
	s := st.sess
	if in.Participant != s.turn {
		return c.refuse(in, room.ErrInvalid, "it is participant %d's turn, not %d's", s.turn, in.Participant)
	}
	role := s.turnRole()
	if in.Role != "" && in.Role != role {
		return c.refuse(in, room.ErrInvalid, "turn %d is the %s's, not the %s's", s.turn, role, in.Role)
	}
	want, err := c.checkAgreementShown(in, role)
	if err != nil {
		return err
	}
	ag, _ := c.agreementFor(role)
	s.decisions = append(s.decisions, room.Decision{
		Participant: in.Participant, Consented: in.Yes, Language: in.Language,
		TextSHA256: want, At: c.now(), Pages: in.Pages, PagesSeen: in.PagesSeen,
		Role: role, AgreementID: ag.ID,
	})
	c.touch()
	if !in.Yes {
		// Stop asking the rest; the room is told only that it is
		// not recorded, never who declined.
		s.declined = true
		s.turn = 0
		s.message, s.notice = msgNotRecordedDeclined, room.NoticeNotRecordedDeclined
		c.slog().Info().Msg("session not recorded: consent declined")
		c.enterSession()
		return nil
	}
	if s.turn < s.turns() {
		s.turn++
		return nil
	}
	s.turn = 0
	c.startRecording()
	c.enterSession()
	return nil
}

// checkAgreementShown checks that a consent intent names the text this
// room shows the role in that language (the recording agreement, the
// guardian agreement or the child's assent), and that a yes saw every page.
// It returns the text's hash.
func (c *Core) checkAgreementShown(in room.Intent, role string) (string, error) {
	ag, hashes := c.agreementFor(role)
	want, ok := hashes[in.Language]
	if !ok || !slices.Contains(c.cfg.Room.Languages, in.Language) {
		return "", c.refuse(in, room.ErrInvalid, "no agreement text in language %q", in.Language)
	}
	if !strings.EqualFold(in.TextSHA256, want) {
		return "", c.refuse(in, room.ErrInvalid, "the agreement text shown (sha256 %q) is not agreement %s in %q", in.TextSHA256, ag.ID, in.Language)
	}
	// Pages as the screen laid them out; the record keeps what it says.
	if in.Pages < 0 || in.PagesSeen < 0 || in.PagesSeen > in.Pages {
		return "", c.refuse(in, room.ErrInvalid, "pages seen %d of %d is impossible", in.PagesSeen, in.Pages)
	}
	if in.Yes && in.PagesSeen < in.Pages {
		return "", c.refuse(in, room.ErrInvalid, "agreeing needs every page of the agreement seen (%d of %d)", in.PagesSeen, in.Pages)
	}
	return want, nil
}

// enterSession moves to the in-session screen (recorded or not).
func (c *Core) enterSession() {
	c.stopTimer(timerStep)
	c.st.step = room.StepInSession
}
