//go:build bench

package cluster

import (
	"fmt"
	"testing"

	"roomkiosk/internal/testenv"
)

// TestBenchEntryNodeKilled is TestNodeKilledDuringUpload with the node
// under a kiosk killed: room c-102's uploader talks to node 2, which dies
// with SIGKILL in the middle of a put and is restarted. MinIO keeps the
// dead node's write lock on that object on the other nodes until their
// stale-lock expiry (unrefreshed for a minute, checked every minute), so
// the kiosk's retries of that object wait; nothing is lost or duplicated.
func TestBenchEntryNodeKilled(t *testing.T) {
	kr := runKill(t, 1)
	lost, dup, extra, objects := kr.verify(t, 1)
	a, b := kr.rooms[0], kr.rooms[1]
	testenv.Report(t, testenv.Figure{
		Name: "cluster node killed under a kiosk: objects lost or duplicated", Value: float64(lost + dup + extra), Unit: "objects",
		Baseline: "objects uploaded by 2 rooms (10 sessions) to a 4-node MinIO, node 2 killed (SIGKILL) and restarted", BaseVal: float64(objects),
		Target: "= 0", Met: lost+dup+extra == 0,
		Note: fmt.Sprintf("lost %d, duplicated %d, unexpected %d (object versions listed through the restarted node; checksums and governance retention checked); room %s (node 2) retried %d times",
			lost, dup, extra, b.id, b.u.Metrics().Failures),
	})
	testenv.Report(t, testenv.Figure{
		Name: "cluster node killed under a kiosk: its uploads resumed after", Value: kr.drained[b.id].Seconds(), Unit: "s after the restart",
		Target: "information (MinIO's stale-lock expiry: 1-2 min)", Met: true,
		Note: fmt.Sprintf("node 2 down %.1f s (killed to healthy again); the object the dead node was writing stays write-locked on the other nodes until MinIO expires the lock; the kiosk only retries. Room %s on node 1 uploaded through the outage and was done %.1f s after the restart",
			kr.down.Seconds(), a.id, kr.drained[a.id].Seconds()),
	})
}
