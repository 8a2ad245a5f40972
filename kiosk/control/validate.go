package control

import (
	"strings"

	"roomkiosk/internal/room"
)

// checkIntent refuses, before the core sees it, an intent whose fields could
// carry free text from the screen side into the daemon's records: an
// override reason must be one of the fixed codes (the maintenance log that
// keeps it is uploaded in the clear). The core checks the same; this is the
// first of two locks, so a core bug alone cannot let text through. The
// refusal never repeats what was sent.
func checkIntent(in room.Intent, step room.Step) error {
	if in.Kind == room.IntentCheckOverride && !room.ValidOverrideReason(in.Reason) {
		return &room.RefusedError{
			Kind: in.Kind, Step: step, Err: room.ErrInvalid,
			Reason: "an override reason must be one of the codes " + strings.Join(room.OverrideReasons(), ", "),
		}
	}
	if in.Kind == room.IntentMaintenanceAction && !room.ValidMaintenanceAction(in.Reason) {
		return &room.RefusedError{
			Kind: in.Kind, Step: step, Err: room.ErrInvalid,
			Reason: "a maintenance action must be one of the codes " + strings.Join(room.MaintenanceActions(), ", "),
		}
	}
	if in.Kind == room.IntentReportProblem && !room.ValidProblem(in.Reason) {
		return &room.RefusedError{
			Kind: in.Kind, Step: step, Err: room.ErrInvalid,
			Reason: "a problem report must be one of the codes " + strings.Join(room.ProblemCodes(), ", "),
		}
	}
	return nil
}
