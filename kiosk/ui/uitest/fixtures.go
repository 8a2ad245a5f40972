// Package uitest holds snapshots that bring the screen to every scene in
// every state worth drawing, for layout tests, renders and golden images.
package uitest

import (
	"time"

	"roomkiosk/kiosk/session"
)

// Now is the fixed time the fixtures are drawn at.
var Now = time.Date(2026, 3, 12, 14, 7, 30, 0, time.UTC)

// AgreementEN and AgreementZH are the development config's agreement texts.
const AgreementEN = `Recording agreement (version rec-2026-01)

This session may be recorded as audio to support the quality of your care and
the supervision of your counselor. The recording is encrypted on this device as
it is made; only the practice's authorised administrators can decrypt it. It is
kept according to the practice's retention policy and never shared without your
written permission, except where the law requires it.

Each person present must agree before recording starts. You may stop the
recording at any time by tapping "Stop recording", without giving a reason, and
choose whether what was recorded so far is kept or deleted.
`

const AgreementZH = `录音同意书（版本 rec-2026-01）

为保障服务质量和咨询师督导，本次咨询可能会进行录音。录音在本设备上即时加密，
只有机构授权的管理员才能解密。录音按机构的保存制度保管，未经您的书面许可不会
对外提供，法律另有规定的除外。

录音开始前，在场的每一位来访者都必须同意。您可以随时点击"停止录音"停止录音，
无需说明理由，并选择保留或删除已录制的内容。
`

// Checks is a full set of check results with one abnormal and one unknown.
func Checks(blocked bool) []session.CheckResult {
	door := session.CheckResult{Name: "door", State: session.CheckGood, Value: "closed", Required: true, At: Now}
	if blocked {
		door = session.CheckResult{Name: "door", State: session.CheckAbnormal, Value: "open", Required: true,
			Hint: "Close the door; the session cannot start with the door open", At: Now}
	}
	return []session.CheckResult{
		{Name: "temperature", State: session.CheckGood, Value: "22.4 °C", Threshold: "18-26 °C", At: Now},
		{Name: "humidity", State: session.CheckGood, Value: "45 %RH", Threshold: "30-70 %RH", At: Now},
		{Name: "light", State: session.CheckAbnormal, Value: "120 lx", Threshold: ">= 300 lx", Hint: "Turn on the ceiling light or open the blinds", At: Now},
		door,
		{Name: "microphone", State: session.CheckGood, Value: "-42 dBFS", Required: true, At: Now},
		{Name: "storage", State: session.CheckGood, Value: "41.2 GB free", Required: true, At: Now},
		{Name: "upload", State: session.CheckUnknown, Hint: "Storage server not reached yet; recordings wait on the device", At: Now},
		{Name: "clock", State: session.CheckGood, Value: "skew 0.2 s", At: Now},
	}
}

// MoreChecks adds checks reported without a value, as the runner may.
func MoreChecks() []session.CheckResult {
	return []session.CheckResult{
		{Name: "presence", State: session.CheckGood, At: Now},
		{Name: "network", State: session.CheckAbnormal, Hint: "Check the network cable", At: Now},
		{Name: "door", State: session.CheckUnknown, Required: true, At: Now},
	}
}

func base(lang string) session.Snapshot {
	return session.Snapshot{
		Seq: 7, At: Now, RoomID: "dev-101", RoomName: "Room 101 · Family counseling",
		Door: session.DoorFree, Recorder: session.RecorderIdle, Step: session.StepDoor,
		Language: lang, Languages: []string{"en", "zh"},
		Checks: Checks(false),
		ManualItems: []session.ManualItem{
			{ID: "m1", Text: "Room tidy"},
			{ID: "m2", Text: "Tissues and water ready", Checked: true},
			{ID: "m3", Text: "Sockets and floor safe"},
		},
		Agreement: session.Agreement{ID: "rec-2026-01", Texts: map[string]string{"en": AgreementEN, "zh": AgreementZH}},
	}
}

func inSession(s session.Snapshot) session.Snapshot {
	s.Door = session.DoorInSession
	s.SessionID = "20260312T135130Z-3fa9c1"
	s.SessionStarted = Now.Add(-16 * time.Minute)
	s.Participants = 2
	return s
}

// Case is a named snapshot.
type Case struct {
	Name string
	Snap session.Snapshot
}

// Cases returns every fixture in lang.
func Cases(lang string) []Case {
	var cs []Case
	add := func(name string, f func(s *session.Snapshot)) {
		s := base(lang)
		f(&s)
		cs = append(cs, Case{name, s})
	}
	add("door", func(s *session.Snapshot) {})
	add("door-nochecks", func(s *session.Snapshot) { s.Checks = nil })
	add("door-allgood", func(s *session.Snapshot) {
		for i := range s.Checks {
			s.Checks[i].State = session.CheckGood
		}
	})
	add("door-out", func(s *session.Snapshot) { s.Door = session.DoorOutOfService; s.Checks = Checks(true) })
	add("door-insession", func(s *session.Snapshot) { *s = inSession(*s); s.Step = session.StepDoor; s.Recording = true })
	add("pin", func(s *session.Snapshot) { s.Step = session.StepPIN; s.PINDigits = 3 })
	add("pin-wrong", func(s *session.Snapshot) { s.Step = session.StepPIN; s.PINError = "wrong PIN" })
	add("pin-locked", func(s *session.Snapshot) {
		s.Step = session.StepPIN
		s.PINError = "wrong PIN"
		s.LockedUntil = Now.Add(4*time.Minute + 31*time.Second)
	})
	add("end-pin", func(s *session.Snapshot) { *s = inSession(*s); s.Step = session.StepEndPIN; s.PINDigits = 1 })
	add("maintenance-pin", func(s *session.Snapshot) { s.Step = session.StepMaintenancePIN })
	add("checklist", func(s *session.Snapshot) { s.Step = session.StepChecklist })
	add("checklist-ready", func(s *session.Snapshot) {
		s.Step = session.StepChecklist
		for i := range s.ManualItems {
			s.ManualItems[i].Checked = true
		}
	})
	add("checklist-blocked", func(s *session.Snapshot) { s.Step = session.StepChecklist; s.Checks = Checks(true); s.Blocked = true })
	add("checklist-empty", func(s *session.Snapshot) { s.Step = session.StepChecklist; s.Checks = nil })
	add("participants", func(s *session.Snapshot) { s.Step = session.StepParticipants })
	add("record", func(s *session.Snapshot) {
		*s = inSession(*s)
		s.Door = session.DoorFree
		s.Step = session.StepRecordChoice
	})
	add("consent", func(s *session.Snapshot) {
		*s = inSession(*s)
		s.Door = session.DoorFree
		s.Step = session.StepConsent
		s.WantRecording = true
		s.ConsentTurn = 2
	})
	add("session-recording", func(s *session.Snapshot) {
		*s = inSession(*s)
		s.Step = session.StepInSession
		s.WantRecording, s.Recorded, s.Recording = true, true, true
		s.Recorder = session.RecorderRecording
		s.Level = session.Level{RMSdBFS: -24, PeakdBFS: -9}
	})
	add("session-alerts", func(s *session.Snapshot) {
		*s = inSession(*s)
		s.Step = session.StepInSession
		s.WantRecording, s.Recorded = true, true
		s.Recorder = session.RecorderFault
		s.SessionStarted = Now.Add(-(1*time.Hour + 52*time.Minute))
		s.Alerts = []session.Alert{{Code: "mic_lost", Since: Now}, {Code: "disk_low", Since: Now}, {Code: "max_length_near", Since: Now}}
	})
	add("session-starting", func(s *session.Snapshot) {
		*s = inSession(*s)
		s.Step = session.StepInSession
		s.WantRecording, s.Recorded = true, true
		s.Recorder = session.RecorderStarting
		s.Alerts = []session.Alert{{Code: "mic_silent", Since: Now}, {Code: "upload_failing", Since: Now}, {Code: "something_new", Since: Now}}
	})
	add("session-stopped", func(s *session.Snapshot) {
		*s = inSession(*s)
		s.Step = session.StepInSession
		s.WantRecording, s.Recorded = true, true
		s.Recorder = session.RecorderStopped
		s.OverrideNote = "Required checks overridden by the counselor."
		s.Alerts = []session.Alert{{Code: "max_length_reached", Since: Now}, {Code: "recorder_failed", Since: Now}}
	})
	for _, n := range []struct{ name, notice string }{
		{"session-declined", session.NoticeNotRecordedDeclined},
		{"session-choice", session.NoticeNotRecordedChoice},
		{"session-failed", session.NoticeRecorderFailed},
		{"session-withdrawn", session.NoticeWithdrawn},
		{"session-maxlen", session.NoticeMaxLength},
		{"session-recstopped", session.NoticeRecorderStopped},
	} {
		add(n.name, func(s *session.Snapshot) {
			*s = inSession(*s)
			s.Step = session.StepInSession
			s.Notice = n.notice
			s.Withdrawn = n.notice == session.NoticeWithdrawn
		})
	}
	add("session-unrecorded", func(s *session.Snapshot) { *s = inSession(*s); s.Step = session.StepInSession })
	add("withdraw", func(s *session.Snapshot) {
		*s = inSession(*s)
		s.Step = session.StepWithdrawChoice
		s.Recorded, s.Withdrawn = true, true
		s.Recorder = session.RecorderStopped
	})
	add("feedback", func(s *session.Snapshot) {
		*s = inSession(*s)
		s.Door = session.DoorFree
		s.Step = session.StepFeedback
	})
	add("maintenance", func(s *session.Snapshot) {
		s.Step = session.StepMaintenance
		s.Checks = Checks(true)
		s.Alerts = []session.Alert{{Code: "disk_low", Since: Now}}
	})
	add("maintenance-ok", func(s *session.Snapshot) { s.Step = session.StepMaintenance; s.Checks = Checks(false)[:2] })
	add("maintenance-logged-faults", func(s *session.Snapshot) {
		s.Step = session.StepMaintenance
		s.Faults = []session.Fault{
			{At: Now, Check: "cpu_temperature", State: session.CheckAbnormal, Value: "83 °C"},
			{At: Now.Add(-time.Hour), Check: "memory", State: session.CheckUnknown},
			{At: Now.Add(-26 * time.Hour), Check: "backlog", State: session.CheckAbnormal, Value: "41 waiting"},
		}
	})
	add("checklist-novalues", func(s *session.Snapshot) { s.Step = session.StepChecklist; s.Checks = MoreChecks() })
	return cs
}
