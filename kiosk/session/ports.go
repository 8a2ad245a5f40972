package session

import "roomkiosk/internal/room"

// The core calls these ports; the daemon wires the real recorder, check runner
// and uploader, and tests wire fakes (sessiontest). Calls must return quickly:
// the core's goroutine makes them, and withdrawal has a 250 ms budget.

// Recorder captures, encrypts and spools a session's audio.
type Recorder interface {
	// Start opens the capture device for a session whose participants have
	// all consented. The core never calls it otherwise. Progress is reported
	// back through Core.RecorderChanged.
	Start(info room.SessionInfo) error
	// Stop closes the capture device and seals what was written. withdrawn
	// says the stop came from a participant's withdrawal: the sealed audio
	// is then held on the device (never uploaded) until Keep or Discard.
	Stop(sessionID string, withdrawn bool) error
	// Keep releases a withdrawn session's held audio for upload: the
	// participants chose to keep what was recorded before the withdrawal.
	Keep(sessionID string) error
	// Discard deletes the session's local audio and records a deletion
	// request for anything already handed to the uploader.
	Discard(sessionID string) error
}

// Suspender is a Recorder that can suspend a session at the daemon's stop:
// it seals what it wrote without finishing the session, so that a resumed
// recording (SessionInfo.Resume) continues it as one session. The core
// suspends instead of stopping when it keeps a journal.
type Suspender interface {
	Suspend(sessionID string) error
}

// SessionObserver is a Recorder told when a session opens and closes
// (recorded or not), so that nothing opens the capture device during an open
// session that is not recording: the microphone check defers to it.
// SessionOpened may wait briefly (a check holding the device closes it).
type SessionObserver interface {
	SessionOpened(sessionID string)
	SessionClosed(sessionID string)
}

// Checker runs equipment and environment checks. Results arrive later through
// Core.ChecksUpdated, so a slow sensor never blocks the core.
type Checker interface {
	RunChecks(reason string)
}

// Uploader is told about changes that must reach object storage.
type Uploader interface {
	// StatusChanged is called on every change of door or recording state.
	StatusChanged(s room.Snapshot)
	// SessionEnded is called once a session is over, recorded or not, so
	// that the archive lists every session.
	SessionEnded(sum room.Summary)
}
