package upload

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"roomkiosk/recorder/manifest"
	"roomkiosk/recorder/spool"
	"roomkiosk/sync/store/memstore"
)

// A withdrawn session awaiting keep-or-delete (its manifest held under
// spool.HeldName) never leaves the device; once kept (renamed to
// manifest.json) it uploads like any other.
func TestHeldSessionNotUploaded(t *testing.T) {
	dir := t.TempDir()
	mem := memstore.New()
	u := newTestUploader(t, testConfig(), dir, "", WithStore(mem))
	s := writeSession(t, dir, time.Now(), 2, 300)
	held := filepath.Join(s.dir, spool.HeldName)
	if err := os.Rename(filepath.Join(s.dir, manifest.FileName), held); err != nil {
		t.Fatal(err)
	}
	if err := u.drain(context.Background()); err != nil {
		t.Fatal(err)
	}
	if keys := mem.Keys(); len(keys) != 0 {
		t.Fatalf("held session uploaded: %v", keys)
	}
	if m := u.Metrics(); m.QueueObjects != 0 || m.Quarantined != 0 {
		t.Errorf("held session counted: %+v", m)
	}
	if _, err := os.Stat(held); err != nil {
		t.Fatalf("held session touched: %v", err)
	}
	// Keep.
	if err := (spool.Spool{Root: dir}).QueueHeld(s.id); err != nil {
		t.Fatal(err)
	}
	if err := u.drain(context.Background()); err != nil {
		t.Fatal(err)
	}
	for k := range s.objects {
		if _, ok := mem.Get(k); !ok {
			t.Errorf("kept session: %s not uploaded", k)
		}
	}
}
