// Package session is the room's state machine and consent rules. It is the one
// place that decides what the kiosk does: the screen only renders its snapshots
// and sends intents, and the recorder, checks and uploader are ports it calls.
//
// It is pure Go on purpose: no cgo, no ebiten, malgo, periph or minio, and no
// file or network IO, so every rule can be tested with an injectable clock.
package session
