package room

import "time"

// IntentKind names what a user did on the screen.
type IntentKind string

const (
	IntentStart          IntentKind = "start"          // counselor taps Start on the door screen
	IntentMaintenance    IntentKind = "maintenance"    // open the maintenance screen (asks the PIN)
	IntentPINDigit       IntentKind = "pin_digit"      // Digit
	IntentPINBack        IntentKind = "pin_back"       // delete the last digit
	IntentPINOK          IntentKind = "pin_ok"         // submit the typed PIN
	IntentCancel         IntentKind = "cancel"         // leave the current flow, back to the door
	IntentCheckToggle    IntentKind = "check_toggle"   // Item: index into ManualItems
	IntentCheckContinue  IntentKind = "check_continue" // all manual items ticked, no required failure
	IntentCheckOverride  IntentKind = "check_override" // continue despite a required failure; Reason: one of OverrideReasons
	IntentParticipants   IntentKind = "participants"   // Count: 1..6 in all; Children: how many of them are children
	IntentRecord         IntentKind = "record"         // Yes: record or not
	IntentConsent        IntentKind = "consent"        // Participant, Yes, Language, TextSHA256, Pages, PagesSeen
	IntentWithdraw       IntentKind = "withdraw"       // any participant, no PIN
	IntentWithdrawKeep   IntentKind = "withdraw_keep"
	IntentWithdrawDelete IntentKind = "withdraw_delete"
	IntentEnd            IntentKind = "end"      // counselor asks to end (asks the PIN)
	IntentFeedback       IntentKind = "feedback" // Rating 1..5, or 0 to skip
	IntentLanguage       IntentKind = "language" // Language
	// IntentWake is a touch on a dimmed screen: it only wakes the
	// backlight (the daemon's, never the session core's business).
	IntentWake IntentKind = "wake"

	// Maintenance, problem reports and held recordings (issue 16).
	IntentMaintenanceAction IntentKind = "maintenance_action" // technician on the maintenance screen; Reason: one of MaintenanceActions
	IntentReportProblem     IntentKind = "report_problem"     // counselor on the feedback screen; Reason: one of ProblemCodes
	IntentHeldKeep          IntentKind = "held_keep"          // refused since issue 22: keeping a held recording is the client's choice (IntentHeldAsk)
	IntentHeldDelete        IntentKind = "held_delete"        // counselor on the maintenance screen: delete the oldest held recording now
	IntentHeldAsk           IntentKind = "held_ask"           // counselor on the maintenance screen: the client chooses for the oldest held recording (StepHeldChoice)
)

// Who settled a held recording (HeldDecision.By).
const (
	DecidedByClient    = "client"    // on the kiosk's keep-or-delete screen
	DecidedByCounselor = "counselor" // deletion confirmed on the maintenance screen (a counselor can only delete)
	DecidedByDeadline  = "deadline"  // nobody settled it by session.held_deadline: deleted
)

// HeldDecision is how a held withdrawn recording was settled: kept or
// deleted, by whom (DecidedBy*) and when. It holds no personal data.
type HeldDecision struct {
	Keep bool      `json:"keep"`
	By   string    `json:"by"`
	At   time.Time `json:"at"`
}

// HeldRecording is a withdrawn recording the recorder holds until someone
// keeps or deletes it: its session and how many of its participants were
// children (a count only, as in the summary), so that its choice screen
// after a restart asks the guardian, as the session's own did.
type HeldRecording struct {
	SessionID string
	Children  int
}

// Intent is one user action sent by the screen. Only the fields its Kind names
// are read.
type Intent struct {
	Kind        IntentKind `json:"kind"`
	Digit       int        `json:"digit,omitempty"`
	Item        int        `json:"item,omitempty"`
	Count       int        `json:"count,omitempty"`
	Yes         bool       `json:"yes,omitempty"`
	Participant int        `json:"participant,omitempty"`
	Language    string     `json:"language,omitempty"`
	TextSHA256  string     `json:"text_sha256,omitempty"` // hash of the agreement text the screen showed
	Reason      string     `json:"reason,omitempty"`      // an override reason code (OverrideReasons), never free text
	Rating      int        `json:"rating,omitempty"`
	// Consent: how many pages the agreement took on the screen in the
	// language shown, and how many of them the participant has seen (paged
	// to). 0 and 0 when the sender does not say; a yes with Pages > 0 needs
	// every page seen.
	Pages     int `json:"pages,omitempty"`
	PagesSeen int `json:"pages_seen,omitempty"`
	// Participants: how many of Count are children (family.go); 0 when
	// the sender does not say.
	Children int `json:"children,omitempty"`
	// Consent: the role the screen asked (Snapshot.ConsentRole); when set
	// it must be the current turn's.
	Role string `json:"role,omitempty"`
}
