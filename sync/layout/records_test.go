package layout_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"roomkiosk/hardware/checks"
	"roomkiosk/internal/room"
	"roomkiosk/sync/layout"
)

// TestLogLineMatchesCheckEntry keeps the reader's view of a maintenance log
// line in step with what the check runner writes: every field of a full
// entry decodes into LogLine, none unknown.
func TestLogLineMatchesCheckEntry(t *testing.T) {
	e := checks.Entry{At: time.Now().UTC(), Kind: checks.KindFault, Reason: "interval", Check: "door", State: room.CheckAbnormal,
		From: room.CheckGood, Value: "open", Threshold: "closed", Hint: "close it", Required: true,
		Results: []room.CheckResult{{Name: "door", State: room.CheckAbnormal}}, Session: "20261102T150405Z-abc123", Counselor: "c1", Note: "n"}
	b, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	var l layout.LogLine
	if err := d.Decode(&l); err != nil {
		t.Fatalf("a check entry does not decode as a LogLine: %v", err)
	}
	if l.Kind != string(e.Kind) || l.Check != e.Check || l.Session != e.Session {
		t.Fatalf("decoded %+v", l)
	}
}

func TestSummaryRecord(t *testing.T) {
	rec := layout.SummaryRecord{Version: layout.SummaryVersion, RoomID: "101",
		Summary: room.Summary{ID: "20261102T150405Z-abc123", Started: time.Date(2026, 11, 2, 15, 4, 5, 0, time.UTC), Participants: 2}}
	b, _ := json.Marshal(rec)
	got, err := layout.ParseSummary(b)
	if err != nil || got.Participants != 2 || got.Version != 1 {
		t.Fatalf("ParseSummary = %+v, %v", got, err)
	}
	legacy := `{"room_id":"101","session_id":"20261102T150405Z-abc123","started":"2026-11-02T15:04:05Z"}`
	if _, err := layout.ParseSummary([]byte(legacy)); err != nil {
		t.Errorf("summary without a version (before versions): %v", err)
	}
	for _, bad := range []string{
		`{"version":2,"room_id":"101","session_id":"20261102T150405Z-abc123","started":"2026-11-02T15:04:05Z"}`,
		`{"room_id":"../x","session_id":"20261102T150405Z-abc123","started":"2026-11-02T15:04:05Z"}`,
		`{"room_id":"101","session_id":"x","started":"2026-11-02T15:04:05Z"}`,
		`{"room_id":"101","session_id":"20261102T150405Z-abc123"}`,
		`[`,
	} {
		if _, err := layout.ParseSummary([]byte(bad)); err == nil || !strings.Contains(err.Error(), "session summary") {
			t.Errorf("ParseSummary(%s) = %v, want an error naming the summary", bad, err)
		}
	}
}

func TestTombstone(t *testing.T) {
	b, _ := json.Marshal(layout.Tombstone{Version: layout.TombstoneVersion, SessionID: "20261102T150405Z-abc123", RoomID: "101"})
	if _, err := layout.ParseTombstone(b); err != nil {
		t.Fatal(err)
	}
	if _, err := layout.ParseTombstone([]byte(`{"version":9,"session_id":"20261102T150405Z-abc123","room_id":"101"}`)); err == nil {
		t.Error("tombstone of a future version accepted")
	}
}
