// Package uitest holds snapshots that bring the screen to every scene in
// every state worth drawing, for layout tests, renders and golden images.
package uitest

import (
	"strings"
	"time"

	"roomkiosk/internal/room"
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
func Checks(blocked bool) []room.CheckResult {
	door := room.CheckResult{Name: "door", State: room.CheckGood, Value: "closed", Required: true, At: Now}
	if blocked {
		door = room.CheckResult{Name: "door", State: room.CheckAbnormal, Value: "open", Required: true,
			Hint: "Close the door; the session cannot start with the door open", At: Now}
	}
	return []room.CheckResult{
		{Name: "temperature", State: room.CheckGood, Value: "22.4 °C", Threshold: "18-26 °C", At: Now},
		{Name: "humidity", State: room.CheckGood, Value: "45 %RH", Threshold: "30-70 %RH", At: Now},
		{Name: "light", State: room.CheckAbnormal, Value: "120 lx", Threshold: ">= 300 lx", Hint: "Turn on the ceiling light or open the blinds", At: Now},
		door,
		{Name: "microphone", State: room.CheckGood, Value: "-42 dBFS", Required: true, At: Now},
		{Name: "storage", State: room.CheckGood, Value: "41.2 GB free", Required: true, At: Now},
		{Name: "upload", State: room.CheckUnknown, Hint: "Storage server not reached yet; recordings wait on the device", At: Now},
		{Name: "clock", State: room.CheckGood, Value: "skew 0.2 s", At: Now},
	}
}

// MoreChecks adds checks reported without a value, as the runner may.
func MoreChecks() []room.CheckResult {
	return []room.CheckResult{
		{Name: "presence", State: room.CheckGood, At: Now},
		{Name: "network", State: room.CheckAbnormal, Hint: "Check the network cable", At: Now},
		{Name: "door", State: room.CheckUnknown, Required: true, At: Now},
	}
}

func base(lang string) room.Snapshot {
	return room.Snapshot{
		Seq: 7, At: Now, RoomID: "dev-101", RoomName: "Room 101 · Family counseling",
		Door: room.DoorFree, Recorder: room.RecorderIdle, Step: room.StepDoor,
		Language: lang, Languages: []string{"en", "zh"},
		Checks: Checks(false),
		ManualItems: []room.ManualItem{
			{ID: "m1", Text: "Room tidy"},
			{ID: "m2", Text: "Tissues and water ready", Checked: true},
			{ID: "m3", Text: "Sockets and floor safe"},
		},
		Agreement: room.Agreement{ID: "rec-2026-01", Texts: map[string]string{"en": AgreementEN, "zh": AgreementZH}},
	}
}

func inSession(s room.Snapshot) room.Snapshot {
	s.Door = room.DoorInSession
	s.SessionID = "20260312T135130Z-3fa9c1"
	s.SessionStarted = Now.Add(-16 * time.Minute)
	s.Participants = 2
	return s
}

// Case is a named snapshot.
type Case struct {
	Name string
	Snap room.Snapshot
}

// Cases returns every fixture in lang.
func Cases(lang string) []Case {
	var cs []Case
	add := func(name string, f func(s *room.Snapshot)) {
		s := base(lang)
		f(&s)
		cs = append(cs, Case{name, s})
	}
	add("door", func(s *room.Snapshot) {})
	add("door-nochecks", func(s *room.Snapshot) { s.Checks = nil })
	add("door-allgood", func(s *room.Snapshot) {
		for i := range s.Checks {
			s.Checks[i].State = room.CheckGood
		}
	})
	add("door-out", func(s *room.Snapshot) { s.Door = room.DoorOutOfService; s.Checks = Checks(true) })
	add("door-insession", func(s *room.Snapshot) { *s = inSession(*s); s.Step = room.StepDoor; s.Recording = true })
	add("pin", func(s *room.Snapshot) { s.Step = room.StepPIN; s.PINDigits = 3 })
	add("pin-wrong", func(s *room.Snapshot) { s.Step = room.StepPIN; s.PINError = "wrong PIN" })
	add("pin-checking", func(s *room.Snapshot) { s.Step = room.StepPIN; s.PINChecking = true })
	add("pin-locked", func(s *room.Snapshot) {
		s.Step = room.StepPIN
		s.PINError = "wrong PIN"
		s.LockedUntil = Now.Add(4*time.Minute + 31*time.Second)
	})
	add("end-pin", func(s *room.Snapshot) { *s = inSession(*s); s.Step = room.StepEndPIN; s.PINDigits = 1 })
	add("maintenance-pin", func(s *room.Snapshot) { s.Step = room.StepMaintenancePIN })
	add("checklist", func(s *room.Snapshot) { s.Step = room.StepChecklist })
	add("checklist-ready", func(s *room.Snapshot) {
		s.Step = room.StepChecklist
		for i := range s.ManualItems {
			s.ManualItems[i].Checked = true
		}
	})
	add("checklist-blocked", func(s *room.Snapshot) { s.Step = room.StepChecklist; s.Checks = Checks(true); s.Blocked = true })
	add("checklist-empty", func(s *room.Snapshot) { s.Step = room.StepChecklist; s.Checks = nil })
	add("participants", func(s *room.Snapshot) { s.Step = room.StepParticipants })
	add("record", func(s *room.Snapshot) {
		*s = inSession(*s)
		s.Door = room.DoorFree
		s.Step = room.StepRecordChoice
	})
	add("consent", func(s *room.Snapshot) {
		*s = inSession(*s)
		s.Door = room.DoorFree
		s.Step = room.StepConsent
		s.WantRecording = true
		s.ConsentTurn = 2
	})
	add("consent-long", func(s *room.Snapshot) {
		// An agreement of several pages in every language: "I agree" waits
		// for the last one.
		*s = inSession(*s)
		s.Door = room.DoorFree
		s.Step = room.StepConsent
		s.WantRecording = true
		s.ConsentTurn = 1
		s.Agreement.Texts = map[string]string{"en": strings.Repeat(AgreementEN+"\n", 3), "zh": strings.Repeat(AgreementZH+"\n", 3)}
	})
	add("session-recording", func(s *room.Snapshot) {
		*s = inSession(*s)
		s.Step = room.StepInSession
		s.WantRecording, s.Recorded, s.Recording = true, true, true
		s.Recorder = room.RecorderRecording
		s.Level = room.Level{RMSdBFS: -24, PeakdBFS: -9}
	})
	add("session-alerts", func(s *room.Snapshot) {
		*s = inSession(*s)
		s.Step = room.StepInSession
		s.WantRecording, s.Recorded = true, true
		s.Recorder = room.RecorderFault
		s.SessionStarted = Now.Add(-(1*time.Hour + 52*time.Minute))
		s.Alerts = []room.Alert{{Code: "mic_lost", Since: Now}, {Code: "disk_low", Since: Now}, {Code: "max_length_near", Since: Now}}
	})
	add("session-starting", func(s *room.Snapshot) {
		*s = inSession(*s)
		s.Step = room.StepInSession
		s.WantRecording, s.Recorded = true, true
		s.Recorder = room.RecorderStarting
		s.Alerts = []room.Alert{{Code: "mic_silent", Since: Now}, {Code: "upload_failing", Since: Now}, {Code: "something_new", Since: Now}}
	})
	add("session-stopped", func(s *room.Snapshot) {
		*s = inSession(*s)
		s.Step = room.StepInSession
		s.WantRecording, s.Recorded = true, true
		s.Recorder = room.RecorderStopped
		s.OverrideNote = "Required checks overridden by the counselor."
		s.Alerts = []room.Alert{{Code: "max_length_reached", Since: Now}, {Code: "recorder_failed", Since: Now}}
	})
	for _, n := range []struct{ name, notice string }{
		{"session-declined", room.NoticeNotRecordedDeclined},
		{"session-choice", room.NoticeNotRecordedChoice},
		{"session-failed", room.NoticeRecorderFailed},
		{"session-withdrawn", room.NoticeWithdrawn},
		{"session-maxlen", room.NoticeMaxLength},
		{"session-recstopped", room.NoticeRecorderStopped},
	} {
		add(n.name, func(s *room.Snapshot) {
			*s = inSession(*s)
			s.Step = room.StepInSession
			s.Notice = n.notice
			s.Withdrawn = n.notice == room.NoticeWithdrawn
		})
	}
	add("session-unrecorded", func(s *room.Snapshot) { *s = inSession(*s); s.Step = room.StepInSession })
	add("session-resumed", func(s *room.Snapshot) {
		*s = inSession(*s)
		s.Step = room.StepInSession
		s.WantRecording, s.Recorded, s.Recording = true, true, true
		s.Recorder = room.RecorderRecording
		s.Notice, s.ResumedGap = room.NoticeRecordingResumed, 74*time.Second
		s.Alerts = []room.Alert{{Code: "spool_write_failed", Since: Now}, {Code: "keep_failed", Since: Now}}
	})
	add("withdraw", func(s *room.Snapshot) {
		*s = inSession(*s)
		s.Step = room.StepWithdrawChoice
		s.Recorded, s.Withdrawn = true, true
		s.Recorder = room.RecorderStopped
	})
	add("feedback", func(s *room.Snapshot) {
		*s = inSession(*s)
		s.Door = room.DoorFree
		s.Step = room.StepFeedback
	})
	add("maintenance", func(s *room.Snapshot) {
		s.Step = room.StepMaintenance
		s.Checks = Checks(true)
		s.Alerts = []room.Alert{{Code: "disk_low", Since: Now}}
	})
	add("maintenance-ok", func(s *room.Snapshot) { s.Step = room.StepMaintenance; s.Checks = Checks(false)[:2] })
	add("maintenance-logged-faults", func(s *room.Snapshot) {
		s.Step = room.StepMaintenance
		s.Faults = []room.Fault{
			{At: Now, Check: "cpu_temperature", State: room.CheckAbnormal, Value: "83 °C"},
			{At: Now.Add(-time.Hour), Check: "memory", State: room.CheckUnknown},
			{At: Now.Add(-26 * time.Hour), Check: "backlog", State: room.CheckAbnormal, Value: "41 waiting"},
		}
	})
	add("checklist-novalues", func(s *room.Snapshot) { s.Step = room.StepChecklist; s.Checks = MoreChecks() })
	bookingCases(add)
	familyCases(add)                           // family.go
	cs = append(cs, maintenanceCases(lang)...) // maintenance.go
	return cs
}
