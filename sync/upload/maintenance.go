package upload

import (
	"slices"

	"roomkiosk/internal/room"
)

// sameMaintenance reports whether status.json's maintenance fields (last
// maintenance, reported problems, held recordings) are unchanged, so a
// technician's entry or a problem report is put at once, not a minute later.
func sameMaintenance(a, b room.Snapshot) bool {
	if a.HeldWaiting != b.HeldWaiting || len(a.Problems) != len(b.Problems) {
		return false
	}
	if !slices.EqualFunc(a.Problems, b.Problems, func(x, y room.ProblemReport) bool { return x.Problem == y.Problem }) {
		return false
	}
	switch la, lb := a.LastMaintenance, b.LastMaintenance; {
	case la == nil || lb == nil:
		return la == lb
	default:
		return la.At.Equal(lb.At) && la.Action == lb.Action
	}
}
