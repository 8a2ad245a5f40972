package uitest

import (
	"time"

	"roomkiosk/internal/room"
)

// maintenanceCases are the fixtures of issue 16's screens: the technician's
// maintenance screen, a held recording to settle, and the feedback screen's
// problem reports.
func maintenanceCases(lang string) []Case {
	var cs []Case
	add := func(name string, f func(s *room.Snapshot)) {
		s := base(lang)
		f(&s)
		cs = append(cs, Case{name, s})
	}
	reported := room.CheckResult{Name: room.CheckReportedProblem, State: room.CheckAbnormal, Value: "audio, door_lock", Threshold: "none open",
		Hint: "A technician checks it and clears it here", At: Now}
	problems := []room.ProblemReport{{At: Now, Problem: room.ProblemAudio}, {At: Now, Problem: room.ProblemDoor}, {At: Now, Problem: room.ProblemClimate}}
	add("maintenance-technician", func(s *room.Snapshot) {
		s.Step = room.StepMaintenance
		s.Technician = true
		s.Checks = append(Checks(false)[:5], reported)
		s.Problems = problems
		s.HeldWaiting = 1
		s.LastMaintenance = &room.MaintenanceEntry{At: Now.Add(-50 * time.Hour), Action: room.ActionMicReplaced, Technician: "t-1"}
	})
	add("maintenance-technician-new", func(s *room.Snapshot) {
		s.Step = room.StepMaintenance
		s.Technician = true
		s.Checks = Checks(false)
	})
	add("maintenance-held", func(s *room.Snapshot) {
		s.Step = room.StepMaintenance
		s.Checks = append(Checks(true), reported)
		s.Problems = problems[:2]
		s.HeldWaiting = 2
	})
	add("feedback-reported", func(s *room.Snapshot) {
		*s = inSession(*s)
		s.Door = room.DoorFree
		s.Step = room.StepFeedback
		s.ProblemsReported = []string{room.ProblemAudio, room.ProblemDoor}
	})
	return cs
}
