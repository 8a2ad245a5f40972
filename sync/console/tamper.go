package console

import "roomkiosk/sync/archive"

// tamperFlag and tamperDetail are the one place that reads the archive
// reader's tamper verdict for a session (a device wrote over one of its
// objects after the upload; the reader trusts only what every version
// agrees on or an admin witness saw first), so the
// pages follow the reader rather than judging objects themselves.
func tamperFlag(s archive.Session) bool { return s.Tampered }

func tamperDetail(s archive.Session) []string { return s.TamperedKeys }

// deletionVerdict is the reader's verdict on a deletion request: "" when
// the session's undisputed records back it, else why not (unreadable, naming
// another room or session, or not backed: suspicious).
func deletionVerdict(r archive.DeletionRequest) string {
	if r.Error != "" {
		return r.Error
	}
	return r.Why
}
