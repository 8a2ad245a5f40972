package room

import "time"

// Snapshot is an immutable view of the core's state. The screen renders it;
// the status endpoint and status.json are built from it. Slices in a snapshot
// are never modified after it is published.
type Snapshot struct {
	Seq      uint64    `json:"seq"`
	At       time.Time `json:"at"`
	RoomID   string    `json:"room_id"`
	RoomName string    `json:"room_name"`

	Door      Door          `json:"door"`
	Recording bool          `json:"recording"` // true only while the recorder reports RecorderRecording
	Recorder  RecorderState `json:"recorder"`
	Step      Step          `json:"step"`
	Language  string        `json:"language"` // current UI language
	Languages []string      `json:"languages"`

	// Counselor PIN pad.
	PINDigits   int       `json:"pin_digits"`             // how many digits typed (never the digits)
	PINChecking bool      `json:"pin_checking,omitempty"` // the typed PIN is being checked (the pad waits)
	PINError    string    `json:"pin_error,omitempty"`
	LockedUntil time.Time `json:"locked_until,omitzero"`

	// Checklist.
	Checks       []CheckResult `json:"checks"`
	Faults       []Fault       `json:"faults,omitempty"` // recent faults from the maintenance log, newest first
	ManualItems  []ManualItem  `json:"manual_items,omitempty"`
	Blocked      bool          `json:"blocked"` // a required check is failing
	OverrideNote string        `json:"override_note,omitempty"`

	// Maintenance (issue 16). Technician: the maintenance screen was opened
	// with a technician's PIN (actions, no held recordings). Problems: the
	// reported problems no technician has cleared yet. HeldWaiting: how many
	// withdrawn recordings wait for a keep-or-delete choice (a count only:
	// no ids on the door). ProblemsReported: the codes reported in this
	// session, on the feedback screen.
	Technician       bool              `json:"technician,omitempty"`
	LastMaintenance  *MaintenanceEntry `json:"last_maintenance,omitempty"`
	Problems         []ProblemReport   `json:"problems,omitempty"`
	HeldWaiting      int               `json:"held_waiting,omitempty"`
	ProblemsReported []string          `json:"problems_reported,omitempty"`

	// Session.
	SessionID      string        `json:"session_id,omitempty"`
	SessionStarted time.Time     `json:"session_started,omitzero"`
	Participants   int           `json:"participants,omitempty"`
	WantRecording  bool          `json:"want_recording"`         // the counselor chose to record
	Recorded       bool          `json:"recorded"`               // all consented: the session is a recorded one
	ConsentTurn    int           `json:"consent_turn,omitempty"` // 1-based participant now on the consent screen
	Decisions      []Decision    `json:"decisions,omitempty"`
	Agreement      Agreement     `json:"agreement"`
	Withdrawn      bool          `json:"withdrawn"`
	Level          Level         `json:"level"`
	Alerts         []Alert       `json:"alerts,omitempty"`
	Message        string        `json:"message,omitempty"` // a plain reason shown to the room ("Not recorded: consent declined")
	Notice         string        `json:"notice,omitempty"`  // stable code of Message (Notice* constants), for translation
	MaxLength      time.Duration `json:"max_length"`
	// Family sessions (family.go). Children: how many participants are
	// children (on StepHeldChoice: of the held recording's session, so its
	// client chooses as a guardian there too); MinorAge: under which age a participant is one (0: this
	// room asks no guardian or assent texts, so it records no children).
	// ConsentRole: who answers the current consent turn; ConsentTurns: how
	// many turns in all. Guardian and Assent: the texts of the guardian
	// agreement and the child's assent (nil when not configured).
	Children     int        `json:"children,omitempty"`
	MinorAge     int        `json:"minor_age,omitempty"`
	ConsentRole  string     `json:"consent_role,omitempty"`
	ConsentTurns int        `json:"consent_turns,omitempty"`
	Guardian     *Agreement `json:"guardian_agreement,omitempty"`
	Assent       *Agreement `json:"assent_agreement,omitempty"`

	// ResumedGap: the recording resumed after an interruption (the daemon
	// restarted) and nothing was recorded for this long.
	ResumedGap time.Duration `json:"resumed_gap,omitempty"`

	// The room's calendar (nil when no feed is configured) and whether the
	// screen's backlight is dimmed (the first touch only wakes it).
	Bookings     *Bookings `json:"bookings,omitempty"`
	ScreenDimmed bool      `json:"screen_dimmed,omitempty"`
}

// Fault is one entry of the maintenance log's recent faults, for the
// maintenance screen. It names a check, never a person.
type Fault struct {
	At    time.Time  `json:"at"`
	Check string     `json:"check"`
	State CheckState `json:"state"`
	Value string     `json:"value,omitempty"`
}

// ManualItem is a checklist line the counselor confirms by hand.
type ManualItem struct {
	ID      string `json:"id"`
	Text    string `json:"text"`
	Checked bool   `json:"checked"`
}

// Agreement is the recording agreement, versioned, one text per language.
type Agreement struct {
	ID    string            `json:"id"`
	Texts map[string]string `json:"texts"` // language -> exact text shown
}
