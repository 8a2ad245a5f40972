package ui

import (
	"image/color"
	"strconv"
	"time"

	"roomkiosk/internal/room"
)

// The bookings' strings live beside the code that shows them; they join
// the catalogs at start-up (the catalog tests see them like any other).
func init() {
	for lang, msgs := range map[string]map[Msg]string{
		"en": {
			"book.next":      "Next {t}",
			"book.until":     "Booked until {t}",
			"book.age":       "Bookings as of {d} ago",
			"book.all_day":   "all day",
			"book.runs":      "Runs into the booking at {t}",
			"check.bookings": "Bookings",
			"wd.0":           "Sun",
			"wd.1":           "Mon",
			"wd.2":           "Tue",
			"wd.3":           "Wed",
			"wd.4":           "Thu",
			"wd.5":           "Fri",
			"wd.6":           "Sat",
		},
		"zh": {
			"book.next":      "下一预约 {t}",
			"book.until":     "预约至 {t}",
			"book.age":       "预约信息为 {d} 前的",
			"book.all_day":   "全天",
			"book.runs":      "将与 {t} 的预约冲突",
			"check.bookings": "预约",
			"wd.0":           "周日",
			"wd.1":           "周一",
			"wd.2":           "周二",
			"wd.3":           "周三",
			"wd.4":           "周四",
			"wd.5":           "周五",
			"wd.6":           "周六",
		},
	} {
		for k, v := range msgs {
			catalogs[lang][k] = v
		}
	}
}

// slotText formats a booking for the door: "14:00-14:50" today,
// "Tue 14:00-14:50" on another day, "Tue all day". Times are shown in the
// zone of the screen's clock, like the time of day in the top bar.
func (b *builder) slotText(s room.Slot) string {
	loc := b.in.Now.Location()
	start, end := s.Start.In(loc), s.End.In(loc)
	var t string
	if s.AllDay {
		t = b.t("book.all_day")
	} else {
		t = start.Format("15:04") + "-" + end.Format("15:04")
	}
	ny, nm, nd := b.in.Now.Date()
	if y, m, d := start.Date(); y != ny || m != nm || d != nd {
		t = b.t(Msg("wd."+strconv.Itoa(int(start.Weekday())))) + " " + t
	}
	return t
}

// bookingLine draws the next booking in r (the door's top bar), and below
// it, while the calendar could not be fetched, how old the copy shown is.
// It reports whether it drew anything.
func (b *builder) bookingLine(r Rect) bool {
	bk := b.in.Snap.Bookings
	if bk == nil || bk.Next == nil {
		return false
	}
	b.msg(R(r.X, r.Y, r.W, 30), ColText, TextStyle{Size: 24, MinSize: 13, Align: AlignRight}, "book.next", "t", b.slotText(*bk.Next))
	if bk.Offline && !bk.AsOf.IsZero() {
		b.msg(R(r.X, r.Y+30, r.W, 18), ColMuted, TextStyle{Size: 15, MinSize: 10, Align: AlignRight}, "book.age", "d", b.age(bk.AsOf))
	}
	// The day label changes at midnight.
	y, m, d := b.in.Now.Date()
	b.nextAt(time.Date(y, m, d+1, 0, 0, 0, 0, b.in.Now.Location()))
	return true
}

// age formats how long ago t was, in minutes or hours and minutes, and asks
// for a rebuild when it changes.
func (b *builder) age(t time.Time) string {
	d := b.in.Now.Sub(t)
	if d < 0 {
		d = 0
	}
	mins := int(d / time.Minute)
	b.nextAt(t.Add(time.Duration(mins+1) * time.Minute))
	if mins < 60 {
		return b.t("dur.min", "m", strconv.Itoa(mins))
	}
	return b.t("dur.hmin", "h", strconv.Itoa(mins/60), "m", strconv.Itoa(mins%60))
}

// bookedUntil draws the end of the booking the session runs in
// ("Booked until 14:50"), if there is one. It reports whether it drew.
func (b *builder) bookedUntil(r Rect, c color.RGBA) bool {
	bk := b.in.Snap.Bookings
	if bk == nil || bk.Current == nil || bk.Current.AllDay {
		return false
	}
	b.msg(r, c, TextStyle{Size: 22, MinSize: 12, Align: AlignRight}, "book.until", "t", bk.Current.End.In(b.in.Now.Location()).Format("15:04"))
	return true
}

// runsInto warns on the checklist when a session started now would run
// into the next booking. It reports whether it drew.
func (b *builder) runsInto(r Rect) bool {
	bk := b.in.Snap.Bookings
	if bk == nil || !bk.RunsInto || bk.Next == nil {
		return false
	}
	b.fill(r, ColBusy, 12)
	b.msg(r.Inset(8), ColBG, TextStyle{Size: 20, MinSize: 11, Bold: true, Align: AlignCenter}, "book.runs", "t", bk.Next.Start.In(b.in.Now.Location()).Format("15:04"))
	return true
}
