// Package room is the vocabulary that the session core, the daemon, the
// screen, the recorder, the checks and the archive share: snapshots, intents,
// check results, the consent record, the session summary, refusal codes and
// the TOML duration type. It imports nothing from the project, so any binary
// can speak it without linking the state machine (kiosk/session) that
// produces it.
package room
