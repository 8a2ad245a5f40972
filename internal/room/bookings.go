package room

import "time"

// Bookings is what the door shows of the room's calendar: times only. No
// client's name, no title and no description ever leaves the calendar
// package; the door is read by anyone walking past.
type Bookings struct {
	// Next is the next booking that has not started yet.
	Next *Slot `json:"next,omitempty"`
	// Current is the booking in progress now; in session, the screen shows
	// its end ("until 14:50").
	Current *Slot `json:"current,omitempty"`
	// RunsInto is set when a session started now, with the configured
	// length, would run into Next: the checklist warns.
	RunsInto bool `json:"runs_into,omitempty"`
	// AsOf is when the calendar shown was fetched.
	AsOf time.Time `json:"as_of,omitzero"`
	// Offline is set when the last fetch failed and the copy on disk is
	// shown: the door says how old it is.
	Offline bool `json:"offline,omitempty"`
}

// Slot is one booked time. AllDay slots span whole local days.
type Slot struct {
	Start  time.Time `json:"start"`
	End    time.Time `json:"end"`
	AllDay bool      `json:"all_day,omitempty"`
}
