package layout

import (
	"roomkiosk/internal/room"
	"strings"
	"testing"
	"time"
)

func TestStatusRoundTrip(t *testing.T) {
	in := Status{RoomID: "101", DeviceID: "d1", Version: "v1", At: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		Door: room.DoorInSession, Recording: true, Recorder: room.RecorderRecording,
		Checks: []room.CheckResult{{Name: "clock", State: room.CheckGood}, {Name: "upload", State: room.CheckAbnormal}},
		Queue:  Queue{Objects: 3, OldestAgeSec: 40}, ClockOffsetMS: -1500}
	b, err := in.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	out, err := ParseStatus(b)
	if err != nil {
		t.Fatal(err)
	}
	if out.Schema != StatusVersion || out.Door != in.Door || !out.Recording || out.Queue.Objects != 3 {
		t.Fatalf("round trip: %+v", out)
	}
	if f := out.Failing(); len(f) != 1 || f[0] != "upload" {
		t.Fatalf("failing: %v", f)
	}
	if out.ClockOffset() != -1500*time.Millisecond {
		t.Fatalf("offset %v", out.ClockOffset())
	}
}

func TestStatusParseErrors(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`{`, "parse status.json"},
		{`{"schema":99,"room_id":"1"}`, "schema 99"},
		{`{"schema":1}`, "room_id missing"},
	} {
		if _, err := ParseStatus([]byte(tc.in)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseStatus(%s) = %v, want %q", tc.in, err, tc.want)
		}
	}
}

func TestStatusStale(t *testing.T) {
	now := time.Now()
	if Stale(now.Add(-time.Minute), now) || !Stale(now.Add(-4*time.Minute), now) {
		t.Fatal("stale")
	}
	if StatusKey("101") != "rooms/101/status.json" {
		t.Fatal(StatusKey("101"))
	}
}
