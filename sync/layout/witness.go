package layout

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// WitnessPrefix holds the admins' first-seen records of session records,
// outside every device's reach (docs/ARCHIVE-TRUTH.md): the one fact about
// a record's age that no device can set.
const WitnessPrefix = AdminPrefix + "witness/"

// RoomWitnessPrefix is the prefix of one room's witness records.
func RoomWitnessPrefix(room string) string { return WitnessPrefix + room + "/" }

// WitnessKey is the key of the witness record of a session record (its
// manifest or summary): the record's key with rooms/ replaced by
// admin/witness/, so a room's witnesses list like its sessions.
func WitnessKey(recordKey string) string {
	return WitnessPrefix + strings.TrimPrefix(recordKey, RoomsPrefix)
}

// WitnessVersion is the version of the witness record.
const WitnessVersion = 1

// Witness is what an admin tool saw of a session record when it first
// read it undisputed (every version the same bytes): the SHA-256 of those
// bytes. It is written once and never replaced: a later version of the
// record with other bytes is a device's rewrite, and the witnessed bytes
// are the genuine ones.
type Witness struct {
	Version   int       `json:"version"`
	Key       string    `json:"key"`
	VersionID string    `json:"version_id"` // one version holding the bytes
	SHA256    string    `json:"sha256"`
	Size      int64     `json:"size"`
	SeenAt    time.Time `json:"seen_at"` // the admin tool's clock
}

// ParseWitness parses and checks the witness record of recordKey.
func ParseWitness(b []byte, recordKey string) (*Witness, error) {
	var w Witness
	if err := json.Unmarshal(b, &w); err != nil {
		return nil, fmt.Errorf("witness record of %s: %w", recordKey, err)
	}
	switch {
	case w.Version != WitnessVersion:
		return nil, fmt.Errorf("witness record of %s: version %d, want %d", recordKey, w.Version, WitnessVersion)
	case w.Key != recordKey:
		return nil, fmt.Errorf("witness record of %s: names %q", recordKey, w.Key)
	case len(w.SHA256) != 64:
		return nil, fmt.Errorf("witness record of %s: bad sha256", recordKey)
	}
	return &w, nil
}
