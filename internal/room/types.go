package room

import "time"

// Door is what a passer-by sees.
type Door string

const (
	DoorFree         Door = "free"
	DoorInSession    Door = "in_session"
	DoorOutOfService Door = "out_of_service"
)

// RecorderState is the recorder's own report of what it is doing. The door's
// "Recording" line follows this, never the intent to record.
type RecorderState string

const (
	RecorderIdle      RecorderState = "idle"      // no capture device open
	RecorderStarting  RecorderState = "starting"  // opening the device
	RecorderRecording RecorderState = "recording" // audio is being captured and written
	RecorderFault     RecorderState = "fault"     // device lost or write failing; retrying
	RecorderStopped   RecorderState = "stopped"   // stopped for this session (end, withdrawal, disk floor)
)

// Step is the screen the kiosk is on.
type Step string

const (
	StepDoor           Step = "door"
	StepPIN            Step = "pin"          // counselor PIN before a session
	StepChecklist      Step = "checklist"    // automatic checks + manual items
	StepParticipants   Step = "participants" // how many clients, 1..6
	StepRecordChoice   Step = "record_choice"
	StepConsent        Step = "consent" // one participant at a time
	StepInSession      Step = "in_session"
	StepWithdrawChoice Step = "withdraw_choice" // keep or delete what was recorded
	StepEndPIN         Step = "end_pin"         // counselor PIN to end the session
	StepFeedback       Step = "feedback"
	StepMaintenancePIN Step = "maintenance_pin"
	StepMaintenance    Step = "maintenance"
	// StepHeldChoice: the counselor handed the kiosk to the client whose
	// withdrawn recording is held (a restart came before their choice):
	// the same keep-or-delete screen as StepWithdrawChoice (issue 22).
	StepHeldChoice Step = "held_choice"
)

// CheckState is the outcome of one equipment or environment check.
type CheckState string

const (
	CheckGood     CheckState = "good"
	CheckAbnormal CheckState = "abnormal"
	CheckUnknown  CheckState = "unknown"
)

// CheckResult is one named check as the runner reports it.
type CheckResult struct {
	Name      string     `json:"name"`
	State     CheckState `json:"state"`
	Value     string     `json:"value,omitempty"`     // measured value with unit, e.g. "23.7 °C"
	Threshold string     `json:"threshold,omitempty"` // e.g. "18-26 °C"
	Hint      string     `json:"hint,omitempty"`      // what the counselor should do now
	Required  bool       `json:"required"`
	At        time.Time  `json:"at"`
}

// Alert is a counselor-facing notice. It never carries client information.
type Alert struct {
	Code    string    `json:"code"` // stable id: mic_silent, mic_lost, disk_low, max_length_near, upload_failing, ...
	Message string    `json:"message,omitempty"`
	Since   time.Time `json:"since"`
}

// Decision is one participant's answer on the consent screen.
type Decision struct {
	Participant int       `json:"participant"` // 1-based
	Consented   bool      `json:"consented"`
	Language    string    `json:"language"`
	TextSHA256  string    `json:"text_sha256,omitempty"` // hex SHA-256 of the text this participant was shown
	At          time.Time `json:"at"`
	// How many pages the agreement took on the screen in Language and how
	// many the participant paged to before deciding (the screen enables "I
	// agree" only once all are seen); 0 and 0 when the screen did not say.
	Pages     int `json:"pages,omitempty"`
	PagesSeen int `json:"pages_seen,omitempty"`
	// Role says whose decision it is (family.go): "adult",
	// "guardian-of-child-N" or "child-N-assent"; empty in a version 1
	// record (an adult). AgreementID names the text shown (the recording
	// agreement, the guardian agreement or the child's assent).
	Role        string `json:"role,omitempty"`
	AgreementID string `json:"agreement_id,omitempty"`
}

// ConsentRecord is kept with the session (and, encrypted, in its manifest).
type ConsentRecord struct {
	// Version is ConsentRecordVersion; 0 (absent) is version 1, from
	// before roles: every decision an adult's on AgreementID.
	Version       int        `json:"version,omitempty"`
	AgreementID   string     `json:"agreement_id"`
	AgreementText string     `json:"-"`           // never serialised; the hash is the record
	TextSHA256    string     `json:"text_sha256"` // hex SHA-256 of the exact text shown
	Language      string     `json:"language"`
	Decisions     []Decision `json:"decisions"`
	// Resumed lists the times the recording resumed after the daemon's
	// restart, each with the length of the gap (nothing recorded).
	Resumed []Resumption `json:"resumed,omitempty"`
	// Adults and Children present (version 2). In a version 2 record
	// Participant numbers the consent turn and Role says whose it is.
	Adults   int `json:"adults,omitempty"`
	Children int `json:"children,omitempty"`
}

// SessionInfo is what the recorder needs to start capturing a session.
type SessionInfo struct {
	ID          string        `json:"id"`
	CounselorID string        `json:"counselor_id"` // pseudonymous
	Started     time.Time     `json:"started"`
	MaxLength   time.Duration `json:"max_length"`
	Consent     ConsentRecord `json:"consent"`

	// The counselor continued past a failing required check. The reason is
	// one of the OverrideReasons codes (the core refuses anything else), so
	// it may go into the maintenance log as well as the manifest.
	ChecksOverridden bool   `json:"checks_overridden,omitempty"`
	OverrideReason   string `json:"override_reason,omitempty"`

	// Resume: the session was recording when the daemon stopped (crash,
	// power cut, restart) and its recording goes on in a new part of the
	// same session; the recorder notes the gap.
	Resume bool `json:"resume,omitempty"`
}

// Level is the microphone level for the discreet in-session indicator.
type Level struct {
	RMSdBFS  float64 `json:"rms_dbfs"`
	PeakdBFS float64 `json:"peak_dbfs"`
}

// RecorderStatus is pushed by the recorder into the core whenever it changes.
type RecorderStatus struct {
	SessionID string        `json:"session_id"`
	State     RecorderState `json:"state"`
	Reason    string        `json:"reason,omitempty"` // why it stopped or faulted (disk floor, device lost)
	Level     Level         `json:"level"`
	Alerts    []Alert       `json:"alerts,omitempty"` // mic_silent, mic_lost, disk_low
	// ResumedGap is set while a resumed recording records: how long
	// nothing was recorded between the interruption and the resumption.
	ResumedGap time.Duration `json:"resumed_gap_ns,omitempty"`
}

// Summary is what is kept of every session, recorded or not, so that the
// archive lists them all. It holds no personal data: times, counts, flags and
// the 1-5 rating; never who declined.
type Summary struct {
	ID            string    `json:"session_id"`
	Started       time.Time `json:"started"`
	Ended         time.Time `json:"ended"`
	Participants  int       `json:"participants"`
	WantRecording bool      `json:"want_recording"` // the counselor chose to record
	Declined      bool      `json:"declined"`       // not everyone agreed: not recorded
	Recorded      bool      `json:"recorded"`       // the recorder started
	Withdrawn     bool      `json:"withdrawn"`
	Abandoned     bool      `json:"abandoned"`          // closed by a timeout before it began
	Feedback      int       `json:"feedback,omitempty"` // 1-5; 0 = none given
	// Interrupted: the daemon stopped while the session was open and it
	// could not come back (outside the resume window, or its journal was
	// damaged); Ended is the last time the session was known open.
	Interrupted bool `json:"interrupted,omitempty"`
	Resumed     int  `json:"resumed,omitempty"` // times the session came back after a restart
	// Children: how many of the participants were children (a count only;
	// the roles' decisions are in the encrypted consent record).
	Children int `json:"children,omitempty"`
}

// Resumption is one resumption of a session after the daemon's restart.
type Resumption struct {
	At  time.Time     `json:"at"`     // when recording resumed
	Gap time.Duration `json:"gap_ns"` // nothing recorded for this long before At
}
