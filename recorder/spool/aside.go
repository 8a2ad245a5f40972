package spool

import (
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// QuarantineReasonName is the file in quarantine/<id>/ that says why the
// session was set aside.
const QuarantineReasonName = "quarantine-reason.txt"

// QuarantineSession moves a session's folder to quarantine/<id>/, where it
// waits for an admin, with the reason in QuarantineReasonName.
func (s Spool) QuarantineSession(id, reason string) error {
	if err := checkName(id); err != nil {
		return fmt.Errorf("quarantine session: %w", err)
	}
	dst := filepath.Join(s.QuarantineDir(), id)
	if err := os.MkdirAll(s.QuarantineDir(), 0o750); err != nil {
		return fmt.Errorf("quarantine session %s: %w", id, err)
	}
	if err := os.Rename(s.SessionDir(id), dst); err != nil {
		return fmt.Errorf("quarantine session %s: %w", id, err)
	}
	// The reason helps the admin; the move is what keeps the queue going.
	_ = os.WriteFile(filepath.Join(dst, QuarantineReasonName), []byte(reason+"\n"), 0o640)
	return nil
}

// QuarantineDeletion moves the deletion request named name (a file of
// DeletionsDir) to quarantine/deletions/.
func (s Spool) QuarantineDeletion(name string) error {
	return s.quarantineFile(s.DeletionsDir(), QuarantinedDeletionsName, name)
}

// QuarantineSummary moves the session summary named name (a file of
// SummariesDir) to quarantine/summaries/.
func (s Spool) QuarantineSummary(name string) error {
	return s.quarantineFile(s.SummariesDir(), QuarantinedSummariesName, name)
}

func (s Spool) quarantineFile(from, sub, name string) error {
	if err := checkName(name); err != nil {
		return fmt.Errorf("quarantine %s: %w", sub, err)
	}
	dst := filepath.Join(s.QuarantineDir(), sub, name)
	if err := os.MkdirAll(filepath.Dir(dst), 0o750); err != nil {
		return err
	}
	return os.Rename(filepath.Join(from, name), dst)
}

// KeepUploaded moves an uploaded session's folder to uploaded/<id>/
// (storage.keep_uploaded) and stamps it: UploadedMarker's mtime is the time
// of the upload. A leftover of an earlier move cut short is replaced.
func (s Spool) KeepUploaded(id string) error {
	if err := checkName(id); err != nil {
		return fmt.Errorf("keep uploaded session: %w", err)
	}
	dst := filepath.Join(s.UploadedDir(), id)
	if err := os.MkdirAll(s.UploadedDir(), 0o750); err != nil {
		return err
	}
	_ = os.RemoveAll(dst)
	if err := os.Rename(s.SessionDir(id), dst); err != nil {
		return fmt.Errorf("keep uploaded session %s: %w", id, err)
	}
	return os.WriteFile(filepath.Join(dst, UploadedMarker), nil, 0o640)
}

// UploadedAt returns when a session kept in uploaded/<id>/ was uploaded;
// false when it has no marker (a move cut short, or not a kept session).
func (s Spool) UploadedAt(id string) (time.Time, bool) {
	if checkName(id) != nil {
		return time.Time{}, false
	}
	fi, err := os.Stat(filepath.Join(s.UploadedDir(), id, UploadedMarker))
	if err != nil {
		return time.Time{}, false
	}
	return fi.ModTime(), true
}

// checkName refuses anything but a plain name inside one folder.
func checkName(name string) error {
	if name == "" || name == "." || name == ".." || filepath.Base(name) != name {
		return fmt.Errorf("%q is not a file name", name)
	}
	return nil
}
