package archive

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/minio/minio-go/v7"

	"roomkiosk/sync/layout"
)

// The listing index (docs/ARCHIVE-TRUTH.md, "The listing index"). A cold
// listing (a new workstation, the console after a restart) would read
// every version of every manifest and summary from the server: one GET
// each, most of a minute over a fleet's month. The index keeps those bytes
// per room and month under admin/index/, where no device can write, so a
// cold listing reads one object per room-month instead.
//
// It is a cache, never an authority. An entry is used only for the version
// the server lists right now under the same key with the same version id,
// ETag and size, only if its bytes hash to its SHA-256 (ParseIndex), and
// only if they hash to the listed ETag (the MD5 the server computed when
// the record was put: etagVouches). So a stale index (versions added or
// removed since) or a forged one (entries for versions that are not there,
// or other bytes under a listed version) changes nothing a listing says:
// what it lacks is read from the server as before, and every rule of the
// archive's truth (versions compared byte for byte, the witness, the
// folders) runs on the bytes unchanged.
//
// Only closed day folders are indexed (two days old by the admin tool's
// clock: a session opened before midnight records into the next day's
// folder), and a room-month's index is rewritten only when what this
// listing read of its closed days differs from what it holds. Index
// objects are cached data, not records: each is put with a short
// governance retention (indexRetention) so that the version it replaces
// can be removed at once, and a disposed session's records leave the
// index at the next listing.

// closedAfter is how old a day folder must be (whole days, UTC) to be
// indexed.
const closedAfter = 2

// indexRetention is the governance retention an index version is put
// with: it is replaced, not kept.
const indexRetention = time.Minute

// listingIndex is what one listing knows of the index.
type listingIndex struct {
	closedThrough time.Time // the last closed day folder
	// fullMonth says whether the listing reads every folder of a month:
	// a month it sees only part of is used, never rewritten.
	fullMonth func(month time.Time) bool

	mu        sync.Mutex
	entries   map[string]layout.IndexEntry // key \x00 version id -> entry, from stored indexes
	months    map[string]*indexMonth       // room/yyyy-mm -> the months this listing may rewrite
	witnessed map[string]bool              // record keys a stored index says are witnessed
	noted     map[string]bool              // record keys this listing found or made a witness for
}

// indexMonth is one room-month whose index this listing checks.
type indexMonth struct {
	room   string
	month  time.Time
	stored map[string]bool              // key \x00 version id in the stored index -> witnessed (nil: none or unreadable)
	listed map[string]bool              // record versions the listing has in its closed days
	read   map[string]layout.IndexEntry // what this listing read of them
}

func versionRef(key, id string) string { return key + "\x00" + id }

func newListingIndex(now time.Time) *listingIndex {
	return &listingIndex{
		closedThrough: day(now).AddDate(0, 0, -closedAfter),
		entries:       map[string]layout.IndexEntry{},
		months:        map[string]*indexMonth{},
		witnessed:     map[string]bool{},
		noted:         map[string]bool{},
	}
}

// load reads room's index records for the months of its listed closed
// day folders and notes, per month, which record versions the listing
// holds there. An unreadable or hostile index record counts as none.
func (a *Archive) loadIndex(ctx context.Context, ix *listingIndex, room string, objs map[string]*sessionObjects) error {
	months := map[time.Time]*indexMonth{}
	for _, s := range objs {
		for key, kv := range s.Keys {
			k, err := layout.Parse(key)
			if err != nil || (k.Kind != layout.KindManifest && k.Kind != layout.KindSummary) || k.Day.After(ix.closedThrough) {
				continue
			}
			m := layout.IndexMonth(k.Day)
			im := months[m]
			if im == nil {
				im = &indexMonth{room: room, month: m, listed: map[string]bool{}, read: map[string]layout.IndexEntry{}}
				months[m] = im
			}
			for _, v := range kv.writtenVersions() {
				im.listed[versionRef(key, v.ID)] = true
			}
		}
	}
	for m, im := range months {
		key := layout.IndexKey(room, m)
		b, err := a.getVersion(ctx, key, "", layout.MaxIndexBytes)
		if err != nil && !isNoSuchKey(err) {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("read index %s: %w", key, err)
		}
		var stored *layout.Index
		if err == nil {
			stored, _ = layout.ParseIndex(b, room, m) // refused: rewritten below
		}
		ix.mu.Lock()
		if stored != nil {
			im.stored = map[string]bool{}
			for _, e := range stored.Entries {
				// An entry the ETag does not vouch for is not counted as
				// held: the month is rewritten from the server's bytes.
				if etagVouches(e.ETag, e.Body) {
					ix.entries[versionRef(e.Key, e.VersionID)] = e
					im.stored[versionRef(e.Key, e.VersionID)] = e.Witnessed
					if e.Witnessed {
						ix.witnessed[e.Key] = true
					}
				}
			}
		}
		// A month whose index lacks a listed version, holds one no longer
		// listed, or has an entry not known witnessed may be rewritten.
		stale := len(im.stored) != len(im.listed)
		for ref, w := range im.stored {
			stale = stale || !w || !im.listed[ref]
		}
		if stale && (ix.fullMonth == nil || ix.fullMonth(m)) {
			ix.months[room+"/"+m.Format("2006-01")] = im
		}
		ix.mu.Unlock()
	}
	return nil
}

// etagVouches says whether a listed ETag is the MD5 of body. The server
// computes it for a single-part put (every session record is one), so an
// index entry is believed only for bytes the server's own listing vouches
// for: an index forged with other bytes under a real version id, size and
// ETag is not. A version whose ETag a device chose (X-Minio-Source-Etag)
// or that a server encrypts at rest (its ETag is no MD5) is read from the
// server instead.
func etagVouches(etag string, body []byte) bool {
	sum := md5.Sum(body)
	return strings.EqualFold(strings.Trim(etag, `"`), hex.EncodeToString(sum[:]))
}

// lookup returns the indexed bytes of a listed version, if the index
// holds that very version.
func (ix *listingIndex) lookup(key string, v version) ([]byte, bool) {
	if ix == nil || v.ID == "" || v.ID == "null" {
		return nil, false
	}
	ix.mu.Lock()
	e, ok := ix.entries[versionRef(key, v.ID)]
	ix.mu.Unlock()
	if !ok || e.ETag != v.ETag || e.Size != v.Size {
		return nil, false
	}
	return e.Body, true
}

// keep notes the bytes of a version read for a month whose index this
// listing rewrites.
func (ix *listingIndex) keep(room, key string, v version, b []byte) {
	if ix == nil || v.ID == "" || v.ID == "null" || int64(len(b)) > layout.MaxIndexedRecord {
		return
	}
	k, err := layout.Parse(key)
	if err != nil || k.Day.After(ix.closedThrough) {
		return
	}
	ix.mu.Lock()
	defer ix.mu.Unlock()
	im := ix.months[room+"/"+k.Day.Format("2006-01")]
	if im == nil || !im.listed[versionRef(key, v.ID)] {
		return
	}
	im.read[versionRef(key, v.ID)] = layout.NewIndexEntry(key, v.ID, v.ETag, b)
}

// writeIndex rewrites the index of each month whose stored index differs
// from what this listing read of it, and removes the versions it replaces.
func (a *Archive) writeIndex(ctx context.Context, ix *listingIndex) error {
	var todo []*indexMonth
	ix.mu.Lock()
	for _, im := range ix.months {
		for ref, e := range im.read {
			e.Witnessed = ix.witnessed[e.Key] || ix.noted[e.Key]
			im.read[ref] = e
		}
		if len(im.read) > 0 && !sameEntries(im.read, im.stored) {
			todo = append(todo, im)
		}
	}
	ix.mu.Unlock()
	return a.forEach(ctx, len(todo), func(ctx context.Context, i int) error {
		im := todo[i]
		rec := &layout.Index{Version: layout.IndexVersion, Room: im.room, Month: im.month.Format("2006-01"),
			Made: time.Now().UTC(), ClosedThrough: ix.closedThrough.Format(time.DateOnly)}
		for _, ref := range slices.Sorted(maps.Keys(im.read)) {
			rec.Entries = append(rec.Entries, im.read[ref])
		}
		if len(rec.Entries) > layout.MaxIndexEntries {
			return nil // a room this busy is listed from the server
		}
		b, err := layout.MarshalIndex(rec)
		if err != nil {
			return err
		}
		return a.putIndex(ctx, layout.IndexKey(im.room, im.month), b)
	})
}

// sameEntries says whether what a listing read holds the same versions,
// witnessed alike, as the stored index.
func sameEntries(read map[string]layout.IndexEntry, stored map[string]bool) bool {
	if len(read) != len(stored) {
		return false
	}
	for ref, e := range read {
		w, ok := stored[ref]
		if !ok || w != e.Witnessed {
			return false
		}
	}
	return true
}

// unwitnessedFrom returns the first day folder of a room's listed records
// that a stored index does not say are witnessed: a listing looks for
// witness records from there on (need false: nowhere).
func (ix *listingIndex) unwitnessedFrom(objs map[string]*sessionObjects) (from time.Time, need bool) {
	if ix == nil {
		return time.Time{}, true
	}
	ix.mu.Lock()
	defer ix.mu.Unlock()
	for _, s := range objs {
		for key := range s.Keys {
			k, err := layout.Parse(key)
			if err != nil || (k.Kind != layout.KindManifest && k.Kind != layout.KindSummary) || ix.witnessed[key] {
				continue
			}
			if !need || k.Day.Before(from) {
				from, need = k.Day, true
			}
		}
	}
	return from, need
}

// witnessedBefore says whether a stored index records a witness of key.
func (ix *listingIndex) witnessedBefore(key string) bool {
	if ix == nil {
		return false
	}
	ix.mu.Lock()
	defer ix.mu.Unlock()
	return ix.witnessed[key]
}

// noteWitnessed records that key's witness exists (found or written).
func (ix *listingIndex) noteWitnessed(key string) {
	if ix == nil {
		return
	}
	ix.mu.Lock()
	ix.noted[key] = true
	ix.mu.Unlock()
}

// putIndex puts a new version of an index record with a short retention
// and removes its earlier versions.
func (a *Archive) putIndex(ctx context.Context, key string, b []byte) error {
	until := time.Now().Add(indexRetention).UTC()
	opts := minio.PutObjectOptions{ContentType: "application/gzip", SendContentMd5: true, Mode: minio.Governance, RetainUntilDate: until}
	info, err := a.Client.PutObject(ctx, a.Bucket, key, bytes.NewReader(b), int64(len(b)), opts)
	if err != nil {
		// Without the right to set a retention (or object lock), the
		// bucket's default applies: the replaced versions stay until it
		// passes.
		info, err = a.Client.PutObject(ctx, a.Bucket, key, bytes.NewReader(b), int64(len(b)), minio.PutObjectOptions{ContentType: "application/gzip", SendContentMd5: true})
		if err != nil {
			return fmt.Errorf("write index %s: %w", key, err)
		}
	}
	for obj := range a.Client.ListObjects(ctx, a.Bucket, minio.ListObjectsOptions{Prefix: key, WithVersions: true}) {
		if obj.Err != nil || obj.Key != key || obj.VersionID == info.VersionID || obj.VersionID == "" {
			continue
		}
		// The admins' own cache: a replaced version may hold records a
		// disposal removed since, so it goes now, even inside its minute
		// (admins hold the governance bypass; without it, best effort:
		// it goes with the next rewrite).
		err := a.Client.RemoveObject(ctx, a.Bucket, key, minio.RemoveObjectOptions{VersionID: obj.VersionID, GovernanceBypass: true})
		if err != nil {
			_ = a.Client.RemoveObject(ctx, a.Bucket, key, minio.RemoveObjectOptions{VersionID: obj.VersionID})
		}
	}
	return nil
}

// refreshIndex lists rooms again so that their listing index drops what a
// disposal removed now, not at the next listing (disposed records must not
// outlive their certificate in a cache).
func (a *Archive) refreshIndex(ctx context.Context, rooms []string) error {
	if !a.Index || a.Reader {
		return nil
	}
	for _, r := range rooms {
		if _, err := a.Sessions(ctx, Filter{Room: r}); err != nil {
			return fmt.Errorf("refresh the listing index of room %s: %w", r, err)
		}
	}
	return nil
}
