package room

import "slices"

// Override reason codes: the only reasons a counselor can give for starting
// a session despite a failing required check. The screen shows them as
// buttons with labels in the room's languages; the control socket and the
// core refuse anything else, so no text typed or injected on the screen side
// ever reaches the maintenance log (uploaded in the clear), a status or an
// object. The code itself is what the records keep.
const (
	OverrideCheckedInPerson  = "checked_in_person"  // the counselor checked the room in person: it is fine
	OverrideKnownSensorFault = "known_sensor_fault" // a known sensor fault, already reported
	OverrideUrgentSession    = "urgent_session"     // an urgent session that cannot wait
)

var overrideReasons = []string{OverrideCheckedInPerson, OverrideKnownSensorFault, OverrideUrgentSession}

// OverrideReasons returns the reason codes in the order the screen shows
// them.
func OverrideReasons() []string { return slices.Clone(overrideReasons) }

// ValidOverrideReason reports whether code is one of OverrideReasons.
func ValidOverrideReason(code string) bool { return slices.Contains(overrideReasons, code) }
