// Package session is the room's state machine and consent rules. It is the one
// place that decides what the kiosk does: the screen only renders its snapshots
// and sends intents, and the recorder, checks and uploader are ports it calls.
//
// It is pure Go on purpose: no cgo, no ebiten, malgo, periph or minio, and no
// file or network IO, so every rule can be tested with an injectable clock.
// What must survive the daemon goes through a port too: the core decides what
// the journal of the open session holds (JournalStore; the daemon stores it
// in the spool) and writes it at every change, before the screen is told.
//
// # Steps and restart paths
//
// A session opens at the participants screen and closes when the room is back
// at the door. While it is open the journal holds it; when the daemon comes
// back (crash, power cut, watchdog, restart) within the resume window
// (session.resume_window, default 10 minutes since the journal's last write),
// the session comes back as follows. Outside the window, with the clock behind
// the journal, or with a damaged journal, the session is closed as
// interrupted (its summary says so; a recording is finished by the
// recorder's crash recovery), and the door is Free.
//
//	step at the stop          after a restart within the window
//	------------------------  --------------------------------------------------
//	door, PIN, checklist,     door (no session was open; nothing is journaled)
//	maintenance
//	participants              participants (timeout restarted)
//	record choice             record choice, participants kept
//	consent, turn n           consent, turn n, the consents given kept
//	in session, recording     in session; the recording resumes by itself in a
//	                          new part of the same session (Recorder.Start with
//	                          SessionInfo.Resume); the room reads "Recording
//	                          resumed after an interruption" with the gap's
//	                          length; the maximum length counts from the first
//	                          start (past it, nothing resumes)
//	in session, not recorded  in session, not recorded (declined, counselor's
//	  (or stopped)            choice, recorder failed or stopped, withdrawn and
//	                          chosen): nothing records
//	end PIN                   in session (the PIN pad is not kept), as above
//	withdraw choice           withdraw choice: asked again; the withdrawn audio
//	                          stays held by the recorder until Keep or Delete
//	feedback                  feedback (timeout restarted)
//
// The withdrawal's own promise holds across a crash independently of the
// journal: the recorder's journal says withdrawn before Stop returns, so its
// recovery holds the session even when the core's journal is lost.
//
// # Files
//
// One file per step, as the room walks through them: core.go (the Core, its
// goroutine, the ports' reports and the intent dispatcher), state.go (what
// Run owns), pin.go, checklist.go, consent.go (participants, record choice,
// agreement), recording.go (starting the recorder and following its
// reports), withdraw.go, end.go (end, feedback, back to the door), flow.go
// (language, cancel), timers.go, snapshot.go (what the screen and the
// uploader are told), maintenance.go and journal.go.
//
// From every reachable state the door is reachable with the screen's own
// intents (cancel, end with the PIN, keep or delete, feedback); the fuzz and
// random-sequence tests check it by replaying each sequence.
package session
