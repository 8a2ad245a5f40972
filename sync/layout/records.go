package layout

import (
	"encoding/json"
	"fmt"
	"time"

	"roomkiosk/internal/room"
	"roomkiosk/recorder/manifest"
)

// Format versions of the records stored in the bucket. A reader accepts
// every version up to its own and ignores unknown fields; 0 in a summary,
// tombstone or audit record means "written before versions were recorded",
// and reads as version 1.
const (
	SummaryVersion   = 1
	TombstoneVersion = 1
	AuditVersion     = 1
	StatusVersion    = 1
	LogLineVersion   = 1
	// ManifestVersion and DeletionVersion are owned by recorder/manifest,
	// which writes them on the device (the recorder cannot import sync).
	ManifestVersion = manifest.Version
	DeletionVersion = manifest.DeletionVersion
)

// SummaryRecord is a session's summary.json: what is kept of every session,
// recorded or not, so that the archive lists them all (with the client's
// 1-5 rating if one was given). It names nobody.
type SummaryRecord struct {
	Version int    `json:"version,omitempty"`
	RoomID  string `json:"room_id"`
	room.Summary
	// AudioDeleted: the participants withdrew and chose to delete the
	// audio (the device had a deletion request for the session when it sent
	// the summary). With a withdrawal, it is what lets roomctl apply that
	// session's deletion request without an admin's confirmation: the
	// summary's first version was written before anyone could forge one.
	AudioDeleted bool `json:"audio_deleted,omitempty"`
	// RetentionClass is the class the device's config gives the room (as
	// in the manifest): it can lengthen the retention, never shorten it.
	RetentionClass string `json:"retention_class,omitempty"`
}

// ParseSummary decodes a summary record and checks what a reader relies on.
func ParseSummary(b []byte) (*SummaryRecord, error) {
	var s SummaryRecord
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("parse session summary: %w", err)
	}
	switch {
	case s.Version < 0 || s.Version > SummaryVersion:
		return nil, fmt.Errorf("parse session summary: version %d not supported (want up to %d)", s.Version, SummaryVersion)
	case !ValidSessionID(s.ID):
		return nil, fmt.Errorf("parse session summary: session_id %q is not a session id", s.ID)
	case ValidRoomID(s.RoomID) != nil:
		return nil, fmt.Errorf("parse session summary: room_id %q is not a room id", s.RoomID)
	case s.Started.IsZero():
		return nil, fmt.Errorf("parse session summary: started missing")
	}
	return &s, nil
}

// DeletionRequest is rooms/<room>/deletions/<session>.json, written by the
// recorder on the device when participants withdraw and choose to delete.
// It is declared by recorder/manifest, whose spool writes it.
type DeletionRequest = manifest.Deletion

// ParseDeletion decodes and checks a deletion request.
func ParseDeletion(b []byte) (*DeletionRequest, error) { return manifest.ParseDeletion(b) }

// Tombstone is the record that an admin removed a session's audio at its
// participants' request: the session existed, and why its audio is gone.
type Tombstone struct {
	Version     int       `json:"version,omitempty"`
	SessionID   string    `json:"session_id"`
	RoomID      string    `json:"room_id"`
	RequestedAt time.Time `json:"requested_at"`
	AppliedAt   time.Time `json:"applied_at"`
	Removed     int       `json:"removed_versions"`
}

// ParseTombstone decodes and checks a tombstone.
func ParseTombstone(b []byte) (*Tombstone, error) {
	var t Tombstone
	if err := json.Unmarshal(b, &t); err != nil {
		return nil, fmt.Errorf("parse tombstone: %w", err)
	}
	switch {
	case t.Version < 0 || t.Version > TombstoneVersion:
		return nil, fmt.Errorf("parse tombstone: version %d not supported (want up to %d)", t.Version, TombstoneVersion)
	case !ValidSessionID(t.SessionID):
		return nil, fmt.Errorf("parse tombstone: session_id %q is not a session id", t.SessionID)
	case ValidRoomID(t.RoomID) != nil:
		return nil, fmt.Errorf("parse tombstone: room_id %q is not a room id", t.RoomID)
	}
	return &t, nil
}

// AuditRecord says who did what to the archive, and when. It never holds
// audio or personal data: rooms and session ids are pseudonymous.
type AuditRecord struct {
	Version int       `json:"version,omitempty"`
	At      time.Time `json:"at"`
	Who     string    `json:"who"`    // admin access key
	Host    string    `json:"host"`   // the admin machine's host name
	Action  string    `json:"action"` // pull, delete-session, provision, bucket-init, ...
	Room    string    `json:"room,omitempty"`
	Session string    `json:"session,omitempty"`
	Objects []string  `json:"objects,omitempty"` // keys touched (with version ids for deletions)
	Result  string    `json:"result"`            // "ok" or the error
	Detail  string    `json:"detail,omitempty"`
}

// ValidAction reports whether a can name an audit action in a key.
func ValidAction(a string) bool { return actionRe.MatchString(a) }

// ValidNonce reports whether n can be an audit key's nonce.
func ValidNonce(n string) bool { return nonceRe.MatchString(n) }

// LogLine is one line of a maintenance log day (rooms/<room>/checks/...),
// as hardware/checks writes it on the device (its Entry; a test keeps the two
// in step). It never holds client information.
type LogLine struct {
	At        time.Time          `json:"at"`
	Kind      string             `json:"kind"` // run, fault, recovery, change, override, note
	Reason    string             `json:"reason,omitempty"`
	Check     string             `json:"check,omitempty"`
	State     room.CheckState    `json:"state,omitempty"`
	From      room.CheckState    `json:"from,omitempty"`
	Value     string             `json:"value,omitempty"`
	Threshold string             `json:"threshold,omitempty"`
	Hint      string             `json:"hint,omitempty"`
	Required  bool               `json:"required,omitempty"`
	Results   []room.CheckResult `json:"results,omitempty"`
	Session   string             `json:"session,omitempty"`
	Counselor string             `json:"counselor,omitempty"`
	Note      string             `json:"note,omitempty"`

	// Kinds maintenance and problem: a technician's entry and a
	// counselor's problem report (codes from fixed lists, pseudonymous ids).
	Action     string   `json:"action,omitempty"`
	Technician string   `json:"technician,omitempty"`
	Cleared    []string `json:"cleared,omitempty"`
	Problem    string   `json:"problem,omitempty"`
}
