package archive_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"roomkiosk/internal/room"
	"roomkiosk/recorder/manifest"
	"roomkiosk/sync/archive"
	"roomkiosk/sync/archive/archivetest"
	"roomkiosk/sync/layout"
	"roomkiosk/sync/store"
	"roomkiosk/sync/store/miniostore"
)

// getCounter counts the GETs of session records (manifests, summaries)
// a client sends, by key.
type getCounter struct {
	next http.RoundTripper
	mu   sync.Mutex
	gets map[string]int
}

func (c *getCounter) RoundTrip(r *http.Request) (*http.Response, error) {
	p := r.URL.Path
	if pre := r.URL.Query().Get("prefix"); r.Method == http.MethodGet && strings.HasPrefix(pre, layout.WitnessPrefix) {
		c.mu.Lock()
		c.gets["LIST "+pre+" after "+r.URL.Query().Get("start-after")]++
		c.mu.Unlock()
	}
	if r.Method == http.MethodGet && strings.Contains(p, "/"+layout.RoomsPrefix) &&
		(strings.HasSuffix(p, "/"+manifest.FileName) || strings.HasSuffix(p, "/"+layout.SummaryFile)) {
		c.mu.Lock()
		c.gets[p[strings.Index(p, layout.RoomsPrefix):]]++
		c.mu.Unlock()
	}
	return c.next.RoundTrip(r)
}

func (c *getCounter) take() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	g := c.gets
	c.gets = map[string]int{}
	return g
}

// TestListingIndex: the admins' listing index (sync/archive/index.go) lets
// a cold listing read no record of a closed day from the server, and a
// stale, forged or broken index changes nothing a listing says. Sessions
// are put the way a kiosk puts them (sync/store/miniostore with a room's
// write-only credentials).
func TestListingIndex(t *testing.T) {
	e := setup(t)
	ak, sk := e.srv.AddWriteOnlyUser(t, bucket, "rooms/101/")
	dev, err := miniostore.New(miniostore.Config{Endpoint: "http://" + e.srv.Host, Bucket: bucket, AccessKey: ak, SecretKey: sk})
	if err != nil {
		t.Fatal(err)
	}
	devPut := func(key string, b []byte) {
		t.Helper()
		// As the uploader puts a session's objects (sync/upload).
		if _, err := dev.Put(e.ctx, key, bytes.NewReader(b), int64(len(b)), sha256.Sum256(b), store.PutOptions{IfAbsent: true, ContentType: "application/json"}); err != nil {
			t.Fatalf("device put %s: %v", key, err)
		}
	}
	upload := func(started time.Time, seed uint64) *archivetest.Session {
		s := archivetest.Build(t, archivetest.Spec{Room: "101", Started: started, Seed: seed,
			Segments: []archivetest.SegSpec{{Frames: 8000}}}, e.id.Recipient())
		for _, seg := range s.Manifest.Segments {
			devPut(s.Prefix+seg.Name, s.Files[seg.Name])
		}
		mb, _ := s.Manifest.Marshal()
		devPut(s.Prefix+manifest.FileName, mb)
		sb, _ := json.Marshal(layout.SummaryRecord{Version: layout.SummaryVersion, RoomID: "101",
			Summary: room.Summary{ID: s.Manifest.SessionID, Started: started, Ended: s.Manifest.Ended, Participants: 2, Recorded: true}})
		devPut(layout.SummaryKey("101", started, s.Manifest.SessionID), sb)
		return s
	}
	closed := []*archivetest.Session{
		upload(at("2026-11-02T10:00:00Z"), 1),
		upload(at("2026-11-03T10:00:00Z"), 2),
		upload(at("2026-11-05T10:00:00Z"), 3),
	}
	today := upload(time.Now().UTC().Truncate(time.Second), 4) // an open day: never indexed
	month := at("2026-11-01T00:00:00Z")
	ixKey := layout.IndexKey("101", month)

	admin := func(index bool) (*archive.Archive, *getCounter) {
		c := &getCounter{next: http.DefaultTransport, gets: map[string]int{}}
		cl, err := minio.New(e.srv.Host, &minio.Options{Creds: credentials.NewStaticV4(e.srv.AccessKey, e.srv.SecretKey, ""), Transport: c})
		if err != nil {
			t.Fatal(err)
		}
		return &archive.Archive{Client: cl, Bucket: bucket, Witness: true, Index: index}, c
	}
	list := func(ar *archive.Archive, f archive.Filter) string {
		t.Helper()
		rows, err := ar.Sessions(e.ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(rows)
		return string(b)
	}
	plain, _ := admin(false)
	stored := func() *layout.Index {
		t.Helper()
		o, err := e.cl.GetObject(e.ctx, bucket, ixKey, minio.GetObjectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(o)
		ix, err := layout.ParseIndex(b, "101", month)
		if err != nil {
			t.Fatalf("stored index: %v", err)
		}
		return ix
	}
	indexVersions := func() []string {
		var ids []string
		for obj := range e.cl.ListObjects(e.ctx, bucket, minio.ListObjectsOptions{Prefix: ixKey, WithVersions: true}) {
			if obj.Err != nil {
				t.Fatal(obj.Err)
			}
			if !obj.IsDeleteMarker {
				ids = append(ids, obj.VersionID)
			}
		}
		return ids
	}
	closedGets := func(g map[string]int) int {
		n := 0
		for k, c := range g {
			if strings.HasPrefix(k, layout.RoomsPrefix) && strings.Contains(k, "/2026/11/") {
				n += c
			}
		}
		return n
	}

	// The first admin listing reads every record and writes the index of
	// the closed days only.
	first, _ := admin(true)
	want := list(first, archive.Filter{})
	if got := list(plain, archive.Filter{}); got != want {
		t.Fatalf("listing with the index differs from one without:\n%s\n%s", want, got)
	}
	if ix := stored(); len(ix.Entries) != 2*len(closed) {
		t.Fatalf("index holds %d entries, want %d (the closed days' manifests and summaries)", len(ix.Entries), 2*len(closed))
	}
	for obj := range e.cl.ListObjects(e.ctx, bucket, minio.ListObjectsOptions{Prefix: layout.IndexPrefix, Recursive: true}) {
		if obj.Key != ixKey {
			t.Fatalf("index %s written: only %s has closed days", obj.Key, ixKey)
		}
	}
	if _, until, err := e.cl.GetObjectRetention(e.ctx, bucket, ixKey, ""); err != nil || until == nil || time.Until(*until) > 2*time.Minute {
		t.Fatalf("index retention until %v, %v: an index version is replaced, not kept", until, err)
	}

	t.Run("ColdListingReadsNoClosedRecord", func(t *testing.T) {
		cold, gets := admin(true)
		if got := list(cold, archive.Filter{}); got != want {
			t.Fatalf("cold listing differs:\n%s\n%s", want, got)
		}
		g := gets.take()
		if n := closedGets(g); n != 0 {
			t.Fatalf("cold listing read %d closed-day records from the server: %v", n, g)
		}
		if g[layout.SummaryKey("101", today.Manifest.Started, today.Manifest.SessionID)] == 0 {
			t.Fatalf("today's summary was not read from the server: %v", g)
		}
		// The index says the closed days' records are witnessed: witness
		// records are listed from today's folder only.
		day := strings.TrimSuffix(layout.WitnessKey(layout.SessionDayPrefix("101", today.Manifest.Started)), "/")
		if n := g["LIST "+layout.RoomWitnessPrefix("101")+" after "+day]; n != 1 {
			t.Fatalf("witness listings: %v, want one, from today's folder", g)
		}
		if n := len(indexVersions()); n != 1 {
			t.Fatalf("an unchanged index was rewritten: %d versions", n)
		}
	})

	t.Run("DeviceCannotWriteTheIndex", func(t *testing.T) {
		devCl := e.srv.ClientFor(t, ak, sk)
		_, err := devCl.PutObject(e.ctx, bucket, ixKey, strings.NewReader("x"), 1, minio.PutObjectOptions{})
		if code := minio.ToErrorResponse(err).Code; code != "AccessDenied" {
			t.Fatalf("device put of %s: %v, want AccessDenied", ixKey, err)
		}
	})

	// An index written with admin credentials but lying: a summary's bytes
	// changed under its real version id, size, ETag and a recomputed
	// SHA-256; then also an entry for a version that does not exist.
	for _, withGhost := range []bool{false, true} {
		t.Run(fmt.Sprintf("ForgedIndexIsNotBelieved/ghost=%v", withGhost), func(t *testing.T) {
			ix := stored()
			forgedKey := layout.SummaryKey("101", closed[0].Manifest.Started, closed[0].Manifest.SessionID)
			for i, en := range ix.Entries {
				if en.Key == forgedKey {
					body := bytes.Replace(en.Body, []byte(`"participants":2`), []byte(`"participants":7`), 1)
					if bytes.Equal(body, en.Body) {
						t.Fatalf("summary has no participants field: %s", en.Body)
					}
					ix.Entries[i] = layout.NewIndexEntry(en.Key, en.VersionID, en.ETag, body)
				}
			}
			if withGhost {
				ix.Entries = append(ix.Entries, layout.NewIndexEntry(layout.SummaryKey("101", at("2026-11-07T10:00:00Z"), "20261107T100000Z-0000aa"),
					"0b7e2e9c-0000-4000-8000-000000000000", "99914b932bd37a50b983c5e7c90ae93b", []byte(`{}`)))
			}
			putIndex(t, e, ixKey, ix)
			cold, gets := admin(true)
			if got := list(cold, archive.Filter{}); got != want {
				t.Fatalf("listing believed a forged index:\n%s\n%s", want, got)
			}
			if g := gets.take(); g[forgedKey] != 1 || closedGets(g) != 1 {
				t.Fatalf("the forged entry's record was not read from the server (once), or others were: %v", g)
			}
			ix = stored()
			for _, en := range ix.Entries {
				if bytes.Contains(en.Body, []byte(`"participants":7`)) || strings.Contains(en.Key, "20261107T") {
					t.Fatalf("forged entry %s kept in the rewritten index", en.Key)
				}
			}
			if len(ix.Entries) != 2*len(closed) {
				t.Fatalf("index not rewritten from the server's bytes: %d entries", len(ix.Entries))
			}
		})
	}

	t.Run("BrokenIndexIsRebuilt", func(t *testing.T) {
		if _, err := e.cl.PutObject(e.ctx, bucket, ixKey, strings.NewReader("not gzip"), 8, minio.PutObjectOptions{}); err != nil {
			t.Fatal(err)
		}
		cold, gets := admin(true)
		if got := list(cold, archive.Filter{}); got != want {
			t.Fatalf("listing over a broken index:\n%s\n%s", want, got)
		}
		if n := closedGets(gets.take()); n != 2*len(closed) {
			t.Fatalf("read %d closed records from the server, want all %d", n, 2*len(closed))
		}
		if ix := stored(); len(ix.Entries) != 2*len(closed) {
			t.Fatalf("index not rebuilt: %d entries", len(ix.Entries))
		}
	})

	// A partial listing (a date range inside the month) neither trusts
	// more nor rewrites a month it saw only part of.
	t.Run("PartialListingLeavesTheMonth", func(t *testing.T) {
		before := indexVersions()
		if err := e.cl.RemoveObject(e.ctx, bucket, ixKey, minio.RemoveObjectOptions{}); err != nil { // a delete marker
			t.Fatal(err)
		}
		part, _ := admin(true)
		list(part, archive.Filter{Since: at("2026-11-04T00:00:00Z")})
		if _, err := e.cl.StatObject(e.ctx, bucket, ixKey, minio.StatObjectOptions{}); err == nil {
			t.Fatal("a listing from 2026-11-04 rewrote the index of all of November")
		}
		list(part, archive.Filter{})
		if ix := stored(); len(ix.Entries) != 2*len(closed) {
			t.Fatalf("full listing did not rewrite the index: %d entries", len(ix.Entries))
		}
		if after := indexVersions(); len(after) > len(before)+1 {
			t.Fatalf("index versions %d -> %d: replaced versions are not removed", len(before), len(after))
		}
	})

	// A device puts other bytes over a closed day's summary: the listing
	// with the index says TAMPERED exactly as one without it, and the
	// index learns the new version.
	t.Run("StaleIndexAfterADeviceRewrite", func(t *testing.T) {
		s := closed[1]
		key := layout.SummaryKey("101", s.Manifest.Started, s.Manifest.SessionID)
		sb, _ := json.Marshal(layout.SummaryRecord{Version: layout.SummaryVersion, RoomID: "101",
			Summary: room.Summary{ID: s.Manifest.SessionID, Started: s.Manifest.Started, Ended: s.Manifest.Ended, Participants: 2, Declined: true}})
		devCl := e.srv.ClientFor(t, ak, sk)
		if _, err := devCl.PutObject(e.ctx, bucket, key, bytes.NewReader(sb), int64(len(sb)), minio.PutObjectOptions{}); err != nil {
			t.Fatal(err)
		}
		cold, _ := admin(true)
		got := list(cold, archive.Filter{})
		if ref := list(plain, archive.Filter{}); got != ref {
			t.Fatalf("listing with a stale index differs from one without:\n%s\n%s", ref, got)
		}
		if !strings.Contains(got, `"tampered":true`) {
			t.Fatalf("device rewrite not seen: %s", got)
		}
		if ix := stored(); len(ix.Entries) != 2*len(closed)+1 {
			t.Fatalf("index has %d entries after the rewrite, want %d", len(ix.Entries), 2*len(closed)+1)
		}
	})

	// A kiosk that was offline uploads a session of a closed day late:
	// the listing reads it from the server, witnesses it and indexes it.
	t.Run("LateUploadIsWitnessedAndIndexed", func(t *testing.T) {
		late := upload(at("2026-11-09T10:00:00Z"), 5)
		closed = append(closed, late)
		ar, gets := admin(true)
		list(ar, archive.Filter{})
		g := gets.take()
		if n := closedGets(g); n != 2 {
			t.Fatalf("read %d closed records from the server, want the late session's 2: %v", n, g)
		}
		for _, key := range []string{late.Prefix + manifest.FileName, layout.SummaryKey("101", late.Manifest.Started, late.Manifest.SessionID)} {
			if _, err := e.cl.StatObject(e.ctx, bucket, layout.WitnessKey(key), minio.StatObjectOptions{}); err != nil {
				t.Fatalf("late record %s not witnessed: %v", key, err)
			}
			found := false
			for _, en := range stored().Entries {
				found = found || (en.Key == key && en.Witnessed)
			}
			if !found {
				t.Fatalf("late record %s not in the index as witnessed", key)
			}
		}
	})

	// An admin removes a session (a disposal, an erasure): its records
	// leave the index at the next listing.
	t.Run("RemovedSessionLeavesTheIndex", func(t *testing.T) {
		s := closed[2]
		for obj := range e.cl.ListObjects(e.ctx, bucket, minio.ListObjectsOptions{Prefix: s.Prefix, Recursive: true, WithVersions: true}) {
			if err := e.cl.RemoveObject(e.ctx, bucket, obj.Key, minio.RemoveObjectOptions{VersionID: obj.VersionID, GovernanceBypass: true}); err != nil {
				t.Fatal(err)
			}
		}
		sumKey := layout.SummaryKey("101", s.Manifest.Started, s.Manifest.SessionID)
		for obj := range e.cl.ListObjects(e.ctx, bucket, minio.ListObjectsOptions{Prefix: sumKey, WithVersions: true}) {
			if err := e.cl.RemoveObject(e.ctx, bucket, obj.Key, minio.RemoveObjectOptions{VersionID: obj.VersionID, GovernanceBypass: true}); err != nil {
				t.Fatal(err)
			}
		}
		ar, _ := admin(true)
		if got := list(ar, archive.Filter{}); strings.Contains(got, s.Manifest.SessionID) {
			t.Fatalf("removed session still listed: %s", got)
		}
		ix := stored()
		for _, en := range ix.Entries {
			if strings.Contains(en.Key, s.Manifest.SessionID) {
				t.Fatalf("removed session's %s still in the index", en.Key)
			}
		}
	})
}

// putIndex stores ix as an admin tool would (a forger with admin
// credentials, in the test).
func putIndex(t *testing.T, e *env, key string, ix *layout.Index) {
	t.Helper()
	b, err := layout.MarshalIndex(ix)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.cl.PutObject(e.ctx, bucket, key, bytes.NewReader(b), int64(len(b)), minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
}
