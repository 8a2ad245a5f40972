package session

import (
	"time"

	"roomkiosk/internal/room"
)

type timerKind int

const (
	timerStep      timerKind = iota // abandoned screen
	timerLockout                    // PIN lockout ends
	timerMaxWarn                    // max_length_near
	timerMaxLen                     // max length reached
	timerHeartbeat                  // the open session's journal is rewritten (journal.go)
	timerHeld                       // a held recording's deadline (held.go)
	numTimers
)

type event interface{}

type intentEvent struct {
	in    room.Intent
	reply chan error
}

type timerEvent struct {
	kind timerKind
	gen  uint64
	done chan struct{}
}

type pinEvent struct {
	gen       uint64
	counselor string // "" when no counselor's hash matched
	done      chan struct{}

	technician string // on the maintenance PIN pad: "" when no technician's hash matched
}

type syncEvent struct{ done chan struct{} }

type state struct {
	step room.Step
	lang string

	// PIN pad.
	digits      []byte
	pinErr      string
	wrong       int
	lockedUntil time.Time
	verifying   bool
	pinGen      uint64
	pinReply    chan error

	// Checklist.
	checks     []room.CheckResult
	faults     []room.Fault // the latest from the maintenance log, newest first
	manual     []room.ManualItem
	counselor  string // who passed the start PIN
	overridden bool
	override   string // the reason code (room.OverrideReasons)
	technician string // who opened the maintenance screen with a technician's PIN

	// Maintenance (maintenance.go).
	maint    maintState
	held     []room.HeldRecording // withdrawn recordings awaiting a choice, oldest first (not the open session's)
	resolved map[string]bool      // held recordings settled in this run (the recorder may list them a moment longer)

	sess   *sessionState
	recSt  room.RecorderStatus // latest accepted recorder report
	timers [numTimers]Timer
	gens   [numTimers]uint64

	// What the uploader was last told.
	toldDoor      room.Door
	toldRecording bool
	toldChecks    string
	told          bool
	lastPublished room.Snapshot

	// The session journal (journal.go).
	journaled       bool          // a journal is on disk
	lastJournal     []byte        // what was last written, without its time
	pendingEnd      *room.Summary // a session closed as interrupted at start-up
	restored        bool          // the session came back from the journal
	resumeRecording bool          // ... and its recording resumes when Run starts
}

type sessionState struct {
	id           string
	started      time.Time
	counselor    string
	overridden   bool
	override     string
	participants int
	children     int // of the participants (family.go)
	want         bool
	turn         int
	decisions    []room.Decision
	declined     bool
	recorded     bool // Recorder.Start succeeded
	startFailed  bool
	stopped      bool // Recorder.Stop called (end, max length, withdrawal)
	withdrawn    bool
	alerts       []room.Alert
	message      string
	notice       string

	recStarted  time.Time         // when Recorder.Start first succeeded
	selfStopped bool              // the recorder stopped by itself (disk floor, write failure)
	held        bool              // the withdrawal stopped a running recording: the recorder holds it
	resumptions []room.Resumption // resumed after restarts
	resumedGap  time.Duration     // the last resumption's gap
	resuming    bool              // resumed; waiting for the recorder to say it records again
	reported    []string          // problem codes reported on the feedback screen
}
