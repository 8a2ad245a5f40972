package upload

import (
	"testing"
	"time"

	"roomkiosk/internal/room"
)

// TestSameMaintenance: a technician's entry, a problem report or a change
// in held recordings puts status.json at once.
func TestSameMaintenance(t *testing.T) {
	at := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	base := room.Snapshot{Door: room.DoorFree}
	withEntry := base
	withEntry.LastMaintenance = &room.MaintenanceEntry{At: at, Action: room.ActionCleaned}
	laterEntry := base
	laterEntry.LastMaintenance = &room.MaintenanceEntry{At: at.Add(time.Minute), Action: room.ActionCleaned}
	sameEntry := base
	sameEntry.LastMaintenance = &room.MaintenanceEntry{At: at, Action: room.ActionCleaned, Technician: "t-1"}
	withProblem := base
	withProblem.Problems = []room.ProblemReport{{At: at, Problem: room.ProblemAudio}}
	otherProblem := base
	otherProblem.Problems = []room.ProblemReport{{At: at, Problem: room.ProblemScreen}}
	withHeld := base
	withHeld.HeldWaiting = 1
	for _, tc := range []struct {
		name string
		a, b room.Snapshot
		same bool
	}{
		{"nothing", base, base, true},
		{"first entry", base, withEntry, false},
		{"a later entry", withEntry, laterEntry, false},
		{"the same entry", withEntry, sameEntry, true},
		{"a report", base, withProblem, false},
		{"another problem", withProblem, otherProblem, false},
		{"a held recording", base, withHeld, false},
	} {
		if got := sameMaintenance(tc.a, tc.b); got != tc.same {
			t.Errorf("%s: same %v, want %v", tc.name, got, tc.same)
		}
	}
}
