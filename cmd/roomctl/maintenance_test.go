package main

import (
	"testing"
	"time"

	"roomkiosk/internal/room"
	"roomkiosk/sync/layout"
)

func TestMaintenanceColumns(t *testing.T) {
	now := time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name                  string
		st                    layout.Status
		maint, problems, held string
	}{
		{"nothing", layout.Status{}, "-", "-", "-"},
		{"all", layout.Status{
			LastMaintenance:  &room.MaintenanceEntry{At: now.Add(-26 * time.Hour), Action: room.ActionMicReplaced, Technician: "t-1"},
			ReportedProblems: []room.ProblemReport{{Problem: room.ProblemAudio}, {Problem: room.ProblemDoor}},
			HeldWaiting:      2,
		}, "microphone_replaced by t-1 26h0m0s ago", "audio,door_lock", "2 WAIT FOR A DECISION"},
	} {
		m, p, h := maintenanceColumns(&tc.st, now)
		if m != tc.maint || p != tc.problems || h != tc.held {
			t.Errorf("%s: %q %q %q", tc.name, m, p, h)
		}
	}
}
