package archive_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"roomkiosk/sync/layout"
)

// TestCheckLog reads a room's uploaded maintenance log as the uploader lays
// it out: a whole day wins over its snapshots, of several snapshots the
// largest counts, lines outside the range and unreadable lines are left
// out, and objects that are not log days are ignored.
func TestCheckLog(t *testing.T) {
	e := setup(t)
	put := func(key, body string) {
		t.Helper()
		if _, err := e.cl.PutObject(e.ctx, bucket, key, strings.NewReader(body), int64(len(body)), minio.PutObjectOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	line := func(ts string, temp float64) string {
		return fmt.Sprintf(`{"at":%q,"kind":"run","results":[{"name":"temperature","state":"good","value":"%.1f °C","threshold":"18-26 °C","required":false,"at":%q}]}`+"\n", ts, temp, ts)
	}
	d1, d2, d3 := at("2026-11-01T00:00:00Z"), at("2026-11-02T00:00:00Z"), at("2026-11-03T00:00:00Z")
	whole1 := line("2026-11-01T08:00:00Z", 20) + line("2026-11-01T20:00:00Z", 21)
	put(layout.LogSnapshotKey("101", d1, 10), line("2026-11-01T08:00:00Z", 99)) // superseded by the whole day
	put(layout.LogDayKey("101", d1), whole1)
	small := line("2026-11-02T01:00:00Z", 22)
	large := small + "{not json\n" + line("2026-11-02T02:00:00Z", 23)
	put(layout.LogSnapshotKey("101", d2, int64(len(small))), small)
	put(layout.LogSnapshotKey("101", d2, int64(len(large))), large)
	put(layout.LogDayKey("101", d3), line("2026-11-03T12:00:00Z", 24))
	put("rooms/101/checks/2026/11/notes.txt", line("2026-11-02T03:00:00Z", 50)) // not a log key
	put(layout.LogDayKey("102", d2), line("2026-11-02T04:00:00Z", 60))          // another room
	put("rooms/101/status.json", `{"schema":1,"room_id":"101"}`)                // not under checks/

	lines, skipped, err := e.ar.CheckLog(e.ctx, "101", at("2026-11-01T12:00:00Z"), at("2026-11-03T00:00:00Z"))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, l := range lines {
		got = append(got, l.At.UTC().Format(time.RFC3339)+"="+l.Results[0].Value)
	}
	want := []string{"2026-11-01T20:00:00Z=21.0 °C", "2026-11-02T01:00:00Z=22.0 °C", "2026-11-02T02:00:00Z=23.0 °C"}
	if strings.Join(got, " ") != strings.Join(want, " ") || skipped != 1 {
		t.Fatalf("lines %v, skipped %d; want %v and 1 skipped", got, skipped, want)
	}
	all, _, err := e.ar.CheckLog(e.ctx, "101", time.Time{}, time.Time{})
	if err != nil || len(all) != 5 {
		t.Fatalf("whole log: %d lines (%v), want 5", len(all), err)
	}
	if _, _, err := e.ar.CheckLog(e.ctx, "../102", time.Time{}, time.Time{}); err == nil {
		t.Fatal("a room id with a path in it was accepted")
	}
}
