package recordertest

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"roomkiosk/recorder/manifest"
	"roomkiosk/recorder/spool"
)

// JournalWithdrawn reads what a crash right now would leave of session sid:
// its journal marked withdrawn, or its held manifest already written. A
// recorder's Stop(sid, true) returns only once this is true, whatever its
// capture Source (this package's fake or real ALSA).
func JournalWithdrawn(t testing.TB, sp spool.Spool, sid string) bool {
	t.Helper()
	if _, err := os.Stat(sp.HeldPath(sid)); err == nil {
		return true
	}
	b, err := os.ReadFile(filepath.Join(sp.SessionDir(sid), spool.JournalName))
	if err != nil {
		t.Fatalf("read journal: %v", err)
	}
	var m manifest.Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("journal: %v", err)
	}
	return m.Withdrawn
}
