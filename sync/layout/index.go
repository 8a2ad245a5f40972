package layout

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// IndexPrefix holds the admins' listing index (docs/ARCHIVE-TRUTH.md,
// "The listing index"): per room and month, the bytes of the session
// records (manifests and summaries) of that month's closed day folders,
// each tied to the version it was read from. Admin tools write it, no
// device can; it is a cache, never an authority: a reader uses an entry
// only for the very version the server lists (same version id, ETag and
// size) and only if its bytes hash to its SHA-256.
const IndexPrefix = AdminPrefix + "index/"

// IndexVersion is the version of the index record.
const IndexVersion = 1

// Bounds of one index record: it is read whole, so a hostile or broken
// one must not cost more than this. A room recording 20 sessions a day
// for a month with hour-long manifests (about 20 KB each) stays well
// under them; records larger than MaxIndexedRecord are read from the
// server instead.
const (
	MaxIndexBytes    = 64 << 20 // uncompressed
	MaxIndexEntries  = 20000
	MaxIndexedRecord = 256 << 10
)

// IndexMonth is the first instant (UTC) of t's month: the period of an
// index record.
func IndexMonth(t time.Time) time.Time {
	t = t.UTC()
	return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
}

// IndexKey is the key of room's index record for the month of t.
func IndexKey(room string, month time.Time) string {
	return IndexPrefix + room + "/" + IndexMonth(month).Format("2006-01") + ".json.gz"
}

// Index is one room-month of the listing index.
type Index struct {
	Version int       `json:"version"`
	Room    string    `json:"room"`
	Month   string    `json:"month"` // yyyy-mm
	Made    time.Time `json:"made"`  // the admin tool's clock
	// ClosedThrough is the last day folder the maker counted as closed:
	// entries are of day folders up to it.
	ClosedThrough string       `json:"closed_through"`
	Entries       []IndexEntry `json:"entries"`
}

// IndexEntry is one version of a session record as an admin tool read
// it from the server.
type IndexEntry struct {
	Key       string `json:"key"`
	VersionID string `json:"version_id"`
	ETag      string `json:"etag"`
	Size      int64  `json:"size"`
	SHA256    string `json:"sha256"`
	Body      []byte `json:"body"`
	// Witnessed: the key's admin witness record exists (the maker found
	// or wrote it), so a listing need not look for it.
	Witnessed bool `json:"witnessed,omitempty"`
}

// NewIndexEntry makes the entry of a version's bytes.
func NewIndexEntry(key, versionID, etag string, body []byte) IndexEntry {
	sum := sha256.Sum256(body)
	return IndexEntry{Key: key, VersionID: versionID, ETag: etag, Size: int64(len(body)), SHA256: hex.EncodeToString(sum[:]), Body: body}
}

// MarshalIndex encodes an index record (gzip'ed JSON).
func MarshalIndex(ix *Index) ([]byte, error) {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if err := json.NewEncoder(zw).Encode(ix); err != nil {
		return nil, fmt.Errorf("encode index %s %s: %w", ix.Room, ix.Month, err)
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("encode index %s %s: %w", ix.Room, ix.Month, err)
	}
	return buf.Bytes(), nil
}

// ParseIndex decodes and checks the index record of room's month from the
// stored (compressed) bytes. Every entry must be a manifest or summary of
// room in a day folder of that month, at most MaxIndexedRecord bytes, its
// body hashing to its SHA-256; anything else refuses the whole record
// (an index that lies about one entry is not believed about the others).
func ParseIndex(stored []byte, room string, month time.Time) (*Index, error) {
	key := IndexKey(room, month)
	zr, err := gzip.NewReader(bytes.NewReader(stored))
	if err != nil {
		return nil, fmt.Errorf("index %s: %w", key, err)
	}
	raw, err := io.ReadAll(io.LimitReader(zr, MaxIndexBytes+1))
	if err != nil {
		return nil, fmt.Errorf("index %s: %w", key, err)
	}
	if len(raw) > MaxIndexBytes {
		return nil, fmt.Errorf("index %s: more than %d bytes uncompressed", key, MaxIndexBytes)
	}
	var ix Index
	if err := json.Unmarshal(raw, &ix); err != nil {
		return nil, fmt.Errorf("index %s: %w", key, err)
	}
	want := IndexMonth(month).Format("2006-01")
	switch {
	case ix.Version != IndexVersion:
		return nil, fmt.Errorf("index %s: version %d, want %d", key, ix.Version, IndexVersion)
	case ix.Room != room || ix.Month != want:
		return nil, fmt.Errorf("index %s: names room %q month %q", key, ix.Room, ix.Month)
	case len(ix.Entries) > MaxIndexEntries:
		return nil, fmt.Errorf("index %s: %d entries, at most %d", key, len(ix.Entries), MaxIndexEntries)
	}
	seen := make(map[string]bool, len(ix.Entries))
	for i, e := range ix.Entries {
		if err := e.check(room, want); err != nil {
			return nil, fmt.Errorf("index %s: entry %d: %w", key, i, err)
		}
		id := e.Key + "\x00" + e.VersionID
		if seen[id] {
			return nil, fmt.Errorf("index %s: entry %d: %s version %q twice", key, i, e.Key, e.VersionID)
		}
		seen[id] = true
	}
	return &ix, nil
}

var errIndexEntry = errors.New("not an indexed session record")

func (e IndexEntry) check(room, month string) error {
	k, err := Parse(e.Key)
	switch {
	case err != nil:
		return err
	case k.Kind != KindManifest && k.Kind != KindSummary:
		return fmt.Errorf("%w: %s is a %s", errIndexEntry, e.Key, k.Kind)
	case k.Room != room:
		return fmt.Errorf("%w: %s is not of room %s", errIndexEntry, e.Key, room)
	case k.Day.Format("2006-01") != month:
		return fmt.Errorf("%w: %s is not in month %s", errIndexEntry, e.Key, month)
	case e.VersionID == "" || e.VersionID == "null" || len(e.VersionID) > 128 || strings.ContainsAny(e.VersionID, "\x00/"):
		return fmt.Errorf("%s: bad version id", e.Key)
	case e.Size != int64(len(e.Body)) || e.Size > MaxIndexedRecord:
		return fmt.Errorf("%s: size %d, body %d bytes (at most %d)", e.Key, e.Size, len(e.Body), MaxIndexedRecord)
	}
	sum := sha256.Sum256(e.Body)
	if hex.EncodeToString(sum[:]) != e.SHA256 {
		return fmt.Errorf("%s: body does not hash to its sha256", e.Key)
	}
	return nil
}
