package console

import "roomkiosk/sync/archive"

// tamperFlag and tamperDetail are the one place that reads the archive
// reader's tamper verdict for a session, so the pages follow the reader
// rather than judging objects themselves.
func tamperFlag(s archive.Session) bool { return false }

func tamperDetail(s archive.Session) []string { return nil }

// deletionVerdict is the reader's verdict on a deletion request: "" when it
// is valid, else why it is refused.
func deletionVerdict(r archive.DeletionRequest) string { return r.Error }

// TamperAware says whether the archive reader this console is built on
// flags tampered sessions (the browser test checks the flag only then).
const TamperAware = false
