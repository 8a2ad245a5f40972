package archive_test

import (
	"bytes"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"filippo.io/age"
	"github.com/minio/minio-go/v7"

	"roomkiosk/recorder/manifest"
	"roomkiosk/sync/archive"
	"roomkiosk/sync/archive/archivetest"
	"roomkiosk/sync/layout"
)

// TestWitnessInPlace: a device on the policy from before the versionid Deny
// (miniotest's plain write-only user) rewrites a witnessed manifest in
// place, under its own version id, so every version agrees. A listing
// cannot see it; a pull and a deletion check compare with the witness and
// refuse, and nothing is removed.
func TestWitnessInPlace(t *testing.T) {
	e := setup(t)
	e.ar.Witness = true
	ak, sk := e.srv.AddWriteOnlyUser(t, bucket, "rooms/101/")
	dev := e.srv.ClientFor(t, ak, sk)
	s := archivetest.Build(t, archivetest.Spec{Room: "101", Started: at("2026-11-02T10:00:00Z"), Seed: 7,
		Segments: []archivetest.SegSpec{{Frames: 16000}}}, e.id.Recipient())
	put := func(key string, b []byte, o minio.PutObjectOptions) minio.UploadInfo {
		t.Helper()
		info, err := dev.PutObject(e.ctx, bucket, key, bytes.NewReader(b), int64(len(b)), o)
		if err != nil {
			t.Fatal(err)
		}
		return info
	}
	put(s.Prefix+"seg-000001.wav.age", s.Files["seg-000001.wav.age"], minio.PutObjectOptions{})
	mb, _ := s.Manifest.Marshal()
	mi := put(s.Prefix+manifest.FileName, mb, minio.PutObjectOptions{})
	id := s.Manifest.SessionID
	if _, err := e.ar.FindSession(e.ctx, id, "101"); err != nil { // the admin looks: witnessed
		t.Fatal(err)
	}
	forged := *s.Manifest
	forged.Withdrawn, forged.Deleted = true, true
	fb, _ := forged.Marshal()
	put(s.Prefix+manifest.FileName, fb, minio.PutObjectOptions{Internal: minio.AdvancedPutOptions{SourceVersionID: mi.VersionID}})
	req := []byte(`{"version":1,"session_id":"` + id + `","room_id":"101","requested_at":"2026-11-02T11:00:00Z","reason":"withdrawn"}`)
	put(layout.DeletionKey("101", id), req, minio.PutObjectOptions{})

	row, err := e.ar.FindSession(e.ctx, id, "101")
	if err == nil && (!row.Tampered || row.Withdrawn || !strings.Contains(strings.Join(row.TamperedKeys, " "), "rewritten in place")) {
		t.Fatalf("session after an in-place rewrite: %+v", row)
	}
	_, err = e.ar.Pull(e.ctx, archive.PullOptions{SessionID: id, Room: "101", Identities: []age.Identity{e.id}, Out: filepath.Join(t.TempDir(), "x.wav"), Original: true})
	if !errors.Is(err, archive.ErrDisputed) {
		t.Fatalf("pull --original: %v, want disputed", err)
	}
	_, err = e.ar.ApplyDeletion(e.ctx, "101", id, false, func(archive.DeletionOutcome) error { return nil })
	if !errors.Is(err, archive.ErrSuspicious) {
		t.Fatalf("deletion: %v, want suspicious", err)
	}
	if vs, _ := e.ar.SessionVersions(e.ctx, "101", id); len(vs) != 2 {
		t.Fatalf("versions after the refused deletion: %v", vs)
	}
}
