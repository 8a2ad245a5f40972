package layout

import (
	"encoding/json"
	"fmt"
	"regexp"
	"time"
	"unicode"
	"unicode/utf8"

	"roomkiosk/internal/room"
)

// StaleAfter is how old a status may be before an admin tool calls the room
// stale (three missed 60 s intervals).
const StaleAfter = 3 * time.Minute

// Status is rooms/<room>/status.json, the object each kiosk puts every
// storage.status_interval and on every door change, and that `roomctl
// status` reads. It is the one key a device legitimately re-puts, so
// nothing about a session depends on it. It holds no personal data: no
// names, no PINs, no session ids.
type Status struct {
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

	// Maintenance (issue 16): the last technician's entry, the equipment
	// problems counselors reported that no technician has cleared yet, and
	// how many withdrawn recordings wait on the device for a keep-or-delete
	// choice (a count: no session ids).
	LastMaintenance  *room.MaintenanceEntry `json:"last_maintenance,omitempty"`
	ReportedProblems []room.ProblemReport   `json:"reported_problems,omitempty"`
	HeldWaiting      int                    `json:"held_waiting,omitempty"`
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
func (r *Status) Failing() []string {
	var out []string
	for _, c := range r.Checks {
		if c.State == room.CheckAbnormal {
			out = append(out, c.Name)
		}
	}
	return out
}

// ClockOffset returns ClockOffsetMS as a duration (server minus device).
func (r *Status) ClockOffset() time.Duration {
	return time.Duration(r.ClockOffsetMS) * time.Millisecond
}

// ClockResolution is how exactly the offset is known: the server's Date
// header has whole seconds and the offset takes the middle of its second,
// so an offset within half a second either way is no offset at all (two
// measurements of an exact clock may differ in sign). Every display says
// "in step" within it.
const ClockResolution = 500 * time.Millisecond

// DeviceAhead is how far the device's clock is ahead of the storage
// server's (negative: behind), and whether it was ever measured. It is the
// one sign every display uses ("device ahead by 0.5 s"), the clock check's
// value included; the stored field keeps its own, opposite sign.
func (r *Status) DeviceAhead() (time.Duration, bool) {
	return -r.ClockOffset(), !r.ClockMeasured.IsZero() || r.ClockOffsetMS != 0
}

// Stale reports whether a status last written at lastModified (server time)
// is too old at now (server or admin time).
func Stale(lastModified, now time.Time) bool { return now.Sub(lastModified) > StaleAfter }

// Bounds of a status: a device writes it, so a stolen one may write
// anything; these follow from what an honest daemon puts there.
const (
	MaxStatusBytes  = 1 << 20
	maxChecks       = 64
	maxShortText    = 64  // version, check names
	maxCheckText    = 512 // a check's value, threshold, hint
	maxQueueErrText = 1024
)

var checkNameRe = regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]{0,63}$`)

// ParseStatus decodes a status object and checks what a reader relies on:
// the schema, the room, every enum field, and the length of every text.
func ParseStatus(b []byte) (*Status, error) {
	if len(b) > MaxStatusBytes {
		return nil, fmt.Errorf("parse status.json: larger than %d bytes", MaxStatusBytes)
	}
	var r Status
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("parse status.json: %w", err)
	}
	if err := r.validate(); err != nil {
		return nil, fmt.Errorf("parse status.json: %w", err)
	}
	return &r, nil
}

func (r *Status) validate() error {
	switch {
	case r.Schema < 1 || r.Schema > StatusVersion:
		return fmt.Errorf("schema %d not supported (want 1..%d)", r.Schema, StatusVersion)
	case r.RoomID == "":
		return fmt.Errorf("room_id missing")
	case ValidRoomID(r.RoomID) != nil:
		return fmt.Errorf("room_id: not a room id")
	case r.DeviceID != "" && !ValidDeviceID(r.DeviceID):
		return fmt.Errorf("device_id: not a device id")
	case len(r.Version) > maxShortText || !printable(r.Version):
		return fmt.Errorf("version: longer than %d or not printable", maxShortText)
	}
	switch r.Door {
	case "", room.DoorFree, room.DoorInSession, room.DoorOutOfService:
	default:
		return fmt.Errorf("door: not a door state")
	}
	switch r.Recorder {
	case "", room.RecorderIdle, room.RecorderStarting, room.RecorderRecording, room.RecorderFault, room.RecorderStopped:
	default:
		return fmt.Errorf("recorder: not a recorder state")
	}
	if len(r.Checks) > maxChecks {
		return fmt.Errorf("checks: more than %d", maxChecks)
	}
	for i, c := range r.Checks {
		switch {
		case !checkNameRe.MatchString(c.Name):
			return fmt.Errorf("checks[%d].name: not a check name", i)
		case c.State != room.CheckGood && c.State != room.CheckAbnormal && c.State != room.CheckUnknown:
			return fmt.Errorf("checks[%d].state: not a check state", i)
		case len(c.Value) > maxCheckText || len(c.Threshold) > maxCheckText || len(c.Hint) > maxCheckText:
			return fmt.Errorf("checks[%d]: text longer than %d bytes", i, maxCheckText)
		}
	}
	if err := r.validateMaintenance(); err != nil {
		return err
	}
	switch r.Queue.LastErrorKind {
	case "", "temporary", "permanent":
	default:
		return fmt.Errorf("queue.last_error_kind: not an error kind")
	}
	switch {
	case len(r.Queue.LastError) > maxQueueErrText:
		return fmt.Errorf("queue.last_error: longer than %d bytes", maxQueueErrText)
	case r.Queue.Objects < 0 || r.Queue.Sessions < 0 || r.Queue.Bytes < 0 || r.Queue.OldestAgeSec < 0 || r.Queue.Quarantined < 0:
		return fmt.Errorf("queue: negative count")
	}
	return nil
}

// printable reports whether s is valid UTF-8 without control characters.
func printable(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return false
		}
	}
	return true
}

// Marshal encodes a status with the current schema version.
func (r Status) Marshal() ([]byte, error) {
	r.Schema = StatusVersion
	return json.MarshalIndent(r, "", "  ")
}

// validateMaintenance checks the maintenance fields: codes from the fixed
// lists only (a device could write anything there).
func (r *Status) validateMaintenance() error {
	if m := r.LastMaintenance; m != nil {
		switch {
		case !room.ValidMaintenanceAction(m.Action):
			return fmt.Errorf("last_maintenance.action: not a maintenance action")
		case m.Technician != "" && !idRe.MatchString(m.Technician):
			return fmt.Errorf("last_maintenance.technician: not an id")
		case len(m.Cleared) > len(room.ProblemCodes()):
			return fmt.Errorf("last_maintenance.cleared: too many")
		}
		for _, c := range m.Cleared {
			if !room.ValidProblem(c) {
				return fmt.Errorf("last_maintenance.cleared: not a problem code")
			}
		}
	}
	if len(r.ReportedProblems) > len(room.ProblemCodes()) {
		return fmt.Errorf("reported_problems: more than %d", len(room.ProblemCodes()))
	}
	for i, p := range r.ReportedProblems {
		if !room.ValidProblem(p.Problem) {
			return fmt.Errorf("reported_problems[%d].problem: not a problem code", i)
		}
	}
	if r.HeldWaiting < 0 || r.HeldWaiting > 10000 {
		return fmt.Errorf("held_waiting: out of range")
	}
	return nil
}
