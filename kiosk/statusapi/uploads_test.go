package statusapi

import (
	"encoding/json"
	"net/http/httptest"
	"testing"
	"time"

	"roomkiosk/internal/room"
)

// TestStatusShowsSessionUploads (issue 13 item 8): /status lists, per
// session still on the device, its upload state, and the last session
// uploaded, beside the fields it always had (renamed nothing).
func TestStatusShowsSessionUploads(t *testing.T) {
	at := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	src := Sources{
		Snapshot: func() room.Snapshot { return room.Snapshot{RoomID: "101", Door: room.DoorFree, Step: room.StepDoor} },
		Uploads: func() room.UploadReport {
			return room.UploadReport{
				Sessions: []room.SessionUpload{
					{SessionID: "20261127T090000Z-aaaaaa", State: room.UploadQueued, Objects: 3, Bytes: 3000, QueuedAt: at},
					{SessionID: "20261127T093000Z-bbbbbb", State: room.UploadHeld},
				},
				LastUploaded: &room.LastUpload{SessionID: "20261127T080000Z-cccccc", At: at},
			}
		},
		Version: "1.2.3",
	}
	get := func(src Sources) map[string]any {
		rec := httptest.NewRecorder()
		Handler(src).ServeHTTP(rec, httptest.NewRequest("GET", "/status", nil))
		var v map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil {
			t.Fatalf("%v: %s", err, rec.Body.String())
		}
		return v
	}
	v := get(src)
	for _, k := range []string{"room", "version", "door", "recording", "recorder", "step", "checks", "at"} {
		if _, ok := v[k]; !ok {
			t.Errorf("/status lost its field %q", k)
		}
	}
	ss, _ := v["sessions"].([]any)
	if len(ss) != 2 {
		t.Fatalf("sessions = %v", v["sessions"])
	}
	first := ss[0].(map[string]any)
	if first["session_id"] != "20261127T090000Z-aaaaaa" || first["state"] != "queued" || first["objects"] != 3.0 || first["queued_at"] == nil {
		t.Errorf("first session %v", first)
	}
	if ss[1].(map[string]any)["state"] != "held" {
		t.Errorf("second session %v", ss[1])
	}
	last, _ := v["last_uploaded"].(map[string]any)
	if last["session_id"] != "20261127T080000Z-cccccc" || last["at"] != "2026-11-27T10:00:00Z" {
		t.Errorf("last_uploaded %v", v["last_uploaded"])
	}

	// Nothing on the device, nothing uploaded yet: an empty list, no last.
	src.Uploads = func() room.UploadReport { return room.UploadReport{} }
	v = get(src)
	if ss, ok := v["sessions"].([]any); !ok || len(ss) != 0 {
		t.Errorf("empty: sessions = %#v, want []", v["sessions"])
	}
	if _, ok := v["last_uploaded"]; ok {
		t.Errorf("empty: last_uploaded present: %v", v["last_uploaded"])
	}
}
