package upload

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"roomkiosk/internal/durable"
)

// The deletion requests this device uploaded are remembered for a while
// (<spool>/upload-state/deletions-sent.json), because a session's summary
// usually goes up after its request: the participants choose Delete during
// the session, the summary comes at its end. The summary then records the
// deletion (SummaryRecord.AudioDeleted).
const (
	delSentFile = "deletions-sent.json"
	delSentKeep = 14 * 24 * time.Hour // far longer than any session
)

func (u *Uploader) delSentPath() string { return filepath.Join(u.sp.StateDir(), delSentFile) }

func loadDeletionsSent(path string, now time.Time) map[string]time.Time {
	m := map[string]time.Time{}
	b, err := os.ReadFile(path)
	if err != nil || json.Unmarshal(b, &m) != nil {
		return map[string]time.Time{}
	}
	for id, at := range m {
		if now.Sub(at) > delSentKeep {
			delete(m, id)
		}
	}
	return m
}

// noteDeletionSent remembers that session id's deletion request is up.
func (u *Uploader) noteDeletionSent(id string) error {
	u.mu.Lock()
	u.delSent[id] = u.now().UTC()
	b, err := json.Marshal(u.delSent)
	u.mu.Unlock()
	if err != nil {
		return err
	}
	if err := durable.WriteFile(u.delSentPath(), b, durable.Options{Perm: 0o640, MkdirPerm: 0o750}); err != nil {
		return fmt.Errorf("save deletion requests sent: %w", err)
	}
	return nil
}

// deletionKnown reports whether session id has a deletion request, queued
// or sent.
func (u *Uploader) deletionKnown(id string) bool {
	if _, err := os.Stat(u.sp.DeletionPath(id)); err == nil {
		return true
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	_, ok := u.delSent[id]
	return ok
}
