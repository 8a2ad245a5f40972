package room

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"
)

// MaxParticipants is the largest number of clients a session may have.
const MaxParticipants = 6

// Notice codes name the plain reason shown to the room (Snapshot.Notice), so
// that the screen can translate it. Deliberately the same whoever declined,
// so nobody learns who did.
const (
	NoticeNotRecordedChoice   = "not_recorded_choice"
	NoticeNotRecordedDeclined = "not_recorded_declined"
	NoticeRecorderFailed      = "recorder_failed"
	NoticeWithdrawn           = "withdrawn"
	NoticeMaxLength           = "max_length_reached"
	NoticeRecorderStopped     = "recorder_stopped"
	// NoticeRecordingResumed: the daemon restarted during a recorded
	// session and the recording resumed (Snapshot.ResumedGap says how long
	// nothing was recorded).
	NoticeRecordingResumed = "recording_resumed"
)

// Core alert codes (the recorder adds its own).
const (
	AlertMaxLengthNear    = "max_length_near"
	AlertMaxLengthReached = "max_length_reached"
	AlertRecorderFailed   = "recorder_failed"
	// AlertKeepFailed: the participants chose to keep a withdrawn
	// recording but the recorder could not release it; it stays held on
	// the device for an admin.
	AlertKeepFailed = "keep_failed"
)

// TextSHA256 returns the hex SHA-256 of an agreement text, as the screen
// must send it in a consent intent.
func TextSHA256(text string) string {
	h := sha256.Sum256([]byte(text))
	return hex.EncodeToString(h[:])
}

// Duration is a time.Duration that TOML reads from strings such as "30s".
type Duration struct{ time.Duration }

func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("not a duration (use forms like \"30s\", \"5m\", \"2h\"): %q", string(b))
	}
	d.Duration = v
	return nil
}

func (d Duration) MarshalText() ([]byte, error) { return []byte(d.Duration.String()), nil }
