package archive_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"filippo.io/age"

	"roomkiosk/recorder/manifest"
	"roomkiosk/sync/archive"
	"roomkiosk/sync/archive/archivetest"
	"roomkiosk/sync/layout"
)

// FuzzVersionOrder gives a session's manifest any number of versions, in
// any listing order, with any dates (a device chooses both on the pinned
// MinIO), some the genuine bytes, some a forged withdrawal, and a deletion
// request. The reader's verdict depends only on the bytes: every version
// the same bytes and a genuine withdrawal with delete backs the request;
// any other bytes make the session tampered, show no manifest (no
// witness here), and leave the request suspicious.
func FuzzVersionOrder(f *testing.F) {
	f.Add(uint8(1), uint64(0), false)
	f.Add(uint8(2), uint64(0b01), true)
	f.Add(uint8(3), uint64(0x0102030405), false)
	f.Add(uint8(4), uint64(0xffff_0000_ffff), true)
	start := time.Date(2026, 11, 2, 15, 4, 5, 0, time.UTC)
	id0, err := age.GenerateX25519Identity()
	if err != nil {
		f.Fatal(err)
	}
	src := archivetest.Build(f, archivetest.Spec{Room: "101", Started: start, Segments: []archivetest.SegSpec{{Frames: 1600}}}, id0.Recipient())
	mkey := layout.ManifestKey("101", start, src.Manifest.SessionID)
	id := src.Manifest.SessionID
	f.Fuzz(func(t *testing.T, n uint8, pattern uint64, withdrawn bool) {
		n = 1 + n%5
		genuine := *src.Manifest
		genuine.Withdrawn, genuine.Deleted = withdrawn, withdrawn
		forged := genuine
		forged.Withdrawn, forged.Deleted = !withdrawn, !withdrawn
		gb, _ := genuine.Marshal()
		fb, _ := forged.Marshal()
		mem := &memS3{objs: map[string][]memVersion{}}
		ar := memArchive(t, mem)
		var vs []memVersion
		allGenuine := true
		for i := range int(n) {
			bits := pattern >> (i * 12)
			body := gb
			if bits&1 == 1 && i > 0 { // the first listed is genuine or not by the order bits below
				body, allGenuine = fb, false
			}
			at := time.Unix(int64(bits>>1&0x7ff)*86400*30-40*365*86400, 0).UTC() // 1930 .. 2096
			vs = append(vs, memVersion{id: fmt.Sprintf("v%d", i), at: at, body: body})
		}
		if pattern>>63 == 1 { // the forged one first, whatever its date
			vs[0], vs[len(vs)-1] = vs[len(vs)-1], vs[0]
		}
		mem.objs[mkey] = vs
		for _, sg := range src.Manifest.Segments {
			mem.put(src.Prefix+sg.Name, src.Files[sg.Name])
		}
		req, _ := json.Marshal(manifest.Deletion{Version: 1, SessionID: id, RoomID: "101", RequestedAt: start, Reason: "withdrawn"})
		mem.put(layout.DeletionKey("101", id), req)

		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		row, err := ar.FindSession(ctx, id, "101")
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case allGenuine && (row.Tampered || row.Manifest == nil || row.Withdrawn != withdrawn):
			t.Fatalf("genuine versions only: %+v", row)
		case !allGenuine && (!row.Tampered || row.Manifest != nil || row.Withdrawn):
			t.Fatalf("versions that differ: %+v", row)
		}
		_, err = ar.ApplyDeletion(ctx, "101", id, false, func(archive.DeletionOutcome) error { return nil })
		wantBacked := allGenuine && withdrawn
		if suspicious := errors.Is(err, archive.ErrSuspicious); suspicious == wantBacked {
			t.Fatalf("deletion request: %v (backed %v)", err, wantBacked)
		}
	})
}
