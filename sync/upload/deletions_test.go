package upload

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"roomkiosk/internal/room"
	"roomkiosk/sync/layout"
	"roomkiosk/sync/store/memstore"
)

// TestSummaryRecordsDeletion: participants who withdraw and choose Delete
// leave a deletion request during the session, which usually goes up
// before the session's summary; the summary still records the deletion
// (audio_deleted), across a restart of the uploader in between. A kept
// withdrawal's summary does not. roomctl applies a device's deletion
// request only when the first summary (or manifest) records it.
func TestSummaryRecordsDeletion(t *testing.T) {
	dir := t.TempDir()
	mem := memstore.New()
	u := newTestUploader(t, testConfig(), dir, "", WithStore(mem))
	deleted, kept := "20261127T100000Z-aaaaaa", "20261127T110000Z-bbbbbb"
	writeDeletion(t, dir, deleted)
	if err := u.drain(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, ok := mem.Get(layout.DeletionKey("101", deleted)); !ok {
		t.Fatal("deletion request not uploaded")
	}
	// The daemon restarts before the session ends.
	u = newTestUploader(t, testConfig(), dir, "", WithStore(mem))
	started := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	for _, s := range []room.Summary{
		{ID: deleted, Started: started, Ended: started.Add(time.Hour), Participants: 2, Recorded: true, Withdrawn: true},
		{ID: kept, Started: started.Add(time.Hour), Ended: started.Add(2 * time.Hour), Participants: 2, Recorded: true, Withdrawn: true},
	} {
		u.SessionEnded(s)
		waitFor(t, "summary queued", 5*time.Second, func() bool {
			_, err := os.Stat(filepath.Join(dir, summariesDir, s.ID+".json"))
			return err == nil
		})
	}
	if err := u.drain(context.Background()); err != nil {
		t.Fatal(err)
	}
	for id, want := range map[string]bool{deleted: true, kept: false} {
		at, _ := layout.SessionStart(id)
		b, ok := mem.Get(layout.SummaryKey("101", at, id))
		var rec layout.SummaryRecord
		if !ok || json.Unmarshal(b, &rec) != nil {
			t.Fatalf("summary of %s: %q", id, b)
		}
		if rec.AudioDeleted != want || rec.Version != layout.SummaryVersion {
			t.Errorf("summary of %s: audio_deleted %v (version %d), want %v", id, rec.AudioDeleted, rec.Version, want)
		}
		if mem.Versions(layout.SummaryKey("101", at, id)) != 1 {
			t.Errorf("summary of %s: more than one version", id)
		}
	}
}
