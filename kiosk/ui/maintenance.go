package ui

import (
	"strconv"
	"strings"

	"roomkiosk/internal/room"
)

// problemReports is the feedback screen's row of one-tap problem reports
// (fixed codes, never text). A reported problem's button is spent.
func (b *builder) problemReports() {
	s := b.in.Snap
	label := Msg("feedback.problem")
	if len(s.ProblemsReported) > 0 {
		label = "feedback.problem.sent"
	}
	b.msg(R(240, 340, 544, 34), ColMuted, TextStyle{Size: 19, MinSize: 11}, label)
	const w, gap = 104.0, 6.0
	for i, code := range room.ProblemCodes() {
		done := false
		for _, r := range s.ProblemsReported {
			done = done || r == code
		}
		b.button("problem-"+code, R(240+float64(i)*(w+gap), 380, w, 80), btnGhost, !done,
			TextStyle{Size: 18, MinSize: 11, Bold: true, Align: AlignCenter, Wrap: true},
			&room.Intent{Kind: room.IntentReportProblem, Reason: code}, LocalNone, Msg("problem."+code))
	}
}

// maintenanceChecks draws the checks panel of the maintenance variants.
func (b *builder) maintenanceChecks(r Rect) {
	s := b.in.Snap
	b.fill(r, ColPanel, 14)
	b.msg(R(r.X+16, r.Y+6, r.W-32, 26), ColMuted, TextStyle{Size: 17, MinSize: 11}, "maint.checks")
	if len(s.Checks) == 0 {
		b.msg(R(r.X+16, r.Y+40, r.W-32, 36), ColMuted, TextStyle{Size: 20, MinSize: 12}, "check.none")
	}
	checks := make([]room.CheckResult, len(s.Checks))
	for i, c := range s.Checks {
		if c.Name == room.CheckReportedProblem && c.State == room.CheckAbnormal {
			c.Value = b.problemList() // the codes, in the room's language
		} else if c.Threshold != "" && c.Value != "" {
			c.Value = c.Value + "  (" + c.Threshold + ")"
		}
		checks[i] = c
	}
	b.checkRows(R(r.X+12, r.Y+36, r.W-24, r.H-42), checks, 44)
}

// problemList is the open problems, translated, in one line.
func (b *builder) problemList() string {
	sep := ", "
	if b.lang == "zh" {
		sep = "、"
	}
	var names []string
	for _, p := range b.in.Snap.Problems {
		names = append(names, b.t(Msg("problem."+p.Problem)))
	}
	return strings.Join(names, sep)
}

// maintenanceTechnician is the maintenance screen opened with a
// technician's PIN: the checks, the actions to record, the last entry, the
// open problems and whether a recording waits for a counselor.
func (b *builder) maintenanceTechnician() {
	s := b.in.Snap
	b.sc.Name = "maintenance"
	b.header("maint.title", 560)
	b.text(R(600, 14, 176, 46), ColMuted, TextStyle{Size: 22, MinSize: 12, Align: AlignRight}, s.RoomName)
	b.maintenanceChecks(R(16, 68, 500, 396))

	right := R(528, 68, 256, 312)
	b.fill(right, ColPanel, 14)
	b.msg(R(right.X+14, right.Y+6, right.W-28, 26), ColMuted, TextStyle{Size: 17, MinSize: 11}, "maint.tech.record")
	const w, h, gap = 110.0, 54.0, 8.0
	for i, code := range room.MaintenanceActions() {
		r := R(right.X+14+float64(i%2)*(w+gap), right.Y+36+float64(i/2)*(h+6), w, h)
		b.button("action-"+code, r, btnSecondary, true, TextStyle{Size: 17, MinSize: 10, Bold: true, Align: AlignCenter, Wrap: true},
			&room.Intent{Kind: room.IntentMaintenanceAction, Reason: code}, LocalNone, Msg("action."+code))
	}
	y := right.Y + 218 // under the three rows of actions
	line := R(right.X+14, y, right.W-28, 26)
	st := TextStyle{Size: 16, MinSize: 9}
	if m := s.LastMaintenance; m != nil {
		b.msg(line, ColText, st, "maint.last", "action", b.t(Msg("action."+m.Action)), "when", m.At.Local().Format("01-02 15:04"))
	} else {
		b.msg(line, ColMuted, st, "maint.last.none")
	}
	line.Y += 28
	if len(s.Problems) > 0 {
		b.msg(line, ColBad, st, "maint.problems", "list", b.problemList())
	} else {
		b.msg(line, ColGood, st, "maint.problems.none")
	}
	line.Y += 28
	if s.HeldWaiting > 0 {
		b.msg(line, ColBusy, st, "maint.held.note")
	}
	b.button("maintenance-back", R(528, 392, 256, 72), btnSecondary, true, TextStyle{}, &room.Intent{Kind: room.IntentCancel}, LocalNone, "maint.back")
}

// maintenanceHeld is the counselor's maintenance screen while a withdrawn
// recording waits for its keep-or-delete choice (a restart came before
// it): the oldest one is settled here, one at a time. No id or time of the
// session is shown.
func (b *builder) maintenanceHeld() {
	s := b.in.Snap
	b.sc.Name = "maintenance"
	b.header("maint.title", 560)
	b.text(R(600, 14, 176, 46), ColMuted, TextStyle{Size: 22, MinSize: 12, Align: AlignRight}, s.RoomName)
	b.maintenanceChecks(R(16, 68, 500, 396))

	right := R(528, 68, 256, 312)
	b.fill(right, ColPanel, 14)
	b.msg(R(right.X+14, right.Y+8, right.W-28, 60), ColBusy, TextStyle{Size: 20, MinSize: 12, Bold: true, Wrap: true}, "maint.held.title")
	b.msg(R(right.X+14, right.Y+70, right.W-28, 26), ColMuted, TextStyle{Size: 16, MinSize: 10}, "maint.held.count", "n", strconv.Itoa(s.HeldWaiting))
	b.msg(R(right.X+14, right.Y+98, right.W-28, 130), ColText, TextStyle{Size: 16, MinSize: 10, Wrap: true}, "maint.held.sub")
	// Keeping is the client's own choice (the withdraw screen, handed to
	// them); the counselor can only delete sooner (issue 22).
	b.button("held-ask", R(right.X+14, right.Y+236, 108, 64), btnGood, true, TextStyle{Wrap: true}, &room.Intent{Kind: room.IntentHeldAsk}, LocalNone, "maint.held.ask")
	b.button("held-delete", R(right.X+134, right.Y+236, 108, 64), btnDanger, true, TextStyle{}, &room.Intent{Kind: room.IntentHeldDelete}, LocalNone, "maint.held.delete")
	b.button("maintenance-back", R(528, 392, 256, 72), btnSecondary, true, TextStyle{}, &room.Intent{Kind: room.IntentCancel}, LocalNone, "maint.back")
}
