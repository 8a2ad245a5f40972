package room

import (
	"slices"
	"time"
)

// Maintenance action codes: what a technician can record on the maintenance
// screen. Like the override reasons they are a fixed list, shown as buttons
// with labels in the room's languages; the control socket and the core
// refuse anything else, so no typed text reaches the maintenance log
// (uploaded in the clear) or status.json.
const (
	ActionCleaned         = "cleaned"
	ActionMicReplaced     = "microphone_replaced"
	ActionSensorReplaced  = "sensor_replaced"
	ActionSoftwareUpdated = "software_updated"
	ActionCalibrated      = "calibrated"
	ActionOther           = "other"
)

var maintenanceActions = []string{ActionCleaned, ActionMicReplaced, ActionSensorReplaced, ActionSoftwareUpdated, ActionCalibrated, ActionOther}

// MaintenanceActions returns the action codes in the order the screen shows
// them.
func MaintenanceActions() []string { return slices.Clone(maintenanceActions) }

// ValidMaintenanceAction reports whether code is one of MaintenanceActions.
func ValidMaintenanceAction(code string) bool { return slices.Contains(maintenanceActions, code) }

// Problem codes: what a counselor can report at the end of a session, in one
// tap. A fixed list, never free text.
const (
	ProblemAudio   = "audio"
	ProblemScreen  = "screen"
	ProblemClimate = "climate"
	ProblemDoor    = "door_lock"
	ProblemOther   = "other"
)

var problemCodes = []string{ProblemAudio, ProblemScreen, ProblemClimate, ProblemDoor, ProblemOther}

// ProblemCodes returns the problem codes in the order the screen shows them.
func ProblemCodes() []string { return slices.Clone(problemCodes) }

// ValidProblem reports whether code is one of ProblemCodes.
func ValidProblem(code string) bool { return slices.Contains(problemCodes, code) }

// CheckReportedProblem is the advisory check that stays abnormal while a
// counselor's problem report waits for a technician.
const CheckReportedProblem = "reported_problem"

// MaintenanceEntry is a technician's entry: what was done, by whom
// (a pseudonymous technician id) and which reported problems it cleared.
type MaintenanceEntry struct {
	At         time.Time `json:"at"`
	Action     string    `json:"action"`               // one of MaintenanceActions
	Technician string    `json:"technician,omitempty"` // pseudonymous id
	Cleared    []string  `json:"cleared,omitempty"`    // problem codes it cleared
}

// ProblemReport is one open problem a counselor reported (a code and when).
// It names no session and no person.
type ProblemReport struct {
	At      time.Time `json:"at"`
	Problem string    `json:"problem"` // one of ProblemCodes
}
