package spool

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"roomkiosk/internal/durable"
)

// SessionJournalName is the session core's journal of the open session, at
// the spool's root (the uploader reads only sessions/ and deletions/): ids,
// counts, flags, times and agreement hashes, never personal data. The core
// writes it at each change of the open session and removes it when the
// session closes.
const SessionJournalName = "session-journal.json"

// maxSessionJournal bounds what Load reads; the core refuses anything over
// its own (smaller) limit as damaged.
const maxSessionJournal = 64 << 10

// SessionJournal is the file behind the session core's JournalStore port
// (kiosk/session.JournalStore): atomic, fsync'ed replacement; bounded reads.
type SessionJournal struct {
	Path   string
	NoSync bool // benchmarks only: not crash safe
}

// SessionJournal returns the spool's session journal.
func (s Spool) SessionJournal() SessionJournal {
	return SessionJournal{Path: filepath.Join(s.Root, SessionJournalName), NoSync: s.NoSync}
}

// Save replaces the journal: temp file, fsync, rename, folder fsync.
func (j SessionJournal) Save(b []byte) error {
	if err := durable.WriteFile(j.Path, b, durable.Options{NoSync: j.NoSync}); err != nil {
		return fmt.Errorf("save session journal: %w", err)
	}
	return nil
}

// Load returns the journal, nil when there is none. It reads at most
// maxSessionJournal+1 bytes, so a huge file costs nothing and is refused by
// the core as damaged.
func (j SessionJournal) Load() ([]byte, error) {
	f, err := os.Open(j.Path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("load session journal: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxSessionJournal+1))
	if err != nil {
		return nil, fmt.Errorf("load session journal: %w", err)
	}
	if b == nil {
		b = []byte{} // an empty file is a (damaged) journal, not none
	}
	return b, nil
}

// Clear removes the journal and makes the removal durable.
func (j SessionJournal) Clear() error {
	err := os.Remove(j.Path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("remove session journal: %w", err)
	}
	if j.NoSync {
		return nil
	}
	return durable.SyncDir(filepath.Dir(j.Path))
}
