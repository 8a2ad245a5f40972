package cluster

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"testing"
	"time"

	"filippo.io/age"
	"github.com/minio/minio-go/v7"

	"roomkiosk/internal/testenv"
	"roomkiosk/sync/admin"
	"roomkiosk/sync/admin/admintest"
	"roomkiosk/sync/miniotest"
)

const retentionDays = 30

// killRun is two rooms uploading to a 4-node cluster while one node is
// killed with SIGKILL and restarted: room c-101 talks to node 1, room c-102
// to node 2.
type killRun struct {
	c      *miniotest.Cluster
	conn   admin.Conn
	id     *age.X25519Identity
	rooms  []*kiosk
	killed int // index of the node killed

	down      time.Duration            // from the kill to the restarted node's health
	restarted time.Time                // when the restarted node passed its health check
	drained   map[string]time.Duration // per room: from the restart until its spool was empty
}

// runKill starts the cluster, makes the bucket as `roomctl bucket init`
// does, provisions both rooms through mc (checking their rights on other
// nodes than the one that provisioned them), fills each spool with 5
// sessions of 4 one-second segments in the real format, and starts both
// uploaders at 128 KiB/s so that the upload spans the kill. When a quarter of it went up, node killed is killed; it
// is restarted once every room saw the outage as it should (a room on
// another node keeps confirming uploads: degraded writes; a room on the
// killed node fails), and runKill returns when both spools are empty.
func runKill(t *testing.T, killed int) *killRun {
	t.Helper()
	start := time.Now()
	kr := &killRun{c: miniotest.StartCluster(t, 4, 2), killed: killed, drained: map[string]time.Duration{}}
	t.Logf("4-node cluster healthy in %v", time.Since(start).Round(time.Millisecond))
	kr.conn = initBucket(t, kr.c, retentionDays)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	a, b := newRoom(t, "c-101", 0), newRoom(t, "c-102", 1)
	kr.rooms = []*kiosk{a, b}
	// Room c-101 one by one (`roomctl provision`), room c-102 in bulk
	// (one IAM import, as for a fleet): the same rights either way.
	mc := admin.MC{Path: testenv.Tool(t, "mc"), Conn: kr.conn}
	if err := mc.ProvisionRoom(ctx, a.id, a.creds); err != nil {
		t.Fatal(err)
	}
	if err := mc.ProvisionRooms(ctx, map[string]admin.DeviceCredentials{b.id: b.creds}); err != nil {
		t.Fatal(err)
	}
	// Provisioned through node 1; the policy holds on every node.
	admintest.CheckDeviceRights(t, kr.c.ClientFor(t, 2, a.creds.AccessKey, a.creds.SecretKey), bucket, a.id, b.id)
	admintest.CheckDeviceRights(t, kr.c.ClientFor(t, 3, b.creds.AccessKey, b.creds.SecretKey), bucket, b.id, a.id)

	var err error
	if kr.id, err = age.GenerateX25519Identity(); err != nil {
		t.Fatal(err)
	}
	// About 650 KB per room: at 128 KiB/s, 5 s of upload.
	a.addSessions(t, kr.id.Recipient(), 5, 4, 16000, 0x101000, true)
	b.addSessions(t, kr.id.Recipient(), 5, 4, 16000, 0x102000, true)
	for _, r := range kr.rooms {
		r.newUploader(t, kr.c, 128)
	}
	uctx, ucancel := context.WithCancel(context.Background())
	done := make(chan struct{}, len(kr.rooms))
	for _, r := range kr.rooms {
		go func() { _ = r.u.Run(uctx); done <- struct{}{} }()
	}
	t.Cleanup(func() {
		ucancel()
		for range kr.rooms {
			<-done
		}
	})

	for _, r := range kr.rooms {
		waitFor(t, "a quarter of room "+r.id+"'s upload", 2*time.Minute, func() bool { return r.u.Metrics().BytesSent >= r.bytes/4 })
	}
	sent, failures := map[*kiosk]int64{}, map[*kiosk]int64{}
	for _, r := range kr.rooms {
		m := r.u.Metrics()
		if m.QueueObjects == 0 {
			t.Fatalf("room %s's queue drained before the kill: spool too small for the test", r.id)
		}
		sent[r], failures[r] = m.BytesSent, m.Failures
	}
	kr.c.Kill(killed)
	killedAt := time.Now()
	for _, r := range kr.rooms {
		if r.node == killed {
			waitFor(t, "room "+r.id+" failing against its dead node", 2*time.Minute, func() bool { return r.u.Metrics().Failures > failures[r] })
			continue
		}
		// Erasure coding at work: writes reach quorum with two of the
		// eight drives gone. (100 KB more, or half of what was left.)
		more := max(min(100<<10, (r.bytes-sent[r])/2), 1)
		waitFor(t, fmt.Sprintf("room %s uploading with node %d down", r.id, killed+1), 2*time.Minute, func() bool {
			return r.u.Metrics().BytesSent >= sent[r]+more
		})
	}
	kr.c.Restart(t, killed)
	restarted := time.Now()
	kr.down, kr.restarted = restarted.Sub(killedAt), restarted
	for _, r := range kr.rooms {
		waitFor(t, "room "+r.id+"'s spool empty", 5*time.Minute, func() bool { return r.u.Metrics().QueueObjects == 0 })
		kr.drained[r.id] = time.Since(restarted)
		if m := r.u.Metrics(); m.Quarantined != 0 {
			t.Errorf("room %s quarantined %d sessions", r.id, m.Quarantined)
		}
	}
	t.Logf("node %d down %v; spools empty %v after the restart (%v after the start)", killed+1, kr.down.Round(time.Millisecond),
		max(kr.drained[a.id], kr.drained[b.id]).Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
	return kr
}

// verify reads everything back through node: exactly one version of each
// object (tally), the bytes of the spool (SHA-256), and the bucket's
// default governance retention on each.
func (kr *killRun) verify(t *testing.T, node int) (lost, dup, extra, objects int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cl := kr.c.Client(t, node)
	lost, dup, extra, objects = tally(t, cl, kr.rooms)
	lo, hi := time.Now().AddDate(0, 0, retentionDays-1), time.Now().AddDate(0, 0, retentionDays+1)
	for _, r := range kr.rooms {
		for key, sum := range r.want {
			o, err := cl.GetObject(ctx, bucket, key, minio.GetObjectOptions{})
			if err != nil {
				t.Fatal(err)
			}
			h := sha256.New()
			_, err = io.Copy(h, o)
			o.Close()
			if err != nil {
				t.Errorf("get %s: %v", key, err)
				continue
			}
			if got := hex.EncodeToString(h.Sum(nil)); got != sum {
				t.Errorf("%s: sha256 %s, want %s", key, got, sum)
			}
			mode, until, err := cl.GetObjectRetention(ctx, bucket, key, "")
			if err != nil {
				t.Errorf("retention of %s: %v", key, err)
				continue
			}
			if mode == nil || *mode != minio.Governance || until == nil || until.Before(lo) || until.After(hi) {
				t.Errorf("%s: retention %v until %v, want GOVERNANCE for %d days", key, mode, until, retentionDays)
			}
		}
	}
	return lost, dup, extra, objects
}

// waitServes waits until node, restarted a moment ago, serves every object
// (a HEAD of each). Right after its health check passes, a restarted node
// may not yet have reconnected to every other node's drives, and then
// answers NoSuchKey for objects written while it was down. It returns the
// time from the restart's health check until every object was served, and
// how many NoSuchKey answers came meanwhile.
func (kr *killRun) waitServes(t *testing.T, node int) (time.Duration, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cl := kr.c.Client(t, node)
	missing := 0
	for _, r := range kr.rooms {
		for key := range r.want {
			waitFor(t, fmt.Sprintf("node %d to serve %s", node+1, key), time.Minute, func() bool {
				_, err := cl.StatObject(ctx, bucket, key, minio.StatObjectOptions{})
				if admin.ErrorCode(err) == "NoSuchKey" {
					missing++
				}
				return err == nil
			})
		}
	}
	return time.Since(kr.restarted), missing
}
