package ui

import (
	"fmt"
	"strconv"

	"roomkiosk/internal/room"
)

// Family sessions with children (issue 24): the participants screen with
// adults and children, and the consent screen's looks for a guardian and
// for a child.

// RoleText returns the text the consent screen shows the current turn's
// role and its language: the guardian agreement, the child's assent, or
// the recording agreement (AgreementText).
func RoleText(s room.Snapshot) (lang, text string) {
	var a *room.Agreement
	switch kind, _, _ := room.ParseRole(s.ConsentRole); kind {
	case "guardian":
		a = s.Guardian
	case "assent":
		a = s.Assent
	default:
		return AgreementText(s)
	}
	if a == nil {
		return s.Language, ""
	}
	return AgreementText(room.Snapshot{Language: s.Language, Languages: s.Languages, Agreement: *a})
}

// consentLook is what differs between the adult's, the guardian's and the
// child's consent screens; the paging and its no-skip rule are the same.
type consentLook struct {
	title, sub, yes, no, readAll Msg
	kv                           []string // for title and sub
	size                         float64  // text size
	mic                          bool     // the microphone picture, for a child
}

func (b *builder) consentLook(turn int) consentLook {
	s := b.in.Snap
	l := consentLook{title: "consent.title", sub: "consent.sub", yes: "consent.yes", no: "consent.no", readAll: "consent.readall",
		kv: []string{"n", strconv.Itoa(turn), "total", strconv.Itoa(max(s.Participants, turn))}, size: 19}
	if s.Children == 0 || s.ConsentRole == "" {
		return l // as before family sessions
	}
	kind, child, _ := room.ParseRole(s.ConsentRole)
	switch kind {
	case "adult":
		l.title = "consent.title.adult"
		l.kv = []string{"n", strconv.Itoa(turn), "total", strconv.Itoa(s.Participants - s.Children)}
	case "guardian":
		l.title, l.sub, l.yes = "consent.title.guardian", "consent.sub.guardian", "consent.guardian.yes"
		l.kv = []string{"n", strconv.Itoa(child)}
	case "assent":
		// Written for a child: short, large, with a picture of what it is
		// about.
		l.title, l.sub, l.yes, l.no, l.readAll = "assent.title", "assent.sub", "assent.yes", "assent.no", "assent.readall"
		l.kv = []string{"n", strconv.Itoa(child)}
		l.size, l.mic = 24, true
	}
	return l
}

// microphone draws a simple microphone: a capsule on a stand.
func (b *builder) microphone(cx, cy float64) {
	b.fill(R(cx-11, cy-20, 22, 32), ColRec, 11)
	b.ring(cx, cy, 16, 3, ColText)
	b.fill(R(cx-2, cy+16, 4, 8), ColText, 0)
	b.fill(R(cx-10, cy+23, 20, 3), ColText, 1)
}

// familyParticipants is the participants screen of a room with guardian
// and assent texts: the counselor sets how many children (a local count)
// and then taps the number of adults, which sends both.
func (b *builder) familyParticipants() {
	s := b.in.Snap
	b.sc.Name = "participants"
	age := strconv.Itoa(s.MinorAge)
	b.header("participants.title", 744)
	b.msg(R(28, 62, 744, 50), ColMuted, TextStyle{Size: 19, MinSize: 12, Wrap: true, Top: true}, "participants.sub.family", "age", age)
	kids := min(max(b.in.Local.Children, 0), room.MaxParticipants-1)
	b.sc.Local.Children = kids

	// Children: a stepper.
	b.msg(R(28, 128, 300, 64), ColText, TextStyle{Size: 24, MinSize: 13, Bold: true, Wrap: true}, "participants.children", "age", age)
	st := TextStyle{Size: 44, MinSize: 24, Bold: true, Align: AlignCenter}
	b.buttonText("children-less", R(340, 122, 96, 76), btnSecondary, kids > 0, st, nil, LocalChildLess, "−", "")
	b.text(R(444, 122, 96, 76), ColText, st, strconv.Itoa(kids))
	b.buttonText("children-more", R(548, 122, 96, 76), btnSecondary, kids < room.MaxParticipants-1, st, nil, LocalChildMore, "+", "")

	// Adults: a tap sends the counts.
	b.msg(R(28, 210, 744, 34), ColText, TextStyle{Size: 24, MinSize: 13, Bold: true}, "participants.adults")
	const w, gap = 96.0, 12.0
	x0 := (Width - (7*w + 6*gap)) / 2
	for n := 0; n <= room.MaxParticipants; n++ {
		r := R(x0+float64(n)*(w+gap), 250, w, 120)
		total := n + kids
		ok := total >= 1 && total <= room.MaxParticipants
		b.buttonText(fmt.Sprintf("participants-%d", n), r, btnSecondary, ok, TextStyle{Size: 56, MinSize: 28, Bold: true, Align: AlignCenter},
			&room.Intent{Kind: room.IntentParticipants, Count: total, Children: kids}, LocalNone, strconv.Itoa(n), "")
	}
	b.button("cancel", R(28, 396, 180, 64), btnGhost, true, TextStyle{}, &room.Intent{Kind: room.IntentCancel}, LocalNone, "participants.back")
}
