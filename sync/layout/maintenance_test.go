package layout_test

import (
	"bytes"
	"encoding/json"

	"roomkiosk/hardware/checks"
	"strings"
	"testing"
	"time"

	"roomkiosk/internal/room"
	"roomkiosk/sync/layout"
)

// TestStatusMaintenance: status.json carries the last maintenance, the
// reported problems and the held count, and a reader refuses anything but
// the fixed codes in them (a device may write anything).
func TestStatusMaintenance(t *testing.T) {
	at := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	good := layout.Status{RoomID: "101", Door: room.DoorFree, Recorder: room.RecorderIdle,
		LastMaintenance:  &room.MaintenanceEntry{At: at, Action: room.ActionCalibrated, Technician: "t-1", Cleared: []string{room.ProblemAudio}},
		ReportedProblems: []room.ProblemReport{{At: at.Add(time.Hour), Problem: room.ProblemScreen}},
		HeldWaiting:      1,
	}
	b, err := good.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	st, err := layout.ParseStatus(b)
	if err != nil {
		t.Fatal(err)
	}
	if st.LastMaintenance == nil || st.LastMaintenance.Action != room.ActionCalibrated || len(st.ReportedProblems) != 1 || st.HeldWaiting != 1 {
		t.Errorf("round trip: %+v", st)
	}
	for _, tc := range []struct{ name, old, new, want string }{
		{"free text action", `"action": "calibrated"`, `"action": "see Ann's note"`, "last_maintenance.action"},
		{"technician name", `"technician": "t-1"`, `"technician": "Ann Smith"`, "last_maintenance.technician"},
		{"cleared text", `"cleared": [
      "audio"`, `"cleared": [
      "it buzzed"`, "last_maintenance.cleared"},
		{"problem text", `"problem": "screen"`, `"problem": "client cried"`, "reported_problems[0].problem"},
		{"held negative", `"held_waiting": 1`, `"held_waiting": -1`, "held_waiting"},
	} {
		bad := strings.Replace(string(b), tc.old, tc.new, 1)
		if bad == string(b) {
			t.Fatalf("%s: %q not in %s", tc.name, tc.old, b)
		}
		if _, err := layout.ParseStatus([]byte(bad)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one naming %s", tc.name, err, tc.want)
		}
	}
}

// TestLogLineMatchesMaintenanceEntries: the contract's LogLine reads the
// maintenance log's technician entries and problem reports field for field.
func TestLogLineMatchesMaintenanceEntries(t *testing.T) {
	for _, e := range []checks.Entry{
		{At: time.Now().UTC(), Kind: checks.KindMaintenance, Action: room.ActionCleaned, Technician: "t-1", Cleared: []string{room.ProblemAudio}},
		{At: time.Now().UTC(), Kind: checks.KindProblem, Problem: room.ProblemDoor, Session: "20261102T150405Z-abc123", Counselor: "c1"},
	} {
		b, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		d := json.NewDecoder(bytes.NewReader(b))
		d.DisallowUnknownFields()
		var l layout.LogLine
		if err := d.Decode(&l); err != nil {
			t.Fatalf("a %s entry does not decode as a LogLine: %v", e.Kind, err)
		}
		if l.Action != e.Action || l.Technician != e.Technician || l.Problem != e.Problem || len(l.Cleared) != len(e.Cleared) {
			t.Errorf("decoded %+v from %+v", l, e)
		}
	}
}
