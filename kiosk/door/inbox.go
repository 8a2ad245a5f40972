package door

import (
	"sync"

	"roomkiosk/internal/room"
	"roomkiosk/kiosk/session"
)

// Inbox is where the core's ports report back (the recorder's state, the
// check runner's results and recent faults, the maintenance book) and where
// the door's own sources say the view changed (the bookings feed, the
// backlight). Those parts are made before the core, which is made from
// them, so they cannot be handed the core: they are handed the Inbox, made
// first, and Open hands it the core and the view once. A report before
// Open is dropped, as a nil core drops it: the core asks for fresh checks
// and starts the recorder itself when it runs.
type Inbox struct {
	mu   sync.Mutex
	core *session.Core
	view *View
}

// Open starts delivering to core and view; it is called once, before the
// core runs and before any part starts (the check runner, the feed).
func (in *Inbox) Open(core *session.Core, view *View) {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.core, in.view = core, view
}

func (in *Inbox) target() (*session.Core, *View) {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.core, in.view
}

// RecorderChanged is the recorder's OnStatus.
func (in *Inbox) RecorderChanged(st room.RecorderStatus) {
	c, _ := in.target()
	c.RecorderChanged(st)
}

// ChecksUpdated passes a round of check results to the core.
func (in *Inbox) ChecksUpdated(rs []room.CheckResult) {
	c, _ := in.target()
	c.ChecksUpdated(rs)
}

// FaultsUpdated passes the maintenance log's last faults to the core.
func (in *Inbox) FaultsUpdated(fs []room.Fault) {
	c, _ := in.target()
	c.FaultsUpdated(fs)
}

// MaintenanceUpdated is the maintenance book's onChange.
func (in *Inbox) MaintenanceUpdated(last *room.MaintenanceEntry, open []room.ProblemReport) {
	c, _ := in.target()
	c.MaintenanceUpdated(last, open)
}

// Changed tells the view's subscribers to take a fresh snapshot (the
// bookings were fetched, the backlight changed).
func (in *Inbox) Changed() {
	if _, v := in.target(); v != nil {
		v.Changed()
	}
}
