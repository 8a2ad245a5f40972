package layout

import (
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"roomkiosk/recorder/manifest"
)

// The record's lifecycle: how long a session is kept and how it goes.
//
//	admin/retention.json                         the practice's retention classes and each room's class
//	admin/holds/<room>/<session>.json            a legal hold on the session (written before the S3 holds)
//	admin/extensions/<room>/<session>.json       an admin's extension of the session's retention
//	admin/erasures/<room>/<session>.json         an admin's request to erase the session (a client asked)
//	admin/disposals/<room>/<session>.json        a disposal in progress: its intent, written before any delete
//	audit/certificates/<room>/<session>.json     the certificate of a finished disposal (written once)
//
// Everything here is outside rooms/, so no device can write, replace or
// plant it: a device can neither shorten a retention, lift a hold, request
// an erasure nor forge a disposal.

// Prefixes of the lifecycle records.
const (
	RetentionPolicyKey = AdminPrefix + "retention.json"
	HoldsPrefix        = AdminPrefix + "holds/"
	ExtensionsPrefix   = AdminPrefix + "extensions/"
	ErasuresPrefix     = AdminPrefix + "erasures/"
	DisposalsPrefix    = AdminPrefix + "disposals/"
	CertificatesPrefix = AuditPrefix + "certificates/"
)

// Format versions of the lifecycle records.
const (
	RetentionPolicyVersion = 1
	HoldVersion            = 1
	ExtensionVersion       = 1
	ErasureVersion         = 1
	CertificateVersion     = 1
)

// HoldKey is the key of a session's legal hold record.
func HoldKey(room, session string) string { return HoldsPrefix + room + "/" + session + ".json" }

// ExtensionKey is the key of a session's retention extension.
func ExtensionKey(room, session string) string {
	return ExtensionsPrefix + room + "/" + session + ".json"
}

// ErasureKey is the key of an admin's erasure request for a session.
func ErasureKey(room, session string) string { return ErasuresPrefix + room + "/" + session + ".json" }

// DisposalKey is the key of a disposal's intent, present while it runs.
func DisposalKey(room, session string) string {
	return DisposalsPrefix + room + "/" + session + ".json"
}

// CertificateKey is the key of a session's disposal certificate: one per
// session, put once (If-None-Match), so a re-run cannot make a second.
func CertificateKey(room, session string) string {
	return CertificatesPrefix + room + "/" + session + ".json"
}

// lifecycleKinds maps the folder under admin/ (or audit/) to its kind.
var lifecycleKinds = map[string]Kind{
	HoldsPrefix:        KindHold,
	ExtensionsPrefix:   KindExtension,
	ErasuresPrefix:     KindErasure,
	DisposalsPrefix:    KindDisposal,
	CertificatesPrefix: KindCertificate,
}

// parseLifecycleKey parses the per-session lifecycle keys and the policy.
func parseLifecycleKey(key string) (Key, bool) {
	if key == RetentionPolicyKey {
		return Key{Kind: KindRetentionPolicy}, true
	}
	for prefix, kind := range lifecycleKinds {
		rest, ok := strings.CutPrefix(key, prefix)
		if !ok {
			continue
		}
		room, name, ok := strings.Cut(rest, "/")
		if !ok || ValidRoomID(room) != nil {
			return Key{}, false
		}
		id, ok := strings.CutSuffix(name, ".json")
		if !ok || !ValidSessionID(id) {
			return Key{}, false
		}
		return Key{Kind: kind, Room: room, Session: id}, true
	}
	return Key{}, false
}

// lifecycleKey builds the key of a lifecycle kind, "" for other kinds.
func lifecycleKey(k Key) string {
	switch k.Kind {
	case KindRetentionPolicy:
		return RetentionPolicyKey
	case KindHold:
		return HoldKey(k.Room, k.Session)
	case KindExtension:
		return ExtensionKey(k.Room, k.Session)
	case KindErasure:
		return ErasureKey(k.Room, k.Session)
	case KindDisposal:
		return DisposalKey(k.Room, k.Session)
	case KindCertificate:
		return CertificateKey(k.Room, k.Session)
	}
	return ""
}

// ClassDuration is a retention class's length: whole days, months or years
// counted on the calendar from the session's start ("120d", "6m", "7y";
// "2w" is 14 days).
type ClassDuration struct {
	N    int
	Unit byte // 'd', 'w', 'm' or 'y'
}

var classDurRe = regexp.MustCompile(`^([1-9][0-9]{0,4})([dwmy])$`)

// ParseClassDuration reads "120d", "2w", "6m" or "7y" (at most 100 years).
func ParseClassDuration(s string) (ClassDuration, error) {
	m := classDurRe.FindStringSubmatch(s)
	if m == nil {
		return ClassDuration{}, fmt.Errorf("retention %q: want a whole number of days, weeks, months or years, like 120d, 2w, 6m or 7y", s)
	}
	n, _ := strconv.Atoi(m[1])
	d := ClassDuration{N: n, Unit: m[2][0]}
	if d.After(time.Time{}).After(time.Time{}.AddDate(100, 0, 0)) {
		return ClassDuration{}, fmt.Errorf("retention %q: longer than 100 years", s)
	}
	return d, nil
}

func (d ClassDuration) String() string { return strconv.Itoa(d.N) + string(d.Unit) }

// After returns t plus the duration on the UTC calendar.
func (d ClassDuration) After(t time.Time) time.Time {
	t = t.UTC()
	switch d.Unit {
	case 'd':
		return t.AddDate(0, 0, d.N)
	case 'w':
		return t.AddDate(0, 0, 7*d.N)
	case 'm':
		return t.AddDate(0, d.N, 0)
	case 'y':
		return t.AddDate(d.N, 0, 0)
	}
	return t
}

// ValidClassName reports whether s can name a retention class (the rule the
// device's config checks too).
func ValidClassName(s string) bool { return manifest.ValidRetentionClass(s) }

// ReasonCodeRe is the form of a hold's or an erasure's reason code: a short
// code from the practice's own list ("subpoena", "complaint-2026-14"), never
// free text (which could carry a name).
var reasonCodeRe = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,47}$`)

// ValidReasonCode reports whether s is a reason code.
func ValidReasonCode(s string) error {
	if !reasonCodeRe.MatchString(s) {
		return fmt.Errorf("reason %q: want a short code (lowercase letters, digits, '.', '_', '-'; at most 48), never a name or free text", s)
	}
	return nil
}

// RetentionPolicy is admin/retention.json: the practice's retention classes,
// the class of each room and the default for rooms not named. A device's
// config names its room's class too, and the device writes it into the
// session's manifest and summary; the class applied is the longest of the
// room's here and the device's, so a device (a stolen kiosk) can lengthen a
// retention, never shorten it.
type RetentionPolicy struct {
	Version   int               `json:"version"`
	Classes   map[string]string `json:"classes"` // name -> "120d", "7y"
	Default   string            `json:"default"` // class of rooms not in Rooms
	Rooms     map[string]string `json:"rooms,omitempty"`
	UpdatedAt time.Time         `json:"updated_at,omitzero"`
	UpdatedBy string            `json:"updated_by,omitempty"`
}

// Validate checks every class and reference and names the first problem.
func (p *RetentionPolicy) Validate() error {
	if p.Version < 0 || p.Version > RetentionPolicyVersion {
		return fmt.Errorf("retention policy: version %d not supported (want up to %d)", p.Version, RetentionPolicyVersion)
	}
	if len(p.Classes) == 0 {
		return fmt.Errorf("retention policy: no classes")
	}
	for _, name := range sortedKeys(p.Classes) {
		if !ValidClassName(name) {
			return fmt.Errorf("retention policy: class %q: want lowercase letters, digits, '-' and '_', at most 32", name)
		}
		if _, err := ParseClassDuration(p.Classes[name]); err != nil {
			return fmt.Errorf("retention policy: class %s: %w", name, err)
		}
	}
	if _, ok := p.Classes[p.Default]; !ok {
		return fmt.Errorf("retention policy: default class %q is not one of the classes", p.Default)
	}
	for _, room := range sortedKeys(p.Rooms) {
		if err := ValidRoomID(room); err != nil {
			return fmt.Errorf("retention policy: rooms: %w", err)
		}
		if _, ok := p.Classes[p.Rooms[room]]; !ok {
			return fmt.Errorf("retention policy: room %s: class %q is not one of the classes", room, p.Rooms[room])
		}
	}
	return nil
}

// Duration returns a class's length; ok is false for an unknown class.
func (p *RetentionPolicy) Duration(class string) (ClassDuration, bool) {
	s, ok := p.Classes[class]
	if !ok {
		return ClassDuration{}, false
	}
	d, err := ParseClassDuration(s)
	return d, err == nil
}

// RoomClass is the class the policy gives a room.
func (p *RetentionPolicy) RoomClass(room string) string {
	if c, ok := p.Rooms[room]; ok {
		return c
	}
	return p.Default
}

// Retention is what the policy decides for one session.
type Retention struct {
	Class       string    `json:"class"`        // the class applied
	Until       time.Time `json:"retain_until"` // the class's end, or a later extension
	DeviceClass string    `json:"device_class,omitempty"`
	Extended    bool      `json:"extended,omitempty"`
	// Note says why the device's class was not the one applied (unknown to
	// the policy, or shorter than the room's).
	Note string `json:"note,omitempty"`
}

// SessionRetention decides a session's class and retain-until: the longer
// of the room's class and the class the device recorded (an unknown device
// class is ignored), from start (the session's start), then any extension.
func (p *RetentionPolicy) SessionRetention(room string, start time.Time, deviceClass string, extendedUntil time.Time) Retention {
	r := Retention{Class: p.RoomClass(room), DeviceClass: deviceClass}
	if d, ok := p.Duration(r.Class); ok {
		r.Until = d.After(start)
	}
	if deviceClass != "" && deviceClass != r.Class {
		d, ok := p.Duration(deviceClass)
		switch {
		case !ok:
			r.Note = fmt.Sprintf("the device's class %q is not in the policy: the room's class %s applies", deviceClass, r.Class)
		case d.After(start).After(r.Until):
			r.Class, r.Until = deviceClass, d.After(start)
		default:
			r.Note = fmt.Sprintf("the device's class %q is shorter than the room's: %s applies", deviceClass, r.Class)
		}
	}
	if extendedUntil.After(r.Until) {
		r.Until, r.Extended = extendedUntil.UTC(), true
	}
	return r
}

// ParseRetentionPolicy decodes and validates admin/retention.json.
func ParseRetentionPolicy(b []byte) (*RetentionPolicy, error) {
	var p RetentionPolicy
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("parse retention policy: %w", err)
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return &p, nil
}

// Shortened lists the classes of old that next makes shorter or drops: a
// policy change may lengthen classes and add new ones, never shorten one
// already applied to sessions.
func Shortened(old, next *RetentionPolicy) []string {
	var out []string
	ref := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, name := range sortedKeys(old.Classes) {
		od, _ := old.Duration(name)
		nd, ok := next.Duration(name)
		switch {
		case !ok:
			out = append(out, name+" (removed)")
		case nd.After(ref).Before(od.After(ref)):
			out = append(out, fmt.Sprintf("%s (%s -> %s)", name, od, nd))
		}
	}
	return out
}

func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// HoldRecord is admin/holds/<room>/<session>.json: the session is under
// legal hold. It is written before the S3 legal holds go on and removed
// after they come off, so a session with any held version always has it.
type HoldRecord struct {
	Version   int       `json:"version"`
	SessionID string    `json:"session_id"`
	RoomID    string    `json:"room_id"`
	Reason    string    `json:"reason"` // a code, never free text
	At        time.Time `json:"at"`
	Who       string    `json:"who"`
	Host      string    `json:"host,omitempty"`
}

// ExtensionRecord is admin/extensions/<room>/<session>.json: an admin kept
// the session longer than its class.
type ExtensionRecord struct {
	Version   int       `json:"version"`
	SessionID string    `json:"session_id"`
	RoomID    string    `json:"room_id"`
	Until     time.Time `json:"retain_until"`
	Reason    string    `json:"reason"`
	At        time.Time `json:"at"`
	Who       string    `json:"who"`
}

// ErasureRecord is admin/erasures/<room>/<session>.json: an admin asks for
// the session to be disposed of before its retention ends (a client asked
// to erase it). `roomctl dispose` carries it out unless the session is held.
type ErasureRecord struct {
	Version   int       `json:"version"`
	SessionID string    `json:"session_id"`
	RoomID    string    `json:"room_id"`
	Reason    string    `json:"reason"`
	At        time.Time `json:"at"`
	Who       string    `json:"who"`
}

// CertifiedObject is one version a disposal removed.
type CertifiedObject struct {
	Key          string    `json:"key"`
	VersionID    string    `json:"version_id"`
	Size         int64     `json:"size"`
	ETag         string    `json:"etag,omitempty"`
	SHA256       string    `json:"checksum_sha256,omitempty"` // the server's, base64, when uploaded with one
	LastModified time.Time `json:"last_modified,omitzero"`
	DeleteMarker bool      `json:"delete_marker,omitempty"`
}

// Certificate is audit/certificates/<room>/<session>.json: proof that a
// session was disposed of, what was removed and on whose authority. The
// same record, before it is final, is the disposal's intent under
// admin/disposals/ (DisposedAt zero).
type Certificate struct {
	Version     int               `json:"version"`
	SessionID   string            `json:"session_id"`
	RoomID      string            `json:"room_id"`
	Class       string            `json:"class,omitempty"`
	RetainUntil time.Time         `json:"retain_until,omitzero"`
	Reason      string            `json:"reason"` // "retention-ended" or "erasure:<code>"
	Objects     []CertifiedObject `json:"objects"`
	PlannedAt   time.Time         `json:"planned_at"`
	DisposedAt  time.Time         `json:"disposed_at,omitzero"`
	Who         string            `json:"who"`
	Host        string            `json:"host,omitempty"`
}

// Reasons of a disposal.
const (
	DisposalRetentionEnded = "retention-ended"
	DisposalErasurePrefix  = "erasure:"
)

// ParseCertificate decodes and checks a certificate or a disposal intent.
func ParseCertificate(b []byte) (*Certificate, error) {
	var c Certificate
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("parse disposal certificate: %w", err)
	}
	switch {
	case c.Version < 1 || c.Version > CertificateVersion:
		return nil, fmt.Errorf("parse disposal certificate: version %d not supported (want 1 to %d)", c.Version, CertificateVersion)
	case !ValidSessionID(c.SessionID):
		return nil, fmt.Errorf("parse disposal certificate: session_id %q is not a session id", c.SessionID)
	case ValidRoomID(c.RoomID) != nil:
		return nil, fmt.Errorf("parse disposal certificate: room_id %q is not a room id", c.RoomID)
	}
	return &c, nil
}

// ParseHold decodes and checks a hold record.
func ParseHold(b []byte) (*HoldRecord, error) {
	var h HoldRecord
	if err := json.Unmarshal(b, &h); err != nil {
		return nil, fmt.Errorf("parse hold: %w", err)
	}
	if h.Version < 1 || h.Version > HoldVersion || !ValidSessionID(h.SessionID) || ValidRoomID(h.RoomID) != nil {
		return nil, fmt.Errorf("parse hold: version %d, session %q, room %q: not a hold record", h.Version, h.SessionID, h.RoomID)
	}
	return &h, nil
}

// ParseExtension decodes and checks an extension record.
func ParseExtension(b []byte) (*ExtensionRecord, error) {
	var e ExtensionRecord
	if err := json.Unmarshal(b, &e); err != nil {
		return nil, fmt.Errorf("parse retention extension: %w", err)
	}
	if e.Version < 1 || e.Version > ExtensionVersion || !ValidSessionID(e.SessionID) || ValidRoomID(e.RoomID) != nil || e.Until.IsZero() {
		return nil, fmt.Errorf("parse retention extension: not an extension record")
	}
	return &e, nil
}

// ParseErasure decodes and checks an erasure request.
func ParseErasure(b []byte) (*ErasureRecord, error) {
	var e ErasureRecord
	if err := json.Unmarshal(b, &e); err != nil {
		return nil, fmt.Errorf("parse erasure request: %w", err)
	}
	if e.Version < 1 || e.Version > ErasureVersion || !ValidSessionID(e.SessionID) || ValidRoomID(e.RoomID) != nil {
		return nil, fmt.Errorf("parse erasure request: not an erasure record")
	}
	return &e, nil
}
