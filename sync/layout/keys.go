// Package layout is the archive's contract: every object key a device writes
// and an admin reads, and the records stored under them. Writers (the
// kiosk's uploader) and readers (roomctl's archive reader, provisioning's
// policy, the test kits) build and parse keys only here, so the two sides
// cannot drift. Pure Go: no cgo, no minio.
//
// The bucket:
//
//	rooms/<room>/sessions/<yyyy>/<mm>/<dd>/<session>/seg-NNNNNN.wav.age  audio, age-encrypted
//	rooms/<room>/sessions/<yyyy>/<mm>/<dd>/<session>/manifest.json       written after its segments
//	rooms/<room>/sessions/<yyyy>/<mm>/<dd>/<session>/summary.json        every session, recorded or not
//	rooms/<room>/sessions/<yyyy>/<mm>/<dd>/<session>/deleted.json        legacy tombstone: ignored (a device can write there)
//	rooms/<room>/deletions/<session>.json                                a device's deletion request
//	rooms/<room>/status.json                                             the room's status, re-put often
//	rooms/<room>/checks/<yyyy>/<mm>/<yyyy>-<mm>-<dd>.jsonl               a closed day of the maintenance log
//	rooms/<room>/checks/<yyyy>/<mm>/<yyyy>-<mm>-<dd>.upto-<n>.jsonl      its first n bytes (today's snapshots)
//	rooms/<room>/probe/<device>                                          the upload check's probe
//	audit/<yyyy>/<mm>/<dd>/<time>-<action>-<nonce>.json                  admin audit records
//	admin/tombstones/<room>/<session>.json                               admin: a session's audio was deleted
//	admin/retention.json, admin/{holds,extensions,erasures,disposals}/<room>/<session>.json
//	audit/certificates/<room>/<session>.json                             the record's lifecycle (retention.go)
//
// A session folder's date is its start (UTC). Devices may write under their
// own rooms/<room>/ only (RoomPrefix); everything outside rooms/ is the
// admins' (audit/, admin/), so no record an admin writes can be forged or
// overwritten by a device.
//
// First write wins: versioning and object lock keep every version of every
// key, and a device can add versions over its room's keys. Readers trust the
// first version of every session object, and a session key with more than
// one version is tampering. status.json is the only key a device
// legitimately re-puts, and nothing about a session depends on it; every
// other key is written once (If-None-Match), the maintenance log included
// (a grown day goes up under a new key). Every key component is checked on parsing, so a key listed from
// the bucket (which a hostile device may have chosen) either parses into
// valid ids or is refused: no path traversal, no control characters, no
// foreign room.
package layout

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"roomkiosk/recorder/manifest"
)

// Top-level prefixes of the bucket.
const (
	RoomsPrefix = "rooms/"
	AuditPrefix = "audit/"
	AdminPrefix = "admin/"
	// TombstonesPrefix holds the tombstones, outside every device's reach.
	TombstonesPrefix = AdminPrefix + "tombstones/"
)

// Folder and file names inside a room's prefix.
const (
	sessionsDir  = "sessions"
	deletionsDir = "deletions"
	checksDir    = "checks"
	probeDir     = "probe"

	StatusFile   = "status.json"
	ManifestFile = manifest.FileName // manifest.json
	SummaryFile  = "summary.json"
	// LegacyTombstoneFile is where roomctl once left tombstones, inside a
	// session folder a device can write to: readers ignore it.
	LegacyTombstoneFile = "deleted.json"
)

// Kind says what a key holds.
type Kind int

const (
	KindInvalid     Kind = iota
	KindSegment          // a session's audio segment
	KindManifest         // a session's manifest.json
	KindSummary          // a session's summary.json
	KindTombstone        // an admin's tombstone of a deleted session
	KindDeletion         // a device's deletion request
	KindStatus           // a room's status.json
	KindLogDay           // a closed day of the maintenance log
	KindLogSnapshot      // the first bytes of a day of the maintenance log
	KindProbe            // the upload check's probe
	KindAudit            // an admin audit record
	// KindLegacyTombstone is deleted.json in a session folder: written by
	// roomctl before tombstones moved under admin/, or forged by a device.
	KindLegacyTombstone
	// The record's lifecycle (retention.go): admin records, and the
	// disposal certificates under audit/.
	KindRetentionPolicy // admin/retention.json
	KindHold            // a session's legal hold record
	KindExtension       // an admin's extension of a session's retention
	KindErasure         // an admin's erasure request
	KindDisposal        // a disposal's intent, while it runs
	KindCertificate     // a finished disposal's certificate
)

var kindNames = [...]string{"invalid", "segment", "manifest", "summary", "tombstone", "deletion request",
	"status", "maintenance log day", "maintenance log snapshot", "probe", "audit record", "legacy tombstone",
	"retention policy", "legal hold", "retention extension", "erasure request", "disposal intent", "disposal certificate"}

func (k Kind) String() string {
	if n, ok := accessKindNames[k]; ok {
		return n
	}
	if k < 0 || int(k) >= len(kindNames) {
		return "kind(" + strconv.Itoa(int(k)) + ")"
	}
	return kindNames[k]
}

// InSession reports whether the kind lives in a session folder.
func (k Kind) InSession() bool {
	return k == KindSegment || k == KindManifest || k == KindSummary || k == KindLegacyTombstone
}

// DeviceWritable reports whether a device's policy lets it write keys of
// this kind (everything under its room's prefix). Kinds outside rooms/
// (audit, admin, grants, the record's lifecycle and any added later) are not.
func (k Kind) DeviceWritable() bool {
	return k > KindInvalid && k <= KindLegacyTombstone && k != KindAudit && k != KindTombstone
}

// lifecycle reports whether the kind is a retention, hold or disposal
// record (all outside rooms/).
func (k Kind) lifecycle() bool { return k >= KindRetentionPolicy && k <= KindCertificate }

var (
	idRe      = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)
	actionRe  = regexp.MustCompile(`^[a-z][a-z0-9-]{0,31}$`)
	nonceRe   = regexp.MustCompile(`^[A-Z2-7]{8}$`)
	logFileRe = regexp.MustCompile(`^([0-9]{4})-([0-9]{2})-([0-9]{2})(?:\.upto-([1-9][0-9]{0,15}))?\.jsonl$`)
	auditRe   = regexp.MustCompile(`^([0-9]{8}T[0-9]{6}\.[0-9]{9}Z)-([a-z][a-z0-9-]{0,31})-([A-Z2-7]{8})\.json$`)
)

// ValidRoomID reports whether id can name a room: it is used in object keys,
// user and policy names, so only letters, digits, '-' and '_', at most 64
// (as the device config's room.id).
func ValidRoomID(id string) error {
	if id == "" || len(id) > 64 {
		return fmt.Errorf("room %q: must be 1 to 64 characters", id)
	}
	if !idRe.MatchString(id) {
		return fmt.Errorf("room %q: may hold only letters, digits, '-' and '_'", id)
	}
	return nil
}

// ValidDeviceID reports whether id can name a device (same rule as rooms).
func ValidDeviceID(id string) bool { return idRe.MatchString(id) }

// ValidSessionID reports whether id has the core's form
// 20061102T150405Z-abc123.
func ValidSessionID(id string) bool { return manifest.ValidSessionID(id) }

// SessionStart returns the UTC start a session id begins with.
func SessionStart(id string) (time.Time, error) {
	if !ValidSessionID(id) {
		return time.Time{}, fmt.Errorf("session %q: not a session id (like 20261102T150405Z-abc123)", id)
	}
	t, err := time.Parse("20060102T150405Z", id[:16])
	if err != nil {
		return time.Time{}, fmt.Errorf("session %q: %w", id, err)
	}
	return t, nil
}

// Key is a parsed object key. Fields not used by its Kind are zero.
type Key struct {
	Kind    Kind
	Room    string
	Session string    // session objects and deletion requests
	Day     time.Time // session folder day, log day, audit day (UTC midnight)
	Name    string    // file name in a session folder (a segment's sealed name)
	Segment int       // KindSegment: the index in Name
	Upto    int64     // KindLogSnapshot: bytes of the day it holds
	Device  string    // KindProbe
	At      time.Time // KindAudit: the record's time
	Action  string    // KindAudit
	Nonce   string    // KindAudit
}

// String builds the key; it is the inverse of Parse for every valid Key.
func (k Key) String() string {
	switch k.Kind {
	case KindSegment, KindManifest, KindSummary, KindLegacyTombstone:
		return SessionPrefix(k.Room, k.Day, k.Session) + k.Name
	case KindTombstone:
		return TombstoneKey(k.Room, k.Session)
	case KindDeletion:
		return DeletionKey(k.Room, k.Session)
	case KindStatus:
		return StatusKey(k.Room)
	case KindLogDay:
		return LogDayKey(k.Room, k.Day)
	case KindLogSnapshot:
		return LogSnapshotKey(k.Room, k.Day, k.Upto)
	case KindProbe:
		return ProbeKey(k.Room, k.Device)
	case KindAudit:
		return AuditKey(k.At, k.Action, k.Nonce)
	}
	if s := lifecycleKey(k); s != "" {
		return s
	}
	return accessKeyString(k)
}

// RoomPrefix is the prefix of everything of one room: the one place its
// device may write.
func RoomPrefix(room string) string { return RoomsPrefix + room + "/" }

// SessionsPrefix is the prefix of a room's session folders.
func SessionsPrefix(room string) string { return RoomPrefix(room) + sessionsDir + "/" }

// SessionsPattern matches every room's session folders and their objects
// in a bucket policy (S3 wildcards: a prefix condition or a resource).
const SessionsPattern = RoomsPrefix + "*/" + sessionsDir + "/*"

// SessionDayPrefix is the prefix of a room's session folders of one day.
func SessionDayPrefix(room string, day time.Time) string {
	return SessionsPrefix(room) + day.UTC().Format("2006/01/02") + "/"
}

// SessionPrefix is the folder of a session's objects, dated by its start
// (UTC).
func SessionPrefix(room string, started time.Time, session string) string {
	return SessionDayPrefix(room, started) + session + "/"
}

// SegmentKey is the key of a session's segment (name: its sealed name).
func SegmentKey(room string, started time.Time, session, name string) string {
	return SessionPrefix(room, started, session) + name
}

// ManifestKey is the key of a session's manifest.
func ManifestKey(room string, started time.Time, session string) string {
	return SessionPrefix(room, started, session) + ManifestFile
}

// SummaryKey is the key of a session's summary, dated by the session's
// start.
func SummaryKey(room string, started time.Time, session string) string {
	return SessionPrefix(room, started, session) + SummaryFile
}

// TombstoneKey is the key of a deleted session's tombstone, under admin/
// where no device may write.
func TombstoneKey(room, session string) string { return RoomTombstonesPrefix(room) + session + ".json" }

// RoomTombstonesPrefix is the prefix of one room's tombstones.
func RoomTombstonesPrefix(room string) string { return TombstonesPrefix + room + "/" }

// LegacyTombstoneKey is where roomctl once wrote a tombstone (in the
// session's folder): readers report it, never trust it.
func LegacyTombstoneKey(room string, started time.Time, session string) string {
	return SessionPrefix(room, started, session) + LegacyTombstoneFile
}

// DeletionsPrefix is the prefix of a room's deletion requests.
func DeletionsPrefix(room string) string { return RoomPrefix(room) + deletionsDir + "/" }

// DeletionKey is the key of a room's deletion request for a session.
func DeletionKey(room, session string) string { return DeletionsPrefix(room) + session + ".json" }

// StatusKey is the key of a room's status.
func StatusKey(room string) string { return RoomPrefix(room) + StatusFile }

// ChecksPrefix is the prefix of a room's maintenance log.
func ChecksPrefix(room string) string { return RoomPrefix(room) + checksDir + "/" }

// LogFileName is the maintenance log's local file name of a UTC day
// (YYYY-MM-DD.jsonl), as the check runner writes it.
func LogFileName(day time.Time) string { return day.UTC().Format("2006-01-02") + ".jsonl" }

// ParseLogFileName returns the day of a local maintenance log file name.
func ParseLogFileName(name string) (time.Time, bool) {
	m := logFileRe.FindStringSubmatch(name)
	if m == nil || m[4] != "" {
		return time.Time{}, false
	}
	d, err := time.Parse("2006-01-02", m[1]+"-"+m[2]+"-"+m[3])
	return d, err == nil
}

func logFolder(room string, day time.Time) string {
	return ChecksPrefix(room) + day.UTC().Format("2006/01") + "/"
}

// LogDayKey is the key of a closed day of a room's maintenance log.
func LogDayKey(room string, day time.Time) string { return logFolder(room, day) + LogFileName(day) }

// LogSnapshotKey is the key of the first upto bytes of a day of a room's
// maintenance log. The key changes with the size, so every snapshot is a new
// key, never a new version of an old one.
func LogSnapshotKey(room string, day time.Time, upto int64) string {
	return LogDayPrefix(room, day) + ".upto-" + strconv.FormatInt(upto, 10) + ".jsonl"
}

// LogDayPrefix begins every key of one day of a room's maintenance log (the
// whole day and its snapshots), and sorts before all of them: a listing
// that starts after it skips the earlier days.
func LogDayPrefix(room string, day time.Time) string {
	return logFolder(room, day) + day.UTC().Format("2006-01-02")
}

// ProbeKey is the key the upload check puts (If-None-Match) to prove the
// device may write to its room.
func ProbeKey(room, device string) string { return RoomPrefix(room) + probeDir + "/" + device }

// AuditKey is the key of an audit record: it sorts by time and, with a
// random nonce (8 base32 characters), never collides.
func AuditKey(at time.Time, action, nonce string) string {
	at = at.UTC()
	return AuditPrefix + at.Format("2006/01/02") + "/" + at.Format("20060102T150405.000000000Z") + "-" + action + "-" + nonce + ".json"
}

// AuditDayPrefix is the prefix of one day's audit records.
func AuditDayPrefix(day time.Time) string { return AuditPrefix + day.UTC().Format("2006/01/02") }

// ErrNotAKey is wrapped by every Parse error.
var ErrNotAKey = errors.New("not an archive key")

func bad(key, why string) error {
	return fmt.Errorf("%w: %q: %s", ErrNotAKey, key, why)
}

func parseDay(y, m, d string) (time.Time, bool) {
	if len(y) != 4 || len(m) != 2 || len(d) != 2 {
		return time.Time{}, false
	}
	t, err := time.Parse("2006/01/02", y+"/"+m+"/"+d)
	return t, err == nil
}

// ParseRoomPrefix returns the room of a listed common prefix rooms/<room>/.
func ParseRoomPrefix(prefix string) (string, bool) {
	r, ok := strings.CutPrefix(prefix, RoomsPrefix)
	if !ok {
		return "", false
	}
	r, ok = strings.CutSuffix(r, "/")
	if !ok || ValidRoomID(r) != nil {
		return "", false
	}
	return r, true
}

// Parse splits and checks a key. Anything that is not exactly a key this
// package builds is refused with an error wrapping ErrNotAKey.
func Parse(key string) (Key, error) {
	if len(key) > 512 {
		return Key{}, bad(key[:64]+"...", "too long")
	}
	if k, ok := parseLifecycleKey(key); ok {
		return k, nil
	}
	p := strings.Split(key, "/")
	if k, ok, err := parseAccessKey(key, p); ok {
		return k, err
	}
	switch p[0] {
	case "rooms":
		return parseRoomKey(key, p)
	case "audit":
		return parseAuditKey(key, p)
	case "admin":
		if len(p) == 4 && p[1] == "tombstones" && ValidRoomID(p[2]) == nil {
			if id, ok := strings.CutSuffix(p[3], ".json"); ok && ValidSessionID(id) {
				return Key{Kind: KindTombstone, Room: p[2], Session: id}, nil
			}
		}
		return Key{}, bad(key, "unknown key under admin/")
	}
	return Key{}, bad(key, "outside rooms/, audit/, admin/ and grants/")
}

func parseAuditKey(key string, p []string) (Key, error) {
	if len(p) != 5 {
		return Key{}, bad(key, "want audit/yyyy/mm/dd/<time>-<action>-<nonce>.json")
	}
	day, ok := parseDay(p[1], p[2], p[3])
	if !ok {
		return Key{}, bad(key, "bad day folder")
	}
	m := auditRe.FindStringSubmatch(p[4])
	if m == nil {
		return Key{}, bad(key, "bad audit record name")
	}
	at, err := time.Parse("20060102T150405.000000000Z", m[1])
	if err != nil || !sameDay(at, day) {
		return Key{}, bad(key, "record time does not match its day folder")
	}
	k := Key{Kind: KindAudit, Day: day, At: at, Action: m[2], Nonce: m[3]}
	return k, nil
}

func sameDay(t, day time.Time) bool {
	return t.UTC().Format("2006-01-02") == day.Format("2006-01-02")
}

func parseRoomKey(key string, p []string) (Key, error) {
	if len(p) < 3 || ValidRoomID(p[1]) != nil {
		return Key{}, bad(key, "bad room")
	}
	room := p[1]
	switch p[2] {
	case StatusFile:
		if len(p) != 3 {
			break
		}
		return Key{Kind: KindStatus, Room: room}, nil
	case sessionsDir:
		if len(p) != 8 {
			return Key{}, bad(key, "want rooms/<room>/sessions/yyyy/mm/dd/<session>/<file>")
		}
		day, ok := parseDay(p[3], p[4], p[5])
		if !ok {
			return Key{}, bad(key, "bad day folder")
		}
		if !ValidSessionID(p[6]) {
			return Key{}, bad(key, "bad session id")
		}
		k := Key{Room: room, Day: day, Session: p[6], Name: p[7]}
		switch p[7] {
		case ManifestFile:
			k.Kind = KindManifest
		case SummaryFile:
			k.Kind = KindSummary
		case LegacyTombstoneFile:
			k.Kind = KindLegacyTombstone
		default:
			idx, ok := manifest.ParseSegmentName(p[7])
			if !ok {
				return Key{}, bad(key, "unknown file in a session folder")
			}
			k.Kind, k.Segment = KindSegment, idx
		}
		return k, nil
	case deletionsDir:
		if len(p) != 4 {
			break
		}
		id, ok := strings.CutSuffix(p[3], ".json")
		if !ok || !ValidSessionID(id) {
			return Key{}, bad(key, "bad deletion request name")
		}
		return Key{Kind: KindDeletion, Room: room, Session: id}, nil
	case checksDir:
		if len(p) != 6 {
			break
		}
		m := logFileRe.FindStringSubmatch(p[5])
		if m == nil || m[1] != p[3] || m[2] != p[4] {
			return Key{}, bad(key, "bad maintenance log name")
		}
		day, ok := parseDay(m[1], m[2], m[3])
		if !ok {
			return Key{}, bad(key, "bad maintenance log day")
		}
		if m[4] == "" {
			return Key{Kind: KindLogDay, Room: room, Day: day}, nil
		}
		n, err := strconv.ParseInt(m[4], 10, 64)
		if err != nil {
			return Key{}, bad(key, "bad snapshot size")
		}
		return Key{Kind: KindLogSnapshot, Room: room, Day: day, Upto: n}, nil
	case probeDir:
		if len(p) != 4 || !ValidDeviceID(p[3]) {
			break
		}
		return Key{Kind: KindProbe, Room: room, Device: p[3]}, nil
	}
	return Key{}, bad(key, "unknown key under a room")
}
