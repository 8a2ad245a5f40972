// Package status is the room status (rooms/<room>/status.json) under its
// historical name. The record, its key and its version are declared by the
// archive's contract, sync/layout; these names forward to it so that the
// daemon and the admin tool keep compiling unchanged.
package status

import (
	"time"

	"roomkiosk/sync/layout"
)

// SchemaVersion is the current Room.Schema.
const SchemaVersion = layout.StatusVersion

// StaleAfter is how old a status may be before it is stale.
const StaleAfter = layout.StaleAfter

// Room is rooms/<room>/status.json.
type Room = layout.Status

// Queue describes what is waiting in the spool for upload.
type Queue = layout.Queue

// Key returns the object key of a room's status.
func Key(roomID string) string { return layout.StatusKey(roomID) }

// Stale reports whether a status last written at lastModified is too old.
func Stale(lastModified, now time.Time) bool { return layout.Stale(lastModified, now) }

// Parse decodes a status object and checks what a reader relies on.
func Parse(b []byte) (*Room, error) { return layout.ParseStatus(b) }
