package recorder

import (
	"roomkiosk/recorder/manifest"
	"roomkiosk/recorder/spool"
)

// SetWriteJournal replaces the spool's journal write (fault injection) and
// returns a function that restores it.
func SetWriteJournal(f func(sp spool.Spool, m *manifest.Manifest) error) (restore func()) {
	old := writeJournal
	writeJournal = f
	return func() { writeJournal = old }
}
