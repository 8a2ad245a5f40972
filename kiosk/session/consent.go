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
	if in.Count < 1 || in.Count > room.MaxParticipants {
		return c.refuse(in, room.ErrInvalid, "participants must be 1 to %d, not %d", room.MaxParticipants, in.Count)
	}
	st.sess.participants = in.Count
	st.step = room.StepRecordChoice
	c.touch()
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
	want, err := c.checkAgreementShown(in)
	if err != nil {
		return err
	}
	s.decisions = append(s.decisions, room.Decision{
		Participant: in.Participant, Consented: in.Yes, Language: in.Language,
		TextSHA256: want, At: c.now(), Pages: in.Pages, PagesSeen: in.PagesSeen,
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
	if s.turn < s.participants {
		s.turn++
		return nil
	}
	s.turn = 0
	c.startRecording()
	c.enterSession()
	return nil
}

// checkAgreementShown checks that a consent intent names the agreement text
// this room shows in that language, and that a yes saw every page. It
// returns the text's hash.
func (c *Core) checkAgreementShown(in room.Intent) (string, error) {
	want, ok := c.textHash[in.Language]
	if !ok || !slices.Contains(c.cfg.Room.Languages, in.Language) {
		return "", c.refuse(in, room.ErrInvalid, "no agreement text in language %q", in.Language)
	}
	if !strings.EqualFold(in.TextSHA256, want) {
		return "", c.refuse(in, room.ErrInvalid, "the agreement text shown (sha256 %q) is not agreement %s in %q", in.TextSHA256, c.cfg.Agreement.ID, in.Language)
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
