package cluster

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"filippo.io/age"
	"github.com/minio/minio-go/v7"

	"roomkiosk/sync/admin"
	"roomkiosk/sync/admin/admintest"
	"roomkiosk/sync/archive"
)

// TestNodeKilledDuringUpload: two rooms' uploaders (5 sessions each,
// segments in the real format) write through nodes 1 and 2 of a 4-node,
// 8-drive erasure-coded MinIO while node 3 is killed with SIGKILL in the
// middle of the upload and restarted. Both keep confirming uploads while it
// is down. Afterwards every object is there exactly once (object versions
// listed, through node 1 and through the restarted node) with the spool's
// checksum and the bucket's governance retention; roomctl's reader lists and pulls every
// session, and still does with node 4 down as well; object lock,
// versioning and the device's write-only policy behave as on one server.
//
// A kiosk whose own node dies is the bench's TestBenchEntryNodeKilled:
// MinIO holds the write lock of the object the dead node was writing for
// one to two minutes, too long for every `make test`.
func TestNodeKilledDuringUpload(t *testing.T) {
	start := time.Now()
	kr := runKill(t, 2)
	c := kr.c
	served, noSuchKey := kr.waitServes(t, 2)
	t.Logf("node 3 served every object %v after its restart (%d NoSuchKey answers before)", served.Round(time.Millisecond), noSuchKey)
	if lost, dup, extra, objects := kr.verify(t, 0); lost+dup+extra != 0 || objects != 2*5*5 {
		t.Fatalf("of %d objects (want 50): lost %d, duplicated %d, unexpected %d", objects, lost, dup, extra)
	}
	if lost, dup, extra, _ := tally(t, c.Client(t, 2), kr.rooms); lost+dup+extra != 0 {
		t.Fatalf("through node 3: lost %d, duplicated %d, unexpected %d", lost, dup, extra)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	root := c.Client(t, 0)
	a := kr.rooms[0]

	// Object lock: a session object's version cannot be removed, even by
	// the admin, without the governance bypass.
	var segKey string
	for k := range a.want {
		if strings.HasSuffix(k, ".age") {
			segKey = k
			break
		}
	}
	vs := objectVersions(t, root, segKey)
	if len(vs) != 1 {
		t.Fatalf("%s: %d versions", segKey, len(vs))
	}
	err := root.RemoveObject(ctx, bucket, segKey, minio.RemoveObjectOptions{VersionID: vs[0].VersionID})
	if err == nil || !strings.Contains(err.Error(), "WORM protected") {
		t.Fatalf("remove a locked version: %v (code %q), want WORM protected", err, admin.ErrorCode(err))
	}
	// Versioning: a remove without a version adds a delete marker and the
	// data stays (the device's probe object from the rights check).
	probe := admintest.RightsProbeKey(a.id)
	if err := root.RemoveObject(ctx, bucket, probe, minio.RemoveObjectOptions{}); err != nil {
		t.Fatalf("remove %s: %v", probe, err)
	}
	// Under load a listing right after the remove may come from a node
	// that has not heard of it yet: wait for the settled answer.
	markers, kept := 0, 0
	settled := func() bool {
		markers, kept = 0, 0
		for _, o := range objectVersions(t, root, probe) {
			if o.IsDeleteMarker {
				markers++
			} else {
				kept++
			}
		}
		return markers == 1 && kept == 1
	}
	deadline := time.Now().Add(30 * time.Second)
	for !settled() && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
	}
	if markers != 1 || kept != 1 {
		t.Fatalf("%s after remove: %d delete markers, %d versions, want 1 and 1", probe, markers, kept)
	}

	// roomctl's reader: every session listed as recorded and pulled
	// (verified against its manifest, decrypted) to the PCM recorded.
	pullAll := func(node int, why string) {
		t.Helper()
		ar := &archive.Archive{Client: c.Client(t, node), Bucket: bucket}
		rows, err := ar.Sessions(ctx, archive.Filter{})
		if err != nil {
			t.Fatalf("%s: sessions: %v", why, err)
		}
		if len(rows) != 10 {
			t.Fatalf("%s: %d sessions listed, want 10", why, len(rows))
		}
		for _, s := range rows {
			if s.State != "recorded" || s.Segments != 4 {
				t.Errorf("%s: session %s/%s: state %q with %d segments", why, s.Room, s.Session, s.State, s.Segments)
			}
		}
		for _, r := range kr.rooms {
			for _, s := range r.sessions {
				out := filepath.Join(t.TempDir(), "s.wav")
				if _, err := ar.Pull(ctx, archive.PullOptions{SessionID: s.Manifest.SessionID, Room: r.id, Identities: []age.Identity{kr.id}, Out: out}); err != nil {
					t.Fatalf("%s: pull %s: %v", why, s.Manifest.SessionID, err)
				}
				f, err := os.Open(out)
				if err != nil {
					t.Fatal(err)
				}
				w, err := archive.ReadWAV(f)
				f.Close()
				if err != nil {
					t.Fatal(err)
				}
				if string(w.PCM) != string(s.WantPCM) {
					t.Errorf("%s: pull %s: PCM differs (%d bytes, want %d)", why, s.Manifest.SessionID, len(w.PCM), len(s.WantPCM))
				}
			}
		}
	}
	pullAll(3, "all nodes up")
	// Redundancy, not luck: with node 4 down too, each object still has
	// the four shards a read needs, those written while node 3 was down
	// (6 of 8 shards, unless healed since) included.
	c.Kill(3)
	pullAll(0, "node 4 down")
	t.Logf("whole test %v", time.Since(start).Round(time.Millisecond))
}
