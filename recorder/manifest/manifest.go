// Package manifest is the JSON document written last into a session's spool
// folder: its presence means the session is complete and ready to upload.
// Anything personal (the consent record) travels age-encrypted in Personal.
//
// Pure Go: roomctl (CGO_ENABLED=0) and the uploader import it.
package manifest

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"roomkiosk/internal/room"
	"strings"
	"time"

	"filippo.io/age"
	"filippo.io/age/armor"

	"roomkiosk/recorder/segment"
)

// Version is the manifest version this package writes and reads.
const Version = 1

// DeletionVersion is the deletion request version this package writes and
// reads.
const DeletionVersion = 1

// Bounds that follow from the format and the recorder's configuration
// limits (recording.segment_length at most 10 min, max_session_length at
// most 12 h, with room for a session recovered across a clock jump). A
// manifest comes from a device a thief may hold, so every reader relies on
// them: no size in a valid manifest can exhaust memory or overflow.
const (
	MaxSegmentLength = 10 * time.Minute
	MaxSessionLength = 24 * time.Hour
	// MaxSegments is a session of MaxSessionLength cut into the shortest
	// segments (1 s).
	MaxSegments = int(MaxSessionLength / time.Second)
	// maxAgeHeader bounds an age header (a stanza per recipient, each
	// about 100 bytes; a device has a handful).
	maxAgeHeader = 64 << 10
	ageNonce     = 16
)

// MaxSegmentFrames is the most frames one segment of format f can hold:
// MaxSegmentLength and a minute of slack (a segment is sealed at the first
// capture buffer past its length, never a minute later).
func MaxSegmentFrames(f Format) int64 {
	return int64((MaxSegmentLength+time.Minute)/time.Second) * int64(max(f.SampleRate, 0))
}

// maxSegmentBytes is the largest ciphertext that can hold samples frames
// of frameBytes each: age header, nonce, the segment header and the PCM,
// a tag per chunk, and one torn chunk after a power cut.
func maxSegmentBytes(samples, frameBytes int64) int64 {
	plain := int64(segment.HeaderSize) + samples*frameBytes
	chunks := plain/segment.ChunkSize + 2
	return maxAgeHeader + ageNonce + plain + chunks*segment.ChunkOverhead + segment.ChunkSize + segment.ChunkOverhead
}

// FileName is the manifest's name inside the session folder.
const FileName = "manifest.json"

// Codec names the PCM encoding of every segment.
const Codec = "pcm_s16le"

// Manifest describes one recorded session.
type Manifest struct {
	Version     int    `json:"version"`
	SessionID   string `json:"session_id"`
	RoomID      string `json:"room_id"`
	DeviceID    string `json:"device_id"`
	CounselorID string `json:"counselor_id"` // pseudonymous
	Format      Format `json:"format"`
	// Started and Ended are wall clock (UTC). Duration is monotonic: the
	// time between the recorder's start and stop as measured by the device.
	Started     time.Time `json:"started"`
	Ended       time.Time `json:"ended"`
	DurationNS  int64     `json:"duration_ns"`
	Segments    []Segment `json:"segments"`
	Gaps        []Gap     `json:"gaps"`
	Interrupted bool      `json:"interrupted"` // written by crash recovery
	Withdrawn   bool      `json:"withdrawn"`   // ended by a participant's withdrawal
	Deleted     bool      `json:"deleted,omitempty"`
	StopReason  string    `json:"stop_reason,omitempty"` // "end", "withdrawn", "disk_floor", "max_length", "recovered"
	// RetentionClass is the class the device's config gives the room
	// ([retention] class): the admin's policy decides what it means, and it
	// can lengthen the room's retention, never shorten it.
	RetentionClass string `json:"retention_class,omitempty"`
	// HeldDecision: a withdrawn session kept after it was held says who
	// decided and when (the client on the kiosk's choice screen; issue
	// 22). Absent for a session never held.
	HeldDecision *room.HeldDecision `json:"held_decision,omitempty"`
	// Children: how many of the participants were children (a count only,
	// as in the summary; the roles' decisions are in the encrypted consent
	// record). The device reads it back for a held session, whose choice
	// screen after a restart asks the guardian as the session's own did.
	// Absent for sessions without children and from before family sessions.
	Children int `json:"children,omitempty"`
	// Personal is an armored age message (to the device's recipients) of
	// the JSON of a Personal value.
	Personal string `json:"personal"`
	// EncryptedTo says, by role, the public keys every segment and the
	// consent record are encrypted to, so that a reader can tell "not
	// yours" without trying its identity. It names no one (public keys
	// only). Absent in manifests from before roles: escrow only. The
	// device writes it, so it is a hint: the age headers decide.
	EncryptedTo []Access `json:"encrypted_to,omitempty"`
}

// Roles a session is encrypted to.
const (
	RoleEscrow     = "escrow"     // the practice's recipients ([encryption] recipients)
	RoleCounselor  = "counselor"  // the session's counselor ([[counselors]] recipient)
	RoleSupervisor = "supervisor" // the counselor's supervisors ([[counselors]] supervisors)
)

// MaxRecipients bounds EncryptedTo (a device has a handful).
const MaxRecipients = 64

// Access is one recipient of a session with its role.
type Access struct {
	Role      string `json:"role"`
	Recipient string `json:"recipient"` // age1... (X25519 public key)
}

// Fingerprint is a short stable name of an age recipient, for object keys
// and displays: the first 16 hex digits of the SHA-256 of its text.
func Fingerprint(recipient string) string {
	h := sha256.Sum256([]byte(recipient))
	return hex.EncodeToString(h[:8])
}

// ValidAccess checks one EncryptedTo entry.
func ValidAccess(a Access) error {
	switch a.Role {
	case RoleEscrow, RoleCounselor, RoleSupervisor:
	default:
		return fmt.Errorf("role %q is not escrow, counselor or supervisor", a.Role)
	}
	if len(a.Recipient) > 128 {
		return errors.New("recipient: too long")
	}
	if _, err := age.ParseX25519Recipient(a.Recipient); err != nil {
		return fmt.Errorf("recipient: %w", err)
	}
	return nil
}

// Roles returns the roles of recipient in the manifest ("" entries none);
// a manifest without EncryptedTo names nobody.
func (m *Manifest) Roles(recipient string) []string {
	var out []string
	for _, a := range m.EncryptedTo {
		if a.Recipient == recipient {
			out = append(out, a.Role)
		}
	}
	return out
}

// Format is the audio format of every segment.
type Format struct {
	Codec      string `json:"codec"`
	SampleRate int    `json:"sample_rate"`
	Channels   int    `json:"channels"`
	Bits       int    `json:"bits"`
}

// Segment is one sealed segment file.
type Segment struct {
	Name    string `json:"name"`    // seg-000001.wav.age
	Index   int    `json:"index"`   // 1-based, as in the name
	Samples int64  `json:"samples"` // frames of PCM; for a partial segment the authenticated prefix
	Bytes   int64  `json:"bytes"`   // ciphertext size
	SHA256  string `json:"sha256"`  // hex of the ciphertext
	Partial bool   `json:"partial"` // sealed by recovery: no final chunk
}

// Gap is audio that was not recorded between two segments (device lost).
type Gap struct {
	AfterSegment int    `json:"after_segment"` // index of the segment before the gap (0: before the first)
	Frames       int64  `json:"frames"`        // length of the gap in frames at the session's rate
	DurationNS   int64  `json:"duration_ns"`
	Reason       string `json:"reason"` // "mic_lost", ...
}

// Personal is what the manifest holds encrypted.
type Personal struct {
	Consent room.ConsentRecord `json:"consent"`
}

// Deletion is a deletion request, written to <spool>/deletions/<id>.json.
type Deletion struct {
	// Version is DeletionVersion; 0 is a request from before versions
	// were recorded, read as version 1.
	Version     int       `json:"version,omitempty"`
	SessionID   string    `json:"session_id"`
	RoomID      string    `json:"room_id"`
	RequestedAt time.Time `json:"requested_at"`
	Reason      string    `json:"reason"` // "withdrawn"
	// Who decided the deletion of a held recording, and when
	// (room.DecidedBy*: the client, a counselor, or the deadline).
	DecidedBy string    `json:"decided_by,omitempty"`
	DecidedAt time.Time `json:"decided_at,omitzero"`
}

var (
	sessionIDRe = regexp.MustCompile(`^[0-9]{8}T[0-9]{6}Z-[0-9a-f]{6}$`)
	idRe        = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)
	segNameRe   = regexp.MustCompile(`^seg-([0-9]{6})\.[a-z0-9]{1,8}\.age$`)
	hexRe       = regexp.MustCompile(`^[0-9a-f]{64}$`)
)

// retentionClassRe is the form of a retention class's name.
var retentionClassRe = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,31}$`)

// ValidRetentionClass reports whether s can name a retention class
// ("supervision", "clinical"): the rule of the device's [retention] class
// and of the admin's policy (sync/layout).
func ValidRetentionClass(s string) bool { return retentionClassRe.MatchString(s) }

// ValidSessionID reports whether id has the core's form
// 20061102T150405Z-abc123 (UTC start and 6 hex digits).
func ValidSessionID(id string) bool { return sessionIDRe.MatchString(id) }

// SegmentName returns the sealed file name of segment index.
func SegmentName(index int, ext string) string { return fmt.Sprintf("seg-%06d.%s.age", index, ext) }

// ParseSegmentName returns the index in a sealed segment name.
func ParseSegmentName(name string) (int, bool) {
	m := segNameRe.FindStringSubmatch(name)
	if m == nil {
		return 0, false
	}
	var n int
	fmt.Sscanf(m[1], "%d", &n)
	return n, n > 0
}

// Validate reports the first problem, naming the field.
func (m *Manifest) Validate() error {
	if d := m.HeldDecision; d != nil && (!validDecider(d.By) || d.At.IsZero() || !m.Withdrawn) {
		return fmt.Errorf("manifest held_decision: by %q at %v on a session withdrawn %v", d.By, d.At, m.Withdrawn)
	}
	switch {
	case m.Version != Version:
		return fmt.Errorf("manifest version: %d not supported (this reader knows %d)", m.Version, Version)
	case !ValidSessionID(m.SessionID):
		return fmt.Errorf("manifest session_id: %q is not of the form 20061102T150405Z-abc123", m.SessionID)
	case !idRe.MatchString(m.RoomID):
		return fmt.Errorf("manifest room_id: %q is not a valid id", m.RoomID)
	case !idRe.MatchString(m.DeviceID):
		return fmt.Errorf("manifest device_id: %q is not a valid id", m.DeviceID)
	case m.CounselorID != "" && !idRe.MatchString(m.CounselorID):
		return fmt.Errorf("manifest counselor_id: %q is not a valid id", m.CounselorID)
	case m.Format.Codec != Codec:
		return fmt.Errorf("manifest format.codec: %q not supported (want %q)", m.Format.Codec, Codec)
	case m.Format.SampleRate < 8000 || m.Format.SampleRate > 192000:
		return fmt.Errorf("manifest format.sample_rate: %d out of range", m.Format.SampleRate)
	case m.Format.Channels != 1 && m.Format.Channels != 2:
		return fmt.Errorf("manifest format.channels: %d not supported", m.Format.Channels)
	case m.Format.Bits != 16:
		return fmt.Errorf("manifest format.bits: %d not supported", m.Format.Bits)
	case m.Started.IsZero():
		return errors.New("manifest started: required")
	case m.Ended.Before(m.Started):
		return fmt.Errorf("manifest ended: %s is before started %s", m.Ended.Format(time.RFC3339), m.Started.Format(time.RFC3339))
	case m.DurationNS < 0:
		return fmt.Errorf("manifest duration_ns: %d is negative", m.DurationNS)
	case m.Children < 0 || m.Children >= room.MaxParticipants:
		// At least one adult is present in any recorded session.
		return fmt.Errorf("manifest children: %d out of range 0-%d", m.Children, room.MaxParticipants-1)
	case m.Personal != "" && !strings.HasPrefix(m.Personal, armor.Header):
		return errors.New("manifest personal: not an armored age message")
	}
	if len(m.EncryptedTo) > MaxRecipients {
		return fmt.Errorf("manifest encrypted_to: %d recipients, more than %d", len(m.EncryptedTo), MaxRecipients)
	}
	for i, a := range m.EncryptedTo {
		if err := ValidAccess(a); err != nil {
			return fmt.Errorf("manifest encrypted_to[%d]: %w", i, err)
		}
	}
	if len(m.Segments) > MaxSegments {
		return fmt.Errorf("manifest segments: %d, more than %d", len(m.Segments), MaxSegments)
	}
	fb := int64(m.Format.Channels * m.Format.Bits / 8)
	maxFrames := MaxSegmentFrames(m.Format)
	prev := 0
	for i, s := range m.Segments {
		idx, ok := ParseSegmentName(s.Name)
		switch {
		case !ok:
			return fmt.Errorf("manifest segments[%d].name: %q is not seg-NNNNNN.<ext>.age", i, s.Name)
		case idx != s.Index:
			return fmt.Errorf("manifest segments[%d].index: %d does not match name %q", i, s.Index, s.Name)
		case s.Index <= prev:
			return fmt.Errorf("manifest segments[%d].index: %d is not increasing", i, s.Index)
		case s.Samples < 0:
			return fmt.Errorf("manifest segments[%d].samples: %d is negative", i, s.Samples)
		case s.Bytes <= 0:
			return fmt.Errorf("manifest segments[%d].bytes: %d must be positive", i, s.Bytes)
		case !hexRe.MatchString(s.SHA256):
			return fmt.Errorf("manifest segments[%d].sha256: not 64 lowercase hex digits", i)
		case s.Samples > maxFrames:
			return fmt.Errorf("manifest segments[%d].samples: %d, more than a %v segment holds", i, s.Samples, MaxSegmentLength)
		case s.Samples > 0 && s.Bytes < int64(segment.HeaderSize)+s.Samples*fb:
			return fmt.Errorf("manifest segments[%d]: %d bytes cannot hold %d samples", i, s.Bytes, s.Samples)
		case s.Bytes > maxSegmentBytes(s.Samples, fb):
			return fmt.Errorf("manifest segments[%d].bytes: %d, more than %d samples take", i, s.Bytes, s.Samples)
		}
		prev = s.Index
	}
	if len(m.Gaps) > MaxSegments+1 {
		return fmt.Errorf("manifest gaps: %d, more than %d", len(m.Gaps), MaxSegments+1)
	}
	maxGap := int64(MaxSessionLength/time.Second) * int64(m.Format.SampleRate)
	var gapTotal int64
	for i, g := range m.Gaps {
		if g.Frames >= 0 && g.Frames <= maxGap {
			gapTotal += g.Frames
		}
		switch {
		case g.Frames > maxGap || gapTotal > maxGap:
			return fmt.Errorf("manifest gaps[%d].frames: more than %v of gaps", i, MaxSessionLength)
		case g.AfterSegment < 0 || g.AfterSegment > prev:
			return fmt.Errorf("manifest gaps[%d].after_segment: %d names no segment", i, g.AfterSegment)
		case g.Frames < 0 || g.DurationNS < 0:
			return fmt.Errorf("manifest gaps[%d]: negative length", i)
		case g.Reason == "":
			return fmt.Errorf("manifest gaps[%d].reason: required", i)
		}
	}
	return nil
}

// Parse decodes and validates a manifest. Unknown fields are errors, so a
// newer writer's document is refused clearly rather than half-read.
func Parse(b []byte) (*Manifest, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	var m Manifest
	if err := d.Decode(&m); err != nil {
		return nil, fmt.Errorf("parse manifest: %w", err)
	}
	if d.More() {
		return nil, errors.New("parse manifest: trailing data after the JSON object")
	}
	if err := m.Validate(); err != nil {
		return nil, err
	}
	return &m, nil
}

// Marshal validates and encodes a manifest (indented, newline-terminated).
func (m *Manifest) Marshal() ([]byte, error) {
	if err := m.Validate(); err != nil {
		return nil, err
	}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode manifest: %w", err)
	}
	return append(b, '\n'), nil
}

// TotalSamples adds up the segments' frames.
func (m *Manifest) TotalSamples() int64 {
	var n int64
	for _, s := range m.Segments {
		n += s.Samples
	}
	return n
}

// SealPersonal encrypts p to recipients as an armored age message.
func SealPersonal(p Personal, recipients ...age.Recipient) (string, error) {
	js, err := json.Marshal(p)
	if err != nil {
		return "", fmt.Errorf("encode personal fields: %w", err)
	}
	var buf bytes.Buffer
	aw := armor.NewWriter(&buf)
	w, err := age.Encrypt(aw, recipients...)
	if err != nil {
		return "", fmt.Errorf("encrypt personal fields: %w", err)
	}
	if _, err := w.Write(js); err != nil {
		return "", fmt.Errorf("encrypt personal fields: %w", err)
	}
	if err := w.Close(); err != nil {
		return "", fmt.Errorf("encrypt personal fields: %w", err)
	}
	if err := aw.Close(); err != nil {
		return "", fmt.Errorf("encrypt personal fields: %w", err)
	}
	return buf.String(), nil
}

// OpenPersonal decrypts the manifest's personal fields with an admin identity.
func (m *Manifest) OpenPersonal(ids ...age.Identity) (Personal, error) {
	var p Personal
	if m.Personal == "" {
		return p, errors.New("open personal fields: manifest has none")
	}
	r, err := age.Decrypt(armor.NewReader(strings.NewReader(m.Personal)), ids...)
	if err != nil {
		return p, fmt.Errorf("open personal fields: %w", err)
	}
	b, err := io.ReadAll(io.LimitReader(r, 1<<20))
	if err != nil {
		return p, fmt.Errorf("open personal fields: %w", err)
	}
	if err := json.Unmarshal(b, &p); err != nil {
		return p, fmt.Errorf("open personal fields: %w", err)
	}
	return p, nil
}

func validDecider(by string) bool {
	return by == room.DecidedByClient || by == room.DecidedByCounselor || by == room.DecidedByDeadline
}

// ParseDeletion decodes and checks a deletion request.
func ParseDeletion(b []byte) (*Deletion, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	var del Deletion
	if err := d.Decode(&del); err != nil {
		return nil, fmt.Errorf("parse deletion request: %w", err)
	}
	switch {
	case del.Version < 0 || del.Version > DeletionVersion:
		return nil, fmt.Errorf("deletion request version: %d not supported (this reader knows up to %d)", del.Version, DeletionVersion)
	case !ValidSessionID(del.SessionID):
		return nil, fmt.Errorf("deletion request session_id: %q is not a session id", del.SessionID)
	case !idRe.MatchString(del.RoomID):
		return nil, fmt.Errorf("deletion request room_id: %q is not a valid id", del.RoomID)
	case del.RequestedAt.IsZero():
		return nil, errors.New("deletion request requested_at: required")
	case del.DecidedBy != "" && (!validDecider(del.DecidedBy) || del.DecidedAt.IsZero()):
		return nil, fmt.Errorf("deletion request decided_by: %q (at %v) is not a decision", del.DecidedBy, del.DecidedAt)
	case del.Reason == "":
		return nil, errors.New("deletion request reason: required")
	}
	return &del, nil
}
