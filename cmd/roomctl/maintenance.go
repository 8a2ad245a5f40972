package main

import (
	"fmt"
	"strings"
	"time"

	"roomkiosk/sync/layout"
)

// maintenanceColumns are roomctl status's last three columns: the last
// technician's entry (action, technician id, how long ago), the reported
// problems no technician has cleared, and how many withdrawn recordings
// wait on the device for their counselor's keep-or-delete choice. Codes
// and ids only: ParseStatus refused anything else.
func maintenanceColumns(st *layout.Status, now time.Time) (maint, problems, held string) {
	maint, problems, held = "-", "-", "-"
	if m := st.LastMaintenance; m != nil {
		maint = esc(m.Action)
		if m.Technician != "" {
			maint += " by " + esc(m.Technician)
		}
		maint += " " + now.Sub(m.At).Round(time.Minute).String() + " ago"
	}
	if len(st.ReportedProblems) > 0 {
		codes := make([]string, len(st.ReportedProblems))
		for i, p := range st.ReportedProblems {
			codes[i] = esc(p.Problem)
		}
		problems = strings.Join(codes, ",")
	}
	if st.HeldWaiting > 0 {
		held = fmt.Sprintf("%d WAIT FOR A DECISION", st.HeldWaiting)
	}
	return maint, problems, held
}
