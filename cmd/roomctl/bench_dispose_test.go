//go:build bench

package main

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"roomkiosk/internal/room"
	"roomkiosk/internal/testenv"
	"roomkiosk/sync/archive"
	"roomkiosk/sync/archive/archivetest"
	"roomkiosk/sync/layout"
)

// TestBenchDispose measures `roomctl dispose` over a year of a 20-room
// practice (about 40,000 sessions: 2,000 a room, about 5.5 a day) against
// `roomctl sessions` listing the same archive, in the same run. Each
// session is simulated by its summary alone (one object: the machine's
// disk and two cores hold 40,000, not the 40,000 x 120 segments of real
// recordings), and a sample of 200 sessions carries a manifest and two
// real encrypted segments. The class is 120 days for every room, so the
// sessions of the year's first eight months are due. The bucket has object
// lock and versioning, without a default retention: the simulated objects
// stand for uploads whose server retention has passed (roomctl still
// checks every version's retention and legal hold on the server).
// ROOMKIOSK_BENCH_SESSIONS scales it down for a quick look.
func TestBenchDispose(t *testing.T) {
	f := newFleet(t)
	ctx, cancel := context.WithTimeout(context.Background(), 80*time.Minute)
	defer cancel()
	if err := f.cl.MakeBucket(ctx, "clinic", minio.MakeBucketOptions{ObjectLocking: true}); err != nil {
		t.Fatal(err)
	}
	pol := filepath.Join(t.TempDir(), "retention.toml")
	os.WriteFile(pol, []byte("default = \"supervision\"\n[classes]\nsupervision = \"120d\"\nclinical = \"7y\"\n"), 0o600)
	if r := runT(t, f.env, "", "retention", "set", pol); r.code != 0 {
		t.Fatal(r.stderr)
	}
	total, rooms, sample := 40000, 20, 200
	if n, err := strconv.Atoi(os.Getenv("ROOMKIOSK_BENCH_SESSIONS")); err == nil && n > 0 {
		total, sample = n, min(sample, n/10)
	}
	now := time.Now().UTC()
	yearAgo := now.AddDate(-1, 0, 0)
	step := 365 * 24 * time.Hour / time.Duration(total/rooms)
	t0 := time.Now()
	due := 0
	putMany(ctx, t, f.cl, total, func(put func(key string, b []byte)) {
		for i := range total {
			r := i % rooms
			roomID := fmt.Sprintf("r%02d", r)
			at := yearAgo.Add(time.Duration(i/rooms) * step).Add(time.Duration(r) * time.Second).Truncate(time.Second)
			id := at.Format("20060102T150405Z") + "-" + hex.EncodeToString([]byte{byte(i >> 16), byte(i >> 8), byte(i)})
			sb, _ := json.Marshal(layout.SummaryRecord{Version: layout.SummaryVersion, RoomID: roomID,
				Summary: room.Summary{ID: id, Started: at, Ended: at.Add(50 * time.Minute), Participants: 2, WantRecording: true, Recorded: true}})
			put(layout.SummaryKey(roomID, at, id), sb)
		}
	})
	for i := range total {
		at := yearAgo.Add(time.Duration(i/rooms) * step).Add(time.Duration(i%rooms) * time.Second).Truncate(time.Second)
		if at.AddDate(0, 0, 120).Before(now) {
			due++
		}
	}
	// The sample: real recordings (manifest + 2 segments) among the due.
	for i := range sample {
		at := yearAgo.Add(time.Duration(i) * 24 * time.Hour).Add(7 * time.Hour)
		s := archivetest.Build(t, archivetest.Spec{Room: fmt.Sprintf("r%02d", i%rooms), Started: at, Seed: uint64(i),
			Segments: []archivetest.SegSpec{{Frames: 16000}, {Frames: 16000}}}, f.id.Recipient())
		s.Upload(t, f.cl, "clinic")
	}
	objects := total + 3*sample
	due += sample
	t.Logf("uploaded %d objects in %v", objects, time.Since(t0).Round(time.Second))

	list := func() time.Duration {
		t0 := time.Now()
		r := runLong(t, f.env, "sessions", "--json")
		d := time.Since(t0)
		if r.code != 0 {
			t.Fatalf("sessions: %s", r.stderr)
		}
		return d
	}
	coldList := list()
	warmList := list()

	t0 = time.Now()
	r := runLong(t, f.env, "dispose", "--json")
	disposeTime := time.Since(t0)
	if r.code != 0 {
		t.Fatalf("dispose: %s", r.stderr)
	}
	var outs []archive.DisposalOutcome
	if err := json.Unmarshal([]byte(r.stdout), &outs); err != nil {
		t.Fatal(err)
	}
	disposed, versions := 0, 0
	for _, o := range outs {
		if o.Result == "disposed" {
			disposed++
			versions += o.Versions
		}
	}
	if disposed != due {
		t.Fatalf("disposed %d sessions, want %d", disposed, due)
	}
	// Checked on the server: the sample's audio is gone, one certificate each.
	left := 0
	for o := range f.cl.ListObjects(ctx, "clinic", minio.ListObjectsOptions{Prefix: "rooms/", Recursive: true, WithVersions: true}) {
		if o.Err != nil {
			t.Fatal(o.Err)
		}
		if k, err := layout.Parse(o.Key); err == nil && k.Kind == layout.KindSegment {
			left++
		}
	}
	certs := 0
	for o := range f.cl.ListObjects(ctx, "clinic", minio.ListObjectsOptions{Prefix: layout.CertificatesPrefix, Recursive: true, WithVersions: true}) {
		if o.Err == nil {
			certs++
		}
	}
	if left != 0 || certs != due {
		t.Fatalf("%d segment versions left, %d certificate versions for %d disposals", left, certs, due)
	}
	t0 = time.Now()
	r = runLong(t, f.env, "dispose", "--json")
	again := time.Since(t0)
	if r.code != 0 || strings.Contains(r.stdout, `"disposed"`) {
		t.Fatalf("second dispose: %s %s", r.stdout, r.stderr)
	}
	ratio := disposeTime.Seconds() / warmList.Seconds()
	scale := ""
	if total < 40000 {
		load, _ := os.ReadFile("/proc/loadavg")
		scale = fmt.Sprintf("SCALED DOWN to %d of the year's 40,000 sessions (ROOMKIOSK_BENCH_SESSIONS; load average %s on the shared 2-core machine): at %.1f ms a session the full year's %d due would take about %.0f min; ",
			total, strings.Join(strings.Fields(string(load))[:3], " "), float64(disposeTime.Milliseconds())/float64(max(disposed, 1)), 40000*due/total,
			float64(disposeTime.Milliseconds())/float64(max(disposed, 1))*float64(40000*due/total)/60000)
	}
	testenv.Report(t, testenv.Figure{
		Name:  fmt.Sprintf("roomctl dispose over a year of a %d-room practice", rooms),
		Value: disposeTime.Seconds(), Unit: "s",
		Baseline: "roomctl sessions --json listing the same archive (same run, local cache of first versions)", BaseVal: warmList.Seconds(), Ratio: ratio,
		Target: "information (disposal runs nightly from a timer; a year's backlog once)", Met: true,
		Note: scale + fmt.Sprintf("%d sessions (%d summaries alone, %d with manifest + 2 real segments; %d objects), class 120 days: %d due, disposed with %d versions removed and %d certificates (%.1f ms a session: every version's retention and legal hold read on the server, intent, removal, check, certificate; one audit record for the run); cold listing %v; a second dispose with nothing due took %v; local MinIO, %d workers",
			total+sample, total, sample, objects, due, versions, certs, float64(disposeTime.Milliseconds())/float64(max(disposed, 1)),
			coldList.Round(time.Millisecond), again.Round(time.Millisecond), 16),
	})
}
