package upload

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"roomkiosk/internal/room"
	"roomkiosk/sync/layout"
	"roomkiosk/sync/store/memstore"
)

// TestSessionsReportsUploadState (issue 13 item 8): the uploader tells, per
// session still on the device, where its upload stands, and which session
// finished uploading last.
func TestSessionsReportsUploadState(t *testing.T) {
	spool := t.TempDir()
	cfg := testConfig()
	cfg.KeepUploaded = room.Duration{Duration: time.Hour}
	u := newTestUploader(t, cfg, spool, "", WithStore(memstore.New()))

	done := writeSession(t, spool, time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC), 2, 1000)
	writeSummary(t, spool, done.id, done.started)
	recording := filepath.Join(spool, sessionsDir, "20261127T100000Z-abcdef")
	held := filepath.Join(spool, sessionsDir, "20261127T080000Z-bbbbbb")
	for dir, file := range map[string]string{recording: "seg-000001.wav.age.part", held: heldManifest} {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, file), []byte("{}"), 0o640); err != nil {
			t.Fatal(err)
		}
	}
	const unrecorded = "20261127T070000Z-cccccc"
	writeSummary(t, spool, unrecorded, time.Date(2026, 11, 27, 7, 0, 0, 0, time.UTC))

	byID := func(r room.UploadReport) map[string]room.SessionUpload {
		m := map[string]room.SessionUpload{}
		for _, s := range r.Sessions {
			m[s.SessionID] = s
		}
		return m
	}
	before := u.Sessions()
	got := byID(before)
	if before.LastUploaded != nil || len(got) != 4 {
		t.Fatalf("before any upload: %+v", before)
	}
	for id, want := range map[string]string{done.id: room.UploadQueued, filepath.Base(recording): room.UploadRecording, filepath.Base(held): room.UploadHeld, unrecorded: room.UploadNoAudio} {
		if got[id].State != want {
			t.Errorf("%s: state %q, want %q", id, got[id].State, want)
		}
	}
	if s := got[done.id]; s.Objects != 4 || !s.SummaryPending || s.QueuedAt.IsZero() { // 2 segments, manifest, summary
		t.Errorf("queued session: %+v", s)
	}
	if s := got[unrecorded]; s.Objects != 1 || !s.SummaryPending {
		t.Errorf("unrecorded session: %+v", s)
	}
	if before.Sessions[0].SessionID != unrecorded {
		t.Errorf("not oldest first: %+v", before.Sessions)
	}

	// While its objects go up, the session says so.
	var mu sync.Mutex
	var during []string
	u.afterPut = func(key string) {
		if strings.Contains(key, done.id) && !strings.HasSuffix(key, "summary.json") { // its segments and manifest
			s := byID(u.Sessions())[done.id]
			mu.Lock()
			during = append(during, s.State)
			mu.Unlock()
		}
	}
	if err := u.drain(context.Background()); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	sawUploading := false
	for _, s := range during {
		sawUploading = sawUploading || s == room.UploadUploading
	}
	mu.Unlock()
	if !sawUploading {
		t.Errorf("states seen during the upload %v, want %q", during, room.UploadUploading)
	}

	after := u.Sessions()
	got = byID(after)
	if after.LastUploaded == nil || after.LastUploaded.SessionID != done.id || after.LastUploaded.At.IsZero() {
		t.Errorf("last uploaded %+v, want %s", after.LastUploaded, done.id)
	}
	if s := got[done.id]; s.State != room.UploadUploaded || s.UploadedAt.IsZero() || s.Objects != 0 || s.SummaryPending {
		t.Errorf("uploaded session kept on the device: %+v", s)
	}
	if _, ok := got[unrecorded]; ok {
		t.Errorf("the unrecorded session's summary is up, yet it is listed: %+v", got[unrecorded])
	}
	if got[filepath.Base(held)].State != room.UploadHeld || got[filepath.Base(recording)].State != room.UploadRecording {
		t.Errorf("held and recording sessions after a drain: %+v", after.Sessions)
	}
	b, _ := json.Marshal(after)
	var generic map[string]any
	_ = json.Unmarshal(b, &generic)
	if _, ok := generic["last_uploaded"]; !ok {
		t.Errorf("JSON lacks last_uploaded: %s", b)
	}
}

func writeSummary(t *testing.T, spool, id string, started time.Time) {
	t.Helper()
	b, _ := json.Marshal(layout.SummaryRecord{RoomID: "101", Summary: room.Summary{ID: id, Started: started, Ended: started.Add(time.Hour), Participants: 1}})
	if err := writeFileSync(filepath.Join(spool, summariesDir, id+".json"), b, 0o640); err != nil {
		t.Fatal(err)
	}
}
