//go:build bench

package cluster

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"filippo.io/age"

	"roomkiosk/internal/testenv"
	"roomkiosk/sync/admin"
	"roomkiosk/sync/admin/admintest"
	"roomkiosk/sync/miniotest"
)

// The fleet: rooms recording 16 kHz mono (32 KB/s each) at once.
const (
	fleetRooms       = 200
	fleetSessions    = 2 // per room
	fleetSegments    = 2 // per session
	segmentFrames    = 30 * 16000
	realTimeBytesSec = 32000
	baselineRooms    = 10
)

// TestBenchFleet provisions 200 rooms on a 4-node erasure-coded MinIO
// (each its own user and write-only policy, in one mc IAM import, against
// `roomctl provision` one room at a time), fills each room's spool with
// sessions in the real format (30 s segments, age-encrypted, manifest
// last), then starts the 200 real uploaders at once, spread over the four
// nodes as a load balancer would, and measures the sustained throughput
// until every spool is empty against the fleet's real-time need
// (200 x 32 KB/s = 6.4 MB/s). Every object is then counted from the
// bucket's versions.
func TestBenchFleet(t *testing.T) {
	c := miniotest.StartCluster(t, 4, 2)
	conn := initBucket(t, c, 30)
	mcBin := testenv.Tool(t, "mc")
	mc := admin.MC{Path: mcBin, Conn: conn}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()

	// Provisioning. Baseline: `roomctl provision` one room after another
	// (4 mc runs each), on rooms that do not upload; then the fleet in one
	// IAM import.
	t0 := time.Now()
	for i := 0; i < baselineRooms; i++ {
		if err := mc.ProvisionRoom(ctx, fmt.Sprintf("base-%02d", i), admin.NewDeviceCredentials()); err != nil {
			t.Fatal(err)
		}
	}
	seqPerRoom := time.Since(t0) / baselineRooms

	fleet := make([]*kiosk, fleetRooms)
	all := map[string]admin.DeviceCredentials{}
	for i := range fleet {
		fleet[i] = newRoom(t, fmt.Sprintf("f-%03d", i+1), i%len(c.Nodes))
		all[fleet[i].id] = fleet[i].creds
	}
	t0 = time.Now()
	if err := mc.ProvisionRooms(ctx, all); err != nil {
		t.Fatal(err)
	}
	provisioned := time.Since(t0)
	first, last := fleet[0], fleet[len(fleet)-1]
	admintest.CheckDeviceRights(t, c.ClientFor(t, 1, first.creds.AccessKey, first.creds.SecretKey), bucket, first.id, last.id)
	admintest.CheckDeviceRights(t, c.ClientFor(t, 2, last.creds.AccessKey, last.creds.SecretKey), bucket, last.id, first.id)
	seqFleet := time.Duration(fleetRooms) * seqPerRoom
	testenv.Report(t, testenv.Figure{
		Name: "provision 200 rooms through mc", Value: provisioned.Seconds(), Unit: "s",
		Baseline: fmt.Sprintf("roomctl provision one room at a time (4 mc runs each; measured on %d rooms, x 200)", baselineRooms), BaseVal: seqFleet.Seconds(),
		Ratio: provisioned.Seconds() / seqFleet.Seconds(), Target: "<= 0.1", Met: provisioned <= seqFleet/10,
		Note: fmt.Sprintf("4-node MinIO; per room a user, its own PutObject-only policy and the attachment, all in one `mc admin cluster iam import` (admin.MC.ProvisionRooms); one at a time %.0f ms per room; rights checked on 2 rooms through other nodes",
			float64(seqPerRoom.Milliseconds())),
	})

	// Spools in the real format, encrypted to the admins' recipient.
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	t0 = time.Now()
	var total int64
	for i, r := range fleet {
		r.addSessions(t, id.Recipient(), fleetSessions, fleetSegments, segmentFrames, uint64(i+1)<<12, false)
		total += r.bytes
	}
	t.Logf("%d spools (%.0f MB) built in %v", fleetRooms, float64(total)/1e6, time.Since(t0).Round(time.Millisecond))
	for _, r := range fleet {
		r.newUploader(t, c, 0)
	}

	uctx, ucancel := context.WithCancel(context.Background())
	done := make(chan struct{}, len(fleet))
	start := time.Now()
	for _, r := range fleet {
		go func() { _ = r.u.Run(uctx); done <- struct{}{} }()
	}
	var half time.Duration
	waitFor(t, "every spool empty", 20*time.Minute, func() bool {
		left := 0
		for _, r := range fleet {
			m := r.u.Metrics()
			if m.Permanent {
				t.Fatalf("room %s: upload failing permanently (credentials or policy)", r.id)
			}
			if m.QueueObjects > 0 {
				left++
			}
		}
		if half == 0 && left <= fleetRooms/2 {
			half = time.Since(start)
		}
		return left == 0
	})
	elapsed := time.Since(start)
	ucancel()
	for range fleet {
		<-done
	}
	var failures int64
	for _, r := range fleet {
		failures += r.u.Metrics().Failures
	}
	lost, dup, extra, objects := tally(t, c.Client(t, 0), fleet)
	rate := float64(total) / elapsed.Seconds() / 1e6
	need := float64(fleetRooms*realTimeBytesSec) / 1e6
	load, _ := os.ReadFile("/proc/loadavg")
	testenv.Report(t, testenv.Figure{
		Name: "fleet of 200 rooms uploading to a 4-node MinIO", Value: rate, Unit: "MB/s",
		Baseline: "the fleet's real-time need (200 rooms x 32 KB/s)", BaseVal: need, Ratio: rate / need,
		Target: ">= 1 (headroom: the fleet keeps up recording at once)", Met: rate >= need && lost+dup+extra == 0,
		Note: fmt.Sprintf("200 real uploaders (own credentials, %d sessions x %d segments of 30 s each, %.0f MB in all) started at once against 4 nodes x 2 drives (EC 4+4) on this 2-core machine, which runs the nodes and the uploaders; %v until every spool was empty (half of them by %v); %d objects: lost %d, duplicated %d, unexpected %d; %d put failures retried; load average %s",
			fleetSessions, fleetSegments, float64(total)/1e6, elapsed.Round(time.Millisecond), half.Round(time.Millisecond),
			objects, lost, dup, extra, failures, trimLoad(load)),
	})
}

func trimLoad(b []byte) string {
	s := string(b)
	for i, n := 0, 0; i < len(s); i++ {
		if s[i] == ' ' {
			if n++; n == 3 {
				return s[:i]
			}
		}
	}
	return s
}
