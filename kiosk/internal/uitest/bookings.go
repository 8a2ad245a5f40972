package uitest

import (
	"time"

	"roomkiosk/internal/room"
)

// bookingCases are the scenes that show the room's calendar (issue 16).
func bookingCases(add func(string, func(*room.Snapshot))) {
	day := func(d, h, m int) time.Time { return time.Date(2026, 3, 12+d, h, m, 0, 0, time.UTC) }
	add("door-booked", func(s *room.Snapshot) {
		s.Bookings = &room.Bookings{Next: &room.Slot{Start: day(0, 14, 0), End: day(0, 14, 50)}, AsOf: Now.Add(-2 * time.Minute)}
	})
	add("door-booked-offline", func(s *room.Snapshot) {
		// Tomorrow (a weekday label), from a copy 26 hours old.
		s.Bookings = &room.Bookings{Next: &room.Slot{Start: day(1, 9, 30), End: day(1, 10, 20)}, AsOf: Now.Add(-26*time.Hour - 3*time.Minute), Offline: true}
	})
	add("door-booked-allday", func(s *room.Snapshot) {
		s.Door = room.DoorOutOfService
		s.Checks = Checks(true)
		s.Bookings = &room.Bookings{Next: &room.Slot{Start: day(3, 0, 0), End: day(4, 0, 0), AllDay: true}, AsOf: Now.Add(-40 * time.Minute), Offline: true}
	})
	add("session-booked", func(s *room.Snapshot) {
		*s = inSession(*s)
		s.Step = room.StepInSession
		s.SessionStarted = Now.Add(-(1*time.Hour + 52*time.Minute))
		s.Bookings = &room.Bookings{Current: &room.Slot{Start: day(0, 14, 0), End: day(0, 14, 50)}}
	})
	for d := 2; d <= 7; d++ {
		// Every weekday label, longest line of the door's top bar.
		add("door-booked-day-"+string(rune('0'+d)), func(s *room.Snapshot) {
			s.Bookings = &room.Bookings{Next: &room.Slot{Start: day(d, 18, 10), End: day(d, 19, 40)}, AsOf: Now.Add(-100 * time.Hour), Offline: true}
		})
	}
	add("checklist-runs-into", func(s *room.Snapshot) {
		s.Step = room.StepChecklist
		s.Checks = append(s.Checks, room.CheckResult{Name: "bookings", State: room.CheckAbnormal,
			Value: "unreachable; copy 5 h old",
			Hint:  "Calendar feed unreachable (certificate not trusted): check bookings.feed and the network.", At: Now})
		s.Bookings = &room.Bookings{Next: &room.Slot{Start: day(0, 14, 30), End: day(0, 15, 20)}, RunsInto: true}
	})
}
