// Package status is the schema of rooms/<room>/status.json, the object each
// kiosk puts every storage.status_interval and on every door change, and that
// `roomctl status` reads. It is pure Go (no cgo, no minio) so both sides can
// import it. It holds no personal data: no names, no PINs, no session ids.
package status

import (
	"encoding/json"
	"fmt"
	"roomkiosk/kiosk/room"
	"time"
)

// SchemaVersion is the current Room.Schema. Readers accept any version up to
// theirs and ignore unknown fields.
const SchemaVersion = 1

// StaleAfter is how old a status may be before an admin tool calls the room
// stale (three missed 60 s intervals).
const StaleAfter = 3 * time.Minute

// Key returns the object key of a room's status.
func Key(roomID string) string { return "rooms/" + roomID + "/status.json" }

// Room is rooms/<room>/status.json.
type Room struct {
	Schema   int    `json:"schema"`
	RoomID   string `json:"room_id"`
	DeviceID string `json:"device_id"`
	Version  string `json:"version"` // software version of the daemon

	// At is the device's clock when the status was made ("last seen"). An
	// admin tool should prefer the object's LastModified (the server's
	// clock) for staleness, since a device clock may be wrong; ClockOffset
	// says by how much.
	At time.Time `json:"at"`

	Door      room.Door          `json:"door"`
	Recording bool               `json:"recording"` // audio really being captured now
	Recorder  room.RecorderState `json:"recorder"`
	Checks    []room.CheckResult `json:"checks"`

	Queue Queue `json:"queue"`

	FreeDiskBytes uint64 `json:"free_disk_bytes"` // free space of the spool's file system

	// ClockOffsetMS is server time minus device time in milliseconds,
	// measured from the Date header of the last answer from storage;
	// ClockMeasured is when (device time), zero if never measured.
	ClockOffsetMS int64     `json:"clock_offset_ms"`
	ClockMeasured time.Time `json:"clock_measured,omitzero"`
}

// Queue describes what is waiting in the spool for upload.
type Queue struct {
	Objects        int       `json:"objects"`  // files waiting (segments, manifests, deletions, logs)
	Sessions       int       `json:"sessions"` // complete sessions not yet fully uploaded
	Bytes          int64     `json:"bytes"`    // bytes waiting
	OldestUnsent   time.Time `json:"oldest_unsent,omitzero"`
	OldestAgeSec   int64     `json:"oldest_age_seconds"` // 0 when the queue is empty
	Quarantined    int       `json:"quarantined"`        // sessions set aside (checksum mismatch, bad manifest)
	LastError      string    `json:"last_error,omitempty"`
	LastErrorKind  string    `json:"last_error_kind,omitempty"` // "temporary" or "permanent"
	LastUpload     time.Time `json:"last_upload,omitzero"`
	BytesSent      int64     `json:"bytes_sent"` // since the daemon started
	UploadFailures int64     `json:"upload_failures"`
}

// Failing returns the names of the checks that are not good.
func (r *Room) Failing() []string {
	var out []string
	for _, c := range r.Checks {
		if c.State == room.CheckAbnormal {
			out = append(out, c.Name)
		}
	}
	return out
}

// ClockOffset returns ClockOffsetMS as a duration.
func (r *Room) ClockOffset() time.Duration {
	return time.Duration(r.ClockOffsetMS) * time.Millisecond
}

// Stale reports whether a status last written at lastModified (server time)
// is too old at now (server or admin time).
func Stale(lastModified, now time.Time) bool { return now.Sub(lastModified) > StaleAfter }

// Parse decodes a status object and checks what a reader relies on.
func Parse(b []byte) (*Room, error) {
	var r Room
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("parse status.json: %w", err)
	}
	if r.Schema < 1 || r.Schema > SchemaVersion {
		return nil, fmt.Errorf("parse status.json: schema %d not supported (want 1..%d)", r.Schema, SchemaVersion)
	}
	if r.RoomID == "" {
		return nil, fmt.Errorf("parse status.json: room_id missing")
	}
	return &r, nil
}

// Marshal encodes a status with the current schema version.
func (r Room) Marshal() ([]byte, error) {
	r.Schema = SchemaVersion
	return json.MarshalIndent(r, "", "  ")
}
