package layout

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"time"

	"roomkiosk/recorder/manifest"
)

// Who may hear a session (issue 23): grants and readers.
//
//	grants/<room>/<session>/<fingerprint>/seg-NNNNNN.wav.age.hdr  an age header for one more recipient
//	grants/<room>/<session>/<fingerprint>/grant.json              the grant record, written last
//	audit/readers/<reader>/<yyyy>/<mm>/<dd>/<time>-<action>-<nonce>.json  a reader's own audit records
//
// A grant gives a recipient a session's file keys without rewriting its
// audio: each header is a new age header (the recipient's stanza, the MAC
// keyed from the same file key) that a pull splices onto the segment's
// original payload. grants/ is outside rooms/, so no device can plant one;
// only admins write there; readers read it (a header is useful only to the
// recipient it wraps the key to). Readers write nothing but their own audit
// records under audit/readers/<reader>/.
const (
	GrantsPrefix       = "grants/"
	ReadersAuditPrefix = AuditPrefix + "readers/"
	GrantFile          = "grant.json"
	GrantVersion       = 1
	// MaxGrantBytes bounds a grant record read (a header per segment, a
	// few hundred bytes each, for up to manifest.MaxSegments segments).
	MaxGrantBytes       = 64 << 20
	readersAuditSegment = "readers"
)

// Kinds of the access keys (after the Kind constants of keys.go).
const (
	KindGrant       Kind = 101 + iota // a grant's record
	KindReaderAudit                   // a reader's own audit record
)

var accessKindNames = map[Kind]string{KindGrant: "grant", KindReaderAudit: "reader audit record"}

// accessKeyString builds the keys of the kinds declared here.
func accessKeyString(k Key) string {
	switch k.Kind {
	case KindGrant:
		return GrantKey(k.Room, k.Session, k.Device)
	case KindReaderAudit:
		return ReaderAuditKey(k.Device, k.At, k.Action, k.Nonce)
	}
	return ""
}

var fingerprintRe = regexp.MustCompile(`^[0-9a-f]{16}$`)

// ValidFingerprint reports whether fp is a recipient fingerprint
// (manifest.Fingerprint).
func ValidFingerprint(fp string) bool { return fingerprintRe.MatchString(fp) }

// ValidReaderName reports whether name can name a reader (a pseudonym used
// in keys, user and policy names: as room ids).
func ValidReaderName(name string) error {
	if !idRe.MatchString(name) {
		return fmt.Errorf("reader %q: 1 to 64 letters, digits, '-' or '_'", name)
	}
	return nil
}

// SessionGrantsPrefix is the prefix of every grant of a session.
func SessionGrantsPrefix(room, session string) string {
	return GrantsPrefix + room + "/" + session + "/"
}

// GrantPrefix is the prefix of one recipient's grant of a session.
func GrantPrefix(room, session, fingerprint string) string {
	return SessionGrantsPrefix(room, session) + fingerprint + "/"
}

// GrantKey is the key of a grant's record, written after its headers.
func GrantKey(room, session, fingerprint string) string {
	return GrantPrefix(room, session, fingerprint) + GrantFile
}

// ReaderAuditPrefix is the one prefix a reader may write under.
func ReaderAuditPrefix(reader string) string { return ReadersAuditPrefix + reader + "/" }

// ReaderAuditKey is the key of a reader's audit record.
func ReaderAuditKey(reader string, at time.Time, action, nonce string) string {
	return ReaderAuditPrefix(reader) + strings.TrimPrefix(AuditKey(at, action, nonce), AuditPrefix)
}

// parseAccessKey parses grants/... and audit/readers/... keys (ok false:
// not one of them).
func parseAccessKey(key string, p []string) (Key, bool, error) {
	switch {
	case p[0] == "grants":
		if len(p) != 5 || ValidRoomID(p[1]) != nil || !ValidSessionID(p[2]) || !ValidFingerprint(p[3]) {
			return Key{}, true, bad(key, "want grants/<room>/<session>/<fingerprint>/<file>")
		}
		if p[4] != GrantFile {
			return Key{}, true, bad(key, "unknown file in a grant")
		}
		return Key{Kind: KindGrant, Room: p[1], Session: p[2], Device: p[3]}, true, nil
	case p[0] == "audit" && len(p) > 1 && p[1] == readersAuditSegment:
		if len(p) != 7 || ValidReaderName(p[2]) != nil {
			return Key{}, true, bad(key, "want audit/readers/<reader>/yyyy/mm/dd/<record>")
		}
		k, err := parseAuditKey(key, append([]string{"audit"}, p[3:]...))
		if err != nil {
			return Key{}, true, err
		}
		k.Kind, k.Device = KindReaderAudit, p[2]
		return k, true, nil
	}
	return Key{}, false, nil
}

// Grant is a grant's record, grants/<room>/<session>/<fingerprint>/grant.json.
type Grant struct {
	Version   int       `json:"version"`
	SessionID string    `json:"session_id"`
	RoomID    string    `json:"room_id"`
	Recipient string    `json:"recipient"` // age1...
	Segments  int       `json:"segments"`  // headers written
	GrantedAt time.Time `json:"granted_at"`
	By        string    `json:"by"` // the admin's access key
	// Headers: segment name -> the new age header (its text) for the
	// recipient. A partial segment cut before any audio has none.
	Headers map[string]string `json:"headers"`
}

// ParseGrant decodes and checks a grant record.
func ParseGrant(b []byte) (*Grant, error) {
	var g Grant
	if err := json.Unmarshal(b, &g); err != nil {
		return nil, fmt.Errorf("parse grant: %w", err)
	}
	switch {
	case g.Version < 1 || g.Version > GrantVersion:
		return nil, fmt.Errorf("parse grant: version %d not supported (want up to %d)", g.Version, GrantVersion)
	case !ValidSessionID(g.SessionID):
		return nil, fmt.Errorf("parse grant: session_id %q is not a session id", g.SessionID)
	case ValidRoomID(g.RoomID) != nil:
		return nil, fmt.Errorf("parse grant: room_id %q is not a room id", g.RoomID)
	case g.Segments < 0 || g.Segments > manifest.MaxSegments:
		return nil, fmt.Errorf("parse grant: segments %d out of range", g.Segments)
	case len(g.Headers) != g.Segments:
		return nil, fmt.Errorf("parse grant: %d headers for %d segments", len(g.Headers), g.Segments)
	}
	for name, h := range g.Headers {
		if _, ok := manifest.ParseSegmentName(name); !ok {
			return nil, fmt.Errorf("parse grant: headers: %q is not a segment name", name)
		}
		if !strings.HasPrefix(h, "age-encryption.org/v1\n") || len(h) > 64<<10 {
			return nil, fmt.Errorf("parse grant: headers[%s]: not an age header", name)
		}
	}
	if err := manifest.ValidAccess(manifest.Access{Role: manifest.RoleEscrow, Recipient: g.Recipient}); err != nil {
		return nil, fmt.Errorf("parse grant: %w", err)
	}
	return &g, nil
}
