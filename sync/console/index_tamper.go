package console

import "roomkiosk/sync/archive"

// tampered reports whether the archive reader flagged a session.
func tampered(s archive.Session) bool { return tamperFlag(s) }
