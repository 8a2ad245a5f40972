package cluster

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"filippo.io/age"
	"github.com/minio/minio-go/v7"
	"github.com/rs/zerolog"

	"roomkiosk/internal/room"
	"roomkiosk/recorder/manifest"
	"roomkiosk/sync/admin"
	"roomkiosk/sync/archive/archivetest"
	"roomkiosk/sync/miniotest"
	"roomkiosk/sync/upload"
)

const bucket = "roomkiosk"

// kiosk is one simulated kiosk: its provisioned credentials, its spool of
// sealed sessions in the real format, and (once started) its uploader.
type kiosk struct {
	id       string
	creds    admin.DeviceCredentials
	credFile string
	spool    string
	node     int               // the cluster node its uploader talks to
	want     map[string]string // object key -> sha256 of its bytes
	bytes    int64             // what its sessions weigh
	sessions []*archivetest.Session
	u        *upload.Uploader
}

// initBucket makes the bucket as `roomctl bucket init` does and checks that
// the cluster reports object lock, versioning and the default retention.
func initBucket(t testing.TB, c *miniotest.Cluster, days uint) admin.Conn {
	t.Helper()
	conn := admin.Conn{Endpoint: c.Nodes[0].Endpoint, AccessKey: c.AccessKey, SecretKey: c.SecretKey, Bucket: bucket}
	cl, err := conn.Client()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	st, err := admin.InitBucket(ctx, cl, bucket, days)
	if err != nil {
		t.Fatal(err)
	}
	want := admin.BucketState{Bucket: bucket, Created: true, Versioning: "Enabled", ObjectLock: true, RetentionMode: "GOVERNANCE", RetentionDays: days}
	if st != want {
		t.Fatalf("bucket init on the cluster: %+v, want %+v", st, want)
	}
	return conn
}

// newRoom makes a room's credentials file and spool folder; provisioning
// on the server is the caller's (one at a time or in parallel).
func newRoom(t testing.TB, id string, node int) *kiosk {
	t.Helper()
	dir := t.TempDir()
	r := &kiosk{id: id, creds: admin.NewDeviceCredentials(), credFile: filepath.Join(dir, "credentials.toml"),
		spool: filepath.Join(dir, "spool"), node: node, want: map[string]string{}}
	if err := admin.WriteCredentialsFile(r.credFile, id, r.creds); err != nil {
		t.Fatal(err)
	}
	return r
}

// addSessions builds n sessions of segs segments of frames frames each
// (16 kHz mono, encrypted with the recorder's segment writer) and seals them
// into the room's spool as the recorder leaves them: segments first, the
// manifest last.
func (r *kiosk) addSessions(t testing.TB, rcpt age.Recipient, n, segs int, frames int64, seed uint64, keep bool) {
	t.Helper()
	base := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	for i := 0; i < n; i++ {
		started := base.Add(time.Duration(i) * time.Hour)
		spec := archivetest.Spec{Room: r.id, Started: started, Seed: seed + uint64(i)*1000,
			ID: fmt.Sprintf("%s-%06x", started.Format("20060102T150405Z"), (seed+uint64(i))&0xffffff)}
		for range segs {
			spec.Segments = append(spec.Segments, archivetest.SegSpec{Frames: frames})
		}
		s := archivetest.Build(t, spec, rcpt)
		dir := filepath.Join(r.spool, "sessions", s.Manifest.SessionID)
		if err := os.MkdirAll(dir, 0o750); err != nil {
			t.Fatal(err)
		}
		for _, sg := range s.Manifest.Segments {
			if err := os.WriteFile(filepath.Join(dir, sg.Name), s.Files[sg.Name], 0o640); err != nil {
				t.Fatal(err)
			}
			r.want[s.Prefix+sg.Name] = sg.SHA256
			r.bytes += sg.Bytes
		}
		mb, err := s.Manifest.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, manifest.FileName), mb, 0o640); err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(mb)
		r.want[s.Prefix+manifest.FileName] = hex.EncodeToString(sum[:])
		r.bytes += int64(len(mb))
		if keep {
			r.sessions = append(r.sessions, s)
		}
	}
}

// newUploader makes the room's real uploader, talking to its node with its
// own credentials file, as the daemon would.
func (r *kiosk) newUploader(t testing.TB, c *miniotest.Cluster, kbps int) {
	t.Helper()
	cfg := upload.Default()
	cfg.Endpoint, cfg.Bucket, cfg.CredentialsFile = c.Nodes[r.node].Endpoint, bucket, r.credFile
	cfg.BandwidthKBps = kbps
	cfg.BackoffMax = room.Duration{Duration: time.Second}
	u, err := upload.New(cfg, r.id, r.id, r.spool, t.TempDir(), zerolog.Nop(), upload.WithRetryBase(100*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	r.u = u
}

// objectVersions lists every version (and delete marker) under prefix.
func objectVersions(t testing.TB, cl *minio.Client, prefix string) []minio.ObjectInfo {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var out []minio.ObjectInfo
	for o := range cl.ListObjects(ctx, bucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: true, WithVersions: true}) {
		if o.Err != nil {
			t.Fatalf("list versions under %s: %v", prefix, o.Err)
		}
		out = append(out, o)
	}
	return out
}

// tally compares the versions stored under the rooms' sessions/ prefixes
// with what their spools held: lost (no version), duplicated (more than
// one version, or a delete marker) and unexpected keys.
func tally(t testing.TB, cl *minio.Client, rooms []*kiosk) (lost, dup, extra, objects int) {
	t.Helper()
	for _, r := range rooms {
		n := map[string]int{}
		for _, o := range objectVersions(t, cl, "rooms/"+r.id+"/sessions/") {
			n[o.Key]++
			if o.IsDeleteMarker {
				n[o.Key]++
			}
		}
		for k := range r.want {
			objects++
			switch v := n[k]; {
			case v == 0:
				lost++
				t.Errorf("lost: %s", k)
			case v > 1:
				dup++
				t.Errorf("duplicated: %s has %d versions", k, v)
			}
		}
		for k := range n {
			if _, ok := r.want[k]; !ok {
				extra++
				t.Errorf("unexpected object %s", k)
			}
		}
	}
	return lost, dup, extra, objects
}

func waitFor(t testing.TB, what string, limit time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", limit, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
