package uitest

import "roomkiosk/internal/room"

// The development config's guardian agreement and child's assent texts
// (configs/dev.toml, issue 24).
const GuardianEN = `Guardian agreement (version guardian-2026-01)

I am this child's parent or legal guardian. I have read the recording
agreement and I agree that this session, in which the child takes part, is
recorded as audio under it. I know that the child will also be asked, and
that the recording does not start if the child says no.
`

const GuardianZH = `监护人同意书（版本 guardian-2026-01）

我是这名儿童的父母或法定监护人。我已阅读录音同意书，同意本次有该儿童参加的
咨询按该同意书录音。我知道还会询问儿童本人，儿童说不，录音就不会开始。
`

const AssentEN = `We would like to record what we say today.

The recording helps your counselor do a good job. Only a few grown-ups at the
practice can listen to it. You can say no. If you say yes now, you can still
say stop at any time, and nobody will be cross.
`

const AssentZH = `我们想把今天说的话录下来。

录音能帮助咨询师做得更好。只有机构里很少几位大人能听。你可以说不。
现在说可以，以后也随时可以叫停，没有人会生气。
`

// family sets a snapshot of a room with guardian and assent texts.
func family(s *room.Snapshot) {
	s.MinorAge = 14
	s.Guardian = &room.Agreement{ID: "guardian-2026-01", Texts: map[string]string{"en": GuardianEN, "zh": GuardianZH}}
	s.Assent = &room.Agreement{ID: "assent-2026-01", Texts: map[string]string{"en": AssentEN, "zh": AssentZH}}
}

func familyCases(add func(string, func(*room.Snapshot))) {
	add("participants-family", func(s *room.Snapshot) { family(s); s.Step = room.StepParticipants })
	consent := func(turn int, role string) func(*room.Snapshot) {
		return func(s *room.Snapshot) {
			*s = inSession(*s)
			family(s)
			s.Door = room.DoorFree
			s.Step = room.StepConsent
			s.WantRecording = true
			s.Participants, s.Children = 3, 1
			s.ConsentTurn, s.ConsentRole, s.ConsentTurns = turn, role, 4
		}
	}
	add("consent-family-adult", consent(2, room.RoleAdult))
	add("consent-guardian", consent(3, room.RoleGuardian(1)))
	add("consent-assent", consent(4, room.RoleAssent(1)))
	add("consent-assent-long", func(s *room.Snapshot) {
		consent(4, room.RoleAssent(1))(s)
		s.Assent.Texts = map[string]string{"en": AssentEN + "\n" + AssentEN + "\n" + AssentEN, "zh": AssentZH + "\n" + AssentZH + "\n" + AssentZH}
	})
	add("session-noguardian", func(s *room.Snapshot) {
		*s = inSession(*s)
		family(s)
		s.Step = room.StepInSession
		s.Participants, s.Children = 1, 1
		s.Notice = room.NoticeNotRecordedNoGuardian
	})
	add("withdraw-family", func(s *room.Snapshot) {
		*s = inSession(*s)
		family(s)
		s.Step = room.StepWithdrawChoice
		s.Participants, s.Children = 3, 1
		s.Recorded, s.Withdrawn = true, true
		s.Recorder = room.RecorderStopped
	})
}
