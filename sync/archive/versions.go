package archive

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/minio/minio-go/v7"

	"roomkiosk/internal/durable"
	"roomkiosk/recorder/manifest"
	"roomkiosk/sync/layout"
)

// The server decides, never the device (docs/ARCHIVE-TRUTH.md). A device
// may put new versions over its room's keys (its policy allows PutObject
// there, and S3 has no "create only" right), and on the pinned MinIO it
// chooses each version's modification time (X-Minio-Source-Mtime), its
// ETag (X-Minio-Source-Etag) and so the order versions are listed in. It
// can never remove a version (object lock keeps them) nor, under its
// policy, name one (the Deny on s3:versionid). So no reader orders versions
// by time: a key whose versions carry different bytes is disputed whatever
// their times, a disputed record decides nothing (no deletion, no pull
// without --original), and the one that was genuine is known only from an
// admin's witness record (witness.go) made before the dispute. A session's
// objects count only in the folder its id and its writer put them in
// (settle); anything else of the session is shown as forged.

// version is one stored version of a key. Modified and ETag are the
// device's to choose: shown, never trusted.
type version struct {
	ID       string
	Modified time.Time
	Size     int64
	ETag     string
	Marker   bool // a delete marker (only an admin can make one)
}

// keyVersions are a key's versions in the server's listing order, which
// follows the device-chosen times and so means nothing.
type keyVersions []version

// writtenVersions are the versions a writer made (delete markers are not).
func (kv keyVersions) writtenVersions() []version {
	var out []version
	for _, v := range kv {
		if !v.Marker {
			out = append(out, v)
		}
	}
	return out
}

// written counts the versions a writer made.
func (kv keyVersions) written() int { return len(kv.writtenVersions()) }

// agree says whether the written versions look like one put retried: the
// same size and ETag. That is a listing's hint only (a device can choose
// an ETag): records are compared byte for byte when read (readRecord), and
// segments are checked against the manifest's SHA-256 (pull).
func (kv keyVersions) agree() bool {
	w := kv.writtenVersions()
	for _, v := range w[min(1, len(w)):] {
		if v.Size != w[0].Size || v.ETag != w[0].ETag {
			return false
		}
	}
	return true
}

// sessionObjects are the versioned objects of one session: those in its
// own folders (Keys) and those a device put anywhere else (Forged).
type sessionObjects struct {
	Room, Session string
	Day           time.Time // the day of the session's id (UTC midnight)
	Keys          map[string]keyVersions
	Manifest      string // key, "" if none
	Summary       string
	Legacy        string // a deleted.json in the folder: reported, not trusted
	// Forged are the session's keys where its writer never puts them, each
	// with why ("key (why)"): listed, never read, never merged.
	Forged []string
	// Disputed are the session's keys whose versions disagree, each as
	// "key (n versions)"; records read whole add theirs in readRecord.
	disputed map[string]string
	// agreed are the records read undisputed, for the witness (key ->
	// what was read).
	agreed map[string]layout.Witness
	// checkWitness: compare even undisputed records with their witness
	// (one GET each). Set for a single session (pull, deletions), where a
	// version rewritten in place under its id (possible on the old device
	// policy) must not decide anything; a fleet listing skips it.
	checkWitness bool
	// ix, in a listing of an admin tool, is the listing index (index.go).
	ix *listingIndex
	mu sync.Mutex
}

func (s *sessionObjects) dispute(key, why string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.disputed == nil {
		s.disputed = map[string]string{}
	}
	if _, ok := s.disputed[key]; !ok {
		s.disputed[key] = why
	}
}

// Tampered lists what a device did to the session after its upload: keys
// whose versions disagree, as "key (n versions)", and keys put where the
// session's writer never puts them; sorted.
func (s *sessionObjects) Tampered() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for k, kv := range s.Keys {
		if why, ok := s.disputed[k]; ok {
			out = append(out, fmt.Sprintf("%s (%s)", k, why))
		} else if n := kv.written(); n > 1 && !kv.agree() {
			out = append(out, fmt.Sprintf("%s (%d versions)", k, n))
		}
	}
	out = append(out, s.Forged...)
	sort.Strings(out)
	return out
}

// listSessionObjects lists every version under prefix and groups the
// session objects by room and session. Keys that are not session objects
// (or are hostile) are skipped. until, if not zero, stops the listing after
// that day's folders.
func (a *Archive) listSessionObjects(ctx context.Context, prefix, startAfter string, until time.Time) (map[string]*sessionObjects, []string, error) {
	out, order, err := a.listVersions(ctx, prefix, startAfter, until)
	for _, s := range out {
		s.settle()
	}
	return out, order, err
}

// listVersions is listSessionObjects before settle.
func (a *Archive) listVersions(ctx context.Context, prefix, startAfter string, until time.Time) (map[string]*sessionObjects, []string, error) {
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
			start, err := layout.SessionStart(k.Session)
			if err != nil {
				continue // Parse checked the id: not reached
			}
			s = &sessionObjects{Room: k.Room, Session: k.Session, Day: day(start), Keys: map[string]keyVersions{}}
			out[id] = s
			order = append(order, id)
		}
		s.Keys[obj.Key] = append(s.Keys[obj.Key], version{ID: obj.VersionID, Modified: obj.LastModified, Size: obj.Size, ETag: obj.ETag, Marker: obj.IsDeleteMarker})
	}
	return out, order, nil
}

func day(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC).In(time.UTC)
}

// settle applies where a session's writer puts its objects (the uploader,
// sync/upload): the summary in the folder of the session's start, which
// is its id's day; the manifest and the segments in the folder of the
// recording's start, which is the id's day or, for a session opened just
// before midnight UTC that records after it, the next day. So: keys in any
// other folder are forged; a manifest (or summary) in both folders makes
// both disputed (one is forged, and nothing says which); segments count
// only beside the manifest. Nothing from two folders is merged.
func (s *sessionObjects) settle() {
	s.Manifest, s.Summary, s.Legacy = "", "", ""
	next := s.Day.AddDate(0, 0, 1)
	type kinds struct{ manifests, summaries, legacy []string }
	var found kinds
	folder := map[string]time.Time{}
	for key := range s.Keys {
		k, err := layout.Parse(key)
		if err != nil {
			delete(s.Keys, key)
			continue
		}
		kd := day(k.Day)
		if !kd.Equal(s.Day) && !kd.Equal(next) {
			s.Forged = append(s.Forged, key+" (in another day's folder than its session id's)")
			delete(s.Keys, key)
			continue
		}
		folder[key] = kd
		switch k.Kind {
		case layout.KindManifest:
			found.manifests = append(found.manifests, key)
		case layout.KindSummary:
			found.summaries = append(found.summaries, key)
		case layout.KindLegacyTombstone:
			found.legacy = append(found.legacy, key)
		}
	}
	sort.Strings(found.manifests)
	sort.Strings(found.summaries)
	sort.Strings(found.legacy)
	pick := func(keys []string, what string) string {
		switch len(keys) {
		case 0:
			return ""
		case 1:
			return keys[0]
		}
		for _, k := range keys {
			s.dispute(k, what+" in two day folders: one is forged")
		}
		return ""
	}
	s.Manifest = pick(found.manifests, "a manifest")
	s.Summary = pick(found.summaries, "a summary")
	if len(found.legacy) > 0 {
		s.Legacy = found.legacy[0]
	}
	if s.Summary != "" && !folder[s.Summary].Equal(s.Day) {
		s.Forged = append(s.Forged, s.Summary+" (a summary in the next day's folder, where its writer never puts one)")
		delete(s.Keys, s.Summary)
		s.Summary = ""
	}
	// Segments belong beside the session's one manifest; with none (or a
	// disputed pair), beside nothing that decides.
	rec, hasRec := time.Time{}, false
	if s.Manifest != "" {
		rec, hasRec = folder[s.Manifest], true
	}
	for key := range s.Keys {
		if k, _ := layout.Parse(key); k.Kind == layout.KindSegment && hasRec && !folder[key].Equal(rec) {
			s.Forged = append(s.Forged, key+" (a segment in another folder than its manifest)")
			delete(s.Keys, key)
		}
	}
	sort.Strings(s.Forged)
}

// sessionFolders lists one session's objects in room, in the two folders
// its writer may use (its id's day and the next).
func (a *Archive) sessionFolders(ctx context.Context, room, sessionID string) (*sessionObjects, error) {
	start, err := layout.SessionStart(sessionID)
	if err != nil {
		return nil, err
	}
	// A reader reads no admin record, the witness included: it relies on
	// the versions agreeing (and on its own keys: a forged record opens
	// no audio).
	merged := &sessionObjects{Room: room, Session: sessionID, Day: day(start), Keys: map[string]keyVersions{}, checkWitness: true}
	for _, d := range []time.Time{start, start.AddDate(0, 0, 1)} {
		got, _, err := a.listVersions(ctx, layout.SessionPrefix(room, d, sessionID), "", time.Time{})
		if err != nil {
			return nil, err
		}
		if s := got[room+"/"+sessionID]; s != nil {
			maps.Copy(merged.Keys, s.Keys)
		}
	}
	merged.settle()
	return merged, nil
}

// maxRecordVersions bounds the versions of one record read to compare
// them; a record with more is disputed unread (a genuine device writes it
// once, and a retry or two carry the same bytes).
const maxRecordVersions = 8

// readRecord reads a session record (manifest or summary) as the server
// holds it: every written version, compared byte for byte. When they all
// agree it returns those bytes. When they differ the record is disputed
// (noted in s): it returns the version the admin's witness saw first, if
// it saw exactly one of them, else ErrDisputed, since no time, ETag or
// listing order says which is genuine.
func (a *Archive) readRecord(ctx context.Context, s *sessionObjects, key string, limit int64) ([]byte, error) {
	vs := s.Keys[key].writtenVersions()
	if len(vs) == 0 {
		return nil, ErrMissing
	}
	if len(vs) > maxRecordVersions {
		s.dispute(key, fmt.Sprintf("%d versions", len(vs)))
		return a.witnessed(ctx, s, key, nil, limit)
	}
	var first []byte
	var firstSum [sha256.Size]byte
	for i, v := range vs {
		b, err := a.readVersion(ctx, s, key, v, limit)
		if err != nil {
			return nil, err
		}
		sum := sha256.Sum256(b)
		if i == 0 {
			first, firstSum = b, sum
			continue
		}
		if sum != firstSum {
			s.dispute(key, fmt.Sprintf("%d versions", len(vs)))
			return a.witnessed(ctx, s, key, vs, limit)
		}
	}
	if s.checkWitness {
		w, err := a.readWitness(ctx, key)
		if err != nil {
			return nil, err
		}
		if w != nil && w.SHA256 != hex.EncodeToString(firstSum[:]) {
			s.dispute(key, "rewritten in place: not the bytes the admin witness saw")
			return nil, fmt.Errorf("%w (the witnessed bytes are gone)", ErrDisputed)
		}
	}
	s.mu.Lock()
	if s.agreed == nil {
		s.agreed = map[string]layout.Witness{}
	}
	s.agreed[key] = layout.Witness{Version: layout.WitnessVersion, Key: key, VersionID: vs[0].ID,
		SHA256: hex.EncodeToString(firstSum[:]), Size: int64(len(first))}
	s.mu.Unlock()
	return first, nil
}

// ErrDisputed is wrapped when a record's versions differ and no admin
// witness saw one of them first.
var ErrDisputed = errors.New("its versions differ and no admin witness saw one of them first: which is genuine cannot be told")

// witnessed returns the version of a disputed record whose bytes the
// admin's witness recorded before the dispute; vs nil: the key has too
// many versions to read them all, so only those of the witnessed size are.
func (a *Archive) witnessed(ctx context.Context, s *sessionObjects, key string, vs []version, limit int64) ([]byte, error) {
	w, err := a.readWitness(ctx, key)
	if err != nil || w == nil {
		return nil, errors.Join(ErrDisputed, err)
	}
	tried := 0
	for _, v := range s.Keys[key].writtenVersions() {
		if v.Size != w.Size || tried == maxRecordVersions {
			continue
		}
		tried++
		b, err := a.readVersion(ctx, s, key, v, limit)
		if err != nil {
			return nil, err
		}
		if sum := sha256.Sum256(b); hex.EncodeToString(sum[:]) == w.SHA256 {
			return b, nil
		}
	}
	return nil, fmt.Errorf("%w (no version holds the bytes the witness saw)", ErrDisputed)
}

// readVersion reads one version of a small record whole, refusing more
// than limit bytes. A version's bytes never change once the device policy
// denies naming a version (docs/ARCHIVE-TRUTH.md), so a version read once
// can be kept locally: listing a fleet's sessions again reads only what is
// new. Not for the "null" version of an unversioned bucket, which a put
// replaces.
func (a *Archive) readVersion(ctx context.Context, s *sessionObjects, key string, v version, limit int64) ([]byte, error) {
	if v.Size > limit {
		return nil, fmt.Errorf("larger than %d bytes", limit)
	}
	b, err := a.readVersionFrom(ctx, s.ix, key, v, limit)
	if err == nil {
		s.ix.keep(s.Room, key, v, b)
	}
	return b, err
}

// readVersionFrom reads a version from the listing index, the local cache
// or the server, in that order.
func (a *Archive) readVersionFrom(ctx context.Context, ix *listingIndex, key string, v version, limit int64) ([]byte, error) {
	if b, ok := ix.lookup(key, v); ok {
		return b, nil
	}
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

// readManifest reads and checks a session's manifest (readRecord).
func (a *Archive) readManifest(ctx context.Context, s *sessionObjects) (*manifest.Manifest, error) {
	b, err := a.readRecord(ctx, s, s.Manifest, maxManifestBytes)
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
	if k, err := layout.Parse(s.Manifest); err == nil && !day(m.Started).Equal(k.Day) {
		// The writer dates the folder by the recording's start.
		return nil, fmt.Errorf("manifest %s: records a start on %s, not in its folder's day", s.Manifest, m.Started.UTC().Format(time.DateOnly))
	}
	return m, nil
}

// readSummary reads and checks a session's summary (readRecord).
func (a *Archive) readSummary(ctx context.Context, s *sessionObjects) (*layout.SummaryRecord, error) {
	b, err := a.readRecord(ctx, s, s.Summary, maxSummaryBytes)
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
	return fmt.Sprintf("session %s of room %s is TAMPERED: %s written by a device after upload; roomctl reads only what every version agrees on or an admin witness saw first, and acts on nothing disputed (pull refuses it without --original)",
		session, room, strings.Join(keys, ", "))
}
