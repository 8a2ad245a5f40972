package archive

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"

	"roomkiosk/internal/durable"
	"roomkiosk/recorder/manifest"
	"roomkiosk/sync/layout"
)

// First write wins. A device may put new versions over its room's keys (its
// policy allows PutObject there, and S3 has no "create only" right), but it
// can never remove a version: object lock keeps them. So the archive reads
// the first version of every session object, and a session key with more
// than one version is tampering, reported and never silently followed.

// version is one stored version of a key.
type version struct {
	ID       string
	Modified time.Time
	Size     int64
	Marker   bool // a delete marker (only an admin can make one)
}

// keyVersions are a key's versions, oldest first.
type keyVersions []version

// first is the oldest version that is not a delete marker.
func (kv keyVersions) first() (version, bool) {
	for _, v := range kv {
		if !v.Marker {
			return v, true
		}
	}
	return version{}, false
}

// written counts the versions a writer made (delete markers are not).
func (kv keyVersions) written() int {
	n := 0
	for _, v := range kv {
		if !v.Marker {
			n++
		}
	}
	return n
}

// sessionObjects are the versioned objects of one session folder (or two:
// a session that started just before midnight may span day folders).
type sessionObjects struct {
	Room, Session string
	Day           time.Time // of the first folder seen
	Keys          map[string]keyVersions
	Manifest      string // key, "" if none
	Summary       string
	Legacy        string // a deleted.json in the folder: reported, not trusted
}

// Tampered lists the session keys with more than one written version, as
// "key (n versions)", sorted.
func (s *sessionObjects) Tampered() []string {
	var out []string
	for k, kv := range s.Keys {
		if n := kv.written(); n > 1 {
			out = append(out, fmt.Sprintf("%s (%d versions)", k, n))
		}
	}
	sort.Strings(out)
	return out
}

// firstVersion returns the version id a reader must use for key, or "" if
// the key has no stored version.
func (s *sessionObjects) firstVersion(key string) (version, bool) {
	return s.Keys[key].first()
}

// listSessionObjects lists every version under prefix and groups the
// session objects by room and session. Keys that are not session objects
// (or are hostile) are skipped. until, if not zero, stops the listing after
// that day's folders.
func (a *Archive) listSessionObjects(ctx context.Context, prefix, startAfter string, until time.Time) (map[string]*sessionObjects, []string, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // also ends the listing when we stop early
	out := map[string]*sessionObjects{}
	var order []string
	opts := minio.ListObjectsOptions{Prefix: prefix, Recursive: true, WithVersions: true, StartAfter: startAfter}
	for obj := range a.Client.ListObjects(ctx, a.Bucket, opts) {
		if obj.Err != nil {
			return nil, nil, fmt.Errorf("list versions under %s: %w", prefix, obj.Err)
		}
		k, err := layout.Parse(obj.Key)
		if err != nil || !k.Kind.InSession() {
			continue
		}
		if !until.IsZero() && k.Day.After(until.UTC()) {
			break // keys sort by day: the rest is later still
		}
		id := k.Room + "/" + k.Session
		s := out[id]
		if s == nil {
			s = &sessionObjects{Room: k.Room, Session: k.Session, Day: k.Day, Keys: map[string]keyVersions{}}
			out[id] = s
			order = append(order, id)
		}
		// Versions of a key arrive newest first; prepend keeps oldest first.
		s.Keys[obj.Key] = slices.Insert(s.Keys[obj.Key], 0, version{ID: obj.VersionID, Modified: obj.LastModified, Size: obj.Size, Marker: obj.IsDeleteMarker})
		switch k.Kind {
		case layout.KindManifest:
			s.Manifest = obj.Key
		case layout.KindSummary:
			s.Summary = obj.Key
		case layout.KindLegacyTombstone:
			s.Legacy = obj.Key
		}
	}
	for _, s := range out {
		for k, kv := range s.Keys {
			// The listing order is the server's; the times decide, the
			// listing order breaking ties.
			sort.SliceStable(kv, func(i, j int) bool { return kv[i].Modified.Before(kv[j].Modified) })
			s.Keys[k] = kv
		}
	}
	return out, order, nil
}

// sessionFolders lists one session's objects in room, in the folders of its
// id's day and the next (its recording may start a little after its id).
func (a *Archive) sessionFolders(ctx context.Context, room, sessionID string) (*sessionObjects, error) {
	start, err := layout.SessionStart(sessionID)
	if err != nil {
		return nil, err
	}
	merged := &sessionObjects{Room: room, Session: sessionID, Keys: map[string]keyVersions{}}
	for _, d := range []time.Time{start, start.AddDate(0, 0, 1)} {
		got, _, err := a.listSessionObjects(ctx, layout.SessionPrefix(room, d, sessionID), "", time.Time{})
		if err != nil {
			return nil, err
		}
		s := got[room+"/"+sessionID]
		if s == nil {
			continue
		}
		if merged.Day.IsZero() {
			merged.Day = s.Day
		}
		for k, v := range s.Keys {
			merged.Keys[k] = v
		}
		merged.Manifest = cmp(merged.Manifest, s.Manifest)
		merged.Summary = cmp(merged.Summary, s.Summary)
		merged.Legacy = cmp(merged.Legacy, s.Legacy)
	}
	return merged, nil
}

func cmp(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// getFirst reads the first version of key whole, refusing more than limit
// bytes.
func (a *Archive) getFirst(ctx context.Context, s *sessionObjects, key string, limit int64) ([]byte, error) {
	v, ok := s.firstVersion(key)
	if !ok {
		return nil, ErrMissing
	}
	if v.Size > limit {
		return nil, fmt.Errorf("larger than %d bytes", limit)
	}
	// A version's bytes never change (object lock keeps it, and a put makes
	// a new version), so a first version read once can be kept locally:
	// listing a fleet's sessions again reads only what is new. Not for the
	// "null" version of an unversioned bucket, which a put replaces.
	cache := ""
	if a.CacheDir != "" && v.ID != "" && v.ID != "null" {
		h := sha256.Sum256([]byte(a.Bucket + "\x00" + key + "\x00" + v.ID))
		cache = filepath.Join(a.CacheDir, hex.EncodeToString(h[:1]), hex.EncodeToString(h[1:]))
		if b, err := os.ReadFile(cache); err == nil && int64(len(b)) == v.Size {
			return b, nil
		}
	}
	b, err := a.getVersion(ctx, key, v.ID, limit)
	if err == nil && cache != "" && int64(len(b)) == v.Size {
		// Best effort: a cache that cannot be written costs a GET next time.
		_ = durable.WriteFile(cache, b, durable.Options{Perm: 0o600, MkdirPerm: 0o700, NoSync: true})
	}
	return b, err
}

// readFirstManifest reads and checks the first version of a session's
// manifest.
func (a *Archive) readFirstManifest(ctx context.Context, s *sessionObjects) (*manifest.Manifest, error) {
	b, err := a.getFirst(ctx, s, s.Manifest, maxManifestBytes)
	if err != nil {
		return nil, fmt.Errorf("read manifest %s: %w", s.Manifest, err)
	}
	m, err := manifest.Parse(b)
	if err != nil {
		return nil, fmt.Errorf("manifest %s: %w", s.Manifest, err)
	}
	if m.RoomID != s.Room || m.SessionID != s.Session {
		// A device can only write under its own room, so the path is the
		// authority; a manifest claiming another room is refused.
		return nil, fmt.Errorf("manifest %s: names room %q session %q, not those of its path", s.Manifest, m.RoomID, m.SessionID)
	}
	return m, nil
}

// readFirstSummary reads and checks the first version of a session's
// summary.
func (a *Archive) readFirstSummary(ctx context.Context, s *sessionObjects) (*layout.SummaryRecord, error) {
	b, err := a.getFirst(ctx, s, s.Summary, maxSummaryBytes)
	if err != nil {
		return nil, fmt.Errorf("read session summary %s: %w", s.Summary, err)
	}
	sum, err := layout.ParseSummary(b)
	if err != nil {
		return nil, fmt.Errorf("session summary %s: %w", s.Summary, err)
	}
	if sum.RoomID != s.Room || sum.ID != s.Session {
		return nil, fmt.Errorf("session summary %s: names room %q session %q, not those of its path", s.Summary, sum.RoomID, sum.ID)
	}
	return sum, nil
}

// Limits of the small records a reader loads whole.
const (
	maxManifestBytes = 4 << 20
	maxSummaryBytes  = 64 << 10
	maxRequestBytes  = 64 << 10
)

// tamperWarning says what a tampered session means for the admin.
func tamperWarning(room, session string, keys []string) string {
	return fmt.Sprintf("session %s of room %s is TAMPERED: %s rewritten after upload; roomctl reads the first versions (pull refuses it without --original)",
		session, room, strings.Join(keys, ", "))
}
