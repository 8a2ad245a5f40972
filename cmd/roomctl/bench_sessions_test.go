//go:build bench

package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"roomkiosk/internal/room"
	"roomkiosk/internal/testenv"
	"roomkiosk/recorder/manifest"
	"roomkiosk/sync/layout"
)

// TestBenchSessions measures `roomctl sessions` over 500 rooms x 30 days of
// synthetic sessions (one a room a day, each a manifest and a summary), the
// version listing included: first write wins, so every key's versions are
// listed and the first ones read. Absolute target: under 10 s.
// ROOMKIOSK_BENCH_ROOMS scales it down for a quick look.
func TestBenchSessions(t *testing.T) {
	f := newFleet(t)
	if r := runT(t, f.env, "", "bucket", "init"); r.code != 0 {
		t.Fatal(r.stderr)
	}
	rooms, days := 500, 30
	if n, err := strconv.Atoi(os.Getenv("ROOMKIOSK_BENCH_ROOMS")); err == nil && n > 0 {
		rooms = n
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	type obj struct {
		key string
		b   []byte
	}
	jobs := make(chan obj, 64)
	errs := make(chan error, 1)
	done := make(chan struct{})
	for range 32 {
		go func() {
			for o := range jobs {
				if _, err := f.cl.PutObject(ctx, "clinic", o.key, bytes.NewReader(o.b), int64(len(o.b)), minio.PutObjectOptions{}); err != nil {
					select {
					case errs <- err:
					default:
					}
				}
				done <- struct{}{}
			}
		}()
	}
	start := time.Date(2026, 10, 1, 9, 0, 0, 0, time.UTC)
	n := 0
	go func() {
		defer close(jobs)
		for r := range rooms {
			roomID := fmt.Sprintf("r%03d", r)
			for d := range days {
				at := start.AddDate(0, 0, d).Add(time.Duration(r) * time.Second)
				id := at.Format("20060102T150405Z") + "-" + hex.EncodeToString([]byte{byte(r >> 8), byte(r), byte(d)})
				m := manifest.Manifest{Version: manifest.Version, SessionID: id, RoomID: roomID, DeviceID: roomID,
					Format:  manifest.Format{Codec: manifest.Codec, SampleRate: 16000, Channels: 1, Bits: 16},
					Started: at, Ended: at.Add(50 * time.Minute), DurationNS: int64(50 * time.Minute), Gaps: []manifest.Gap{}, StopReason: "end",
					Segments: []manifest.Segment{{Name: "seg-000001.wav.age", Index: 1, Samples: 480000, Bytes: 960500, SHA256: strings.Repeat("ab", 32)}}}
				mb, err := m.Marshal()
				if err != nil {
					panic(err)
				}
				sb, _ := json.Marshal(layout.SummaryRecord{Version: layout.SummaryVersion, RoomID: roomID,
					Summary: room.Summary{ID: id, Started: at, Ended: at.Add(50 * time.Minute), Participants: 2, Recorded: true, Feedback: 4}})
				jobs <- obj{layout.ManifestKey(roomID, at, id), mb}
				jobs <- obj{layout.SummaryKey(roomID, at, id), sb}
			}
		}
	}()
	for range rooms * days * 2 {
		<-done
		n++
	}
	select {
	case err := <-errs:
		t.Fatal(err)
	default:
	}
	// The first run reads every first version from the server; later runs
	// list every version again but read only what is not in the local
	// cache of first versions (immutable under object lock).
	timed := func() time.Duration {
		t0 := time.Now()
		r := runT(t, f.env, "", "sessions", "--json")
		d := time.Since(t0)
		if r.code != 0 || strings.Count(r.stdout, `"session":`) != rooms*days {
			t.Fatalf("sessions: exit %d, %d rows: %s", r.code, strings.Count(r.stdout, `"session":`), r.stderr)
		}
		return d
	}
	cold := timed()
	warm := min(timed(), timed())
	testenv.Report(t, testenv.Figure{
		Name: fmt.Sprintf("roomctl sessions over %d rooms x %d days", rooms, days), Value: float64(warm.Milliseconds()), Unit: "ms",
		Target: "< 10000 ms", Met: warm < 10*time.Second,
		Note: fmt.Sprintf("%d sessions (manifest + summary each, %d objects), every version listed; best of 2 with the local cache of first versions; the first, cold run (every first version read from the server) took %v; local MinIO",
			rooms*days, n, cold.Round(time.Millisecond)),
	})
}
