package bookings

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/emersion/go-ical"
	"github.com/teambition/rrule-go"

	"roomkiosk/internal/room"
)

// Calendar is a parsed feed: its events, with nothing but their times. The
// summary, description, attendees and organiser are never read, so they
// cannot leak into a snapshot or a log.
type Calendar struct {
	events []event
}

// event is one VEVENT: a single booking, or a recurring one with its
// recurrence set; overrides (RECURRENCE-ID) are events of their own whose
// original instance the master excludes.
type event struct {
	uid      string
	start    time.Time
	dur      time.Duration
	allDay   bool
	set      *rrule.Set // nil: not recurring
	canceled bool
}

// Parse reads an iCalendar feed. Floating times (no TZID, no Z) and all-day
// dates are taken in loc, the room's zone. Every error names what is wrong
// and where (the event's position in the feed), never its title.
func Parse(b []byte, loc *time.Location) (cal *Calendar, err error) {
	// The decoder panics on some malformed parameters: a bad feed must be a
	// check fault, never a crash.
	defer func() {
		if p := recover(); p != nil {
			cal, err = nil, fmt.Errorf("malformed calendar: %v", p)
		}
	}()
	dec := ical.NewDecoder(bytes.NewReader(b))
	cal = &Calendar{}
	n := 0
	type override struct {
		uid string
		rid time.Time
		ev  event
	}
	var overrides []override
	for {
		c, err := dec.Decode()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("malformed calendar: %w", err)
		}
		n++
		z := zones(c.Component)
		for i, e := range c.Events() {
			ev, rid, err := parseEvent(e, loc, z)
			if err != nil {
				return nil, fmt.Errorf("malformed calendar: event %d: %w", i+1, err)
			}
			if !rid.IsZero() {
				overrides = append(overrides, override{ev.uid, rid, ev})
				continue
			}
			cal.events = append(cal.events, ev)
		}
	}
	if n == 0 {
		return nil, errors.New("malformed calendar: no VCALENDAR in it")
	}
	// RECURRENCE-ID: the override replaces the instance the master would
	// have made at that time (moved, shortened or cancelled).
	for _, o := range overrides {
		for i := range cal.events {
			if m := &cal.events[i]; m.uid == o.uid && m.set != nil {
				m.set.ExDate(o.rid)
			}
		}
		if !o.ev.canceled {
			cal.events = append(cal.events, o.ev)
		}
	}
	return cal, nil
}

func parseEvent(e ical.Event, loc *time.Location, z map[string]*time.Location) (ev event, rid time.Time, err error) {
	if u := e.Props.Get(ical.PropUID); u != nil {
		ev.uid = u.Value
	}
	st := e.Props.Get(ical.PropDateTimeStart)
	if st == nil {
		return ev, rid, errors.New("no DTSTART")
	}
	ev.allDay = isDate(st)
	if ev.start, err = dateTime(st, loc, z); err != nil {
		return ev, rid, fmt.Errorf("DTSTART: %w", err)
	}
	switch {
	case e.Props.Get(ical.PropDateTimeEnd) != nil:
		end, err := dateTime(e.Props.Get(ical.PropDateTimeEnd), loc, z)
		if err != nil {
			return ev, rid, fmt.Errorf("DTEND: %w", err)
		}
		ev.dur = end.Sub(ev.start)
		if ev.allDay {
			// Whole days, so that a day of 23 or 25 hours (DST) stays a day.
			ev.dur = time.Duration(daysBetween(ev.start, end)) * 24 * time.Hour
		}
	case e.Props.Get(ical.PropDuration) != nil:
		if ev.dur, err = e.Props.Get(ical.PropDuration).Duration(); err != nil {
			return ev, rid, fmt.Errorf("DURATION: %w", err)
		}
	case ev.allDay:
		ev.dur = 24 * time.Hour
	}
	if ev.dur < 0 {
		return ev, rid, errors.New("ends before it starts")
	}
	if s := e.Props.Get(ical.PropStatus); s != nil && strings.EqualFold(s.Value, "CANCELLED") {
		ev.canceled = true
	}
	if r := e.Props.Get(ical.PropRecurrenceID); r != nil {
		if rid, err = dateTime(r, loc, z); err != nil {
			return ev, rid, fmt.Errorf("RECURRENCE-ID: %w", err)
		}
		return ev, rid, nil
	}
	if e.Props.Get(ical.PropRecurrenceRule) == nil {
		return ev, rid, nil
	}
	opt, err := e.Props.RecurrenceRule()
	if err != nil {
		return ev, rid, fmt.Errorf("RRULE: %w", err)
	}
	opt.Dtstart = ev.start
	rule, err := rrule.NewRRule(*opt)
	if err != nil {
		return ev, rid, fmt.Errorf("RRULE: %w", err)
	}
	ev.set = &rrule.Set{}
	ev.set.RRule(rule)
	for _, name := range []string{ical.PropExceptionDates, ical.PropRecurrenceDates} {
		for _, p := range e.Props.Values(name) {
			ts, err := dateTimes(&p, loc, z)
			if err != nil {
				return ev, rid, fmt.Errorf("%s: %w", name, err)
			}
			for _, t := range ts {
				if name == ical.PropExceptionDates {
					ev.set.ExDate(t)
				} else {
					ev.set.RDate(t)
				}
			}
		}
	}
	return ev, rid, nil
}

func isDate(p *ical.Prop) bool {
	return p.ValueType() == ical.ValueDate || len(strings.TrimSpace(p.Value)) == len("20060102")
}

// daysBetween counts calendar days from a to b (both local midnights).
func daysBetween(a, b time.Time) int {
	ua := time.Date(a.Year(), a.Month(), a.Day(), 0, 0, 0, 0, time.UTC)
	ub := time.Date(b.Year(), b.Month(), b.Day(), 0, 0, 0, 0, time.UTC)
	return int(ub.Sub(ua).Hours() / 24)
}

// dateTime reads one DATE or DATE-TIME, resolving its TZID through the
// feed's own VTIMEZONEs and Windows zone names (Outlook/Exchange) as well
// as IANA names.
func dateTime(p *ical.Prop, loc *time.Location, z map[string]*time.Location) (time.Time, error) {
	q := *p
	q.Params = ical.Params{}
	for k, v := range p.Params {
		q.Params[k] = v
	}
	if tzid := q.Params.Get(ical.PropTimezoneID); tzid != "" {
		l, err := zone(tzid, z)
		if err != nil {
			return time.Time{}, err
		}
		loc = l
		q.Params.Del(ical.PropTimezoneID)
	}
	q.Value = strings.TrimSpace(q.Value)
	t, err := q.DateTime(loc)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is not a date or date-time", p.Value)
	}
	return t, nil
}

// dateTimes reads a comma-separated EXDATE or RDATE list (Outlook writes
// them so; Google one per line).
func dateTimes(p *ical.Prop, loc *time.Location, z map[string]*time.Location) ([]time.Time, error) {
	var out []time.Time
	for _, v := range strings.Split(p.Value, ",") {
		q := *p
		q.Value = v
		t, err := dateTime(&q, loc, z)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, nil
}

// zones maps the TZIDs a feed defines in VTIMEZONE to IANA zones where the
// definition says which (X-LIC-LOCATION, as Nextcloud and Thunderbird
// write it).
func zones(c *ical.Component) map[string]*time.Location {
	z := map[string]*time.Location{}
	for _, ch := range c.Children {
		if ch.Name != ical.CompTimezone {
			continue
		}
		id := ch.Props.Get(ical.PropTimezoneID)
		lic := ch.Props.Get("X-LIC-LOCATION")
		if id == nil || lic == nil {
			continue
		}
		if l, err := time.LoadLocation(lic.Value); err == nil {
			z[id.Value] = l
		}
	}
	return z
}

// zone resolves a TZID: an IANA name, a zone the feed names in its
// VTIMEZONE, or a Windows zone name (Outlook and Exchange write those).
func zone(tzid string, z map[string]*time.Location) (*time.Location, error) {
	tzid = strings.Trim(tzid, `"`)
	if l, ok := z[tzid]; ok {
		return l, nil
	}
	if l, err := time.LoadLocation(tzid); err == nil {
		return l, nil
	}
	if name, ok := windowsZones[tzid]; ok {
		if l, err := time.LoadLocation(name); err == nil {
			return l, nil
		}
	}
	// Some servers prefix the IANA name with their own path
	// ("/freeassociation.sourceforge.net/Europe/Berlin").
	parts := strings.Split(tzid, "/")
	for i := range parts {
		if l, err := time.LoadLocation(strings.Join(parts[i:], "/")); err == nil && i > 0 && len(parts)-i >= 2 {
			return l, nil
		}
	}
	return nil, fmt.Errorf("time zone %q is unknown", tzid)
}

// Slots returns the bookings that overlap [from, to), in start order.
func (c *Calendar) Slots(from, to time.Time) []room.Slot {
	var out []room.Slot
	add := func(ev event, start time.Time) {
		end := start.Add(ev.dur)
		if ev.allDay {
			// Days, not hours: a DST day still ends at midnight.
			days := int(ev.dur / (24 * time.Hour))
			end = time.Date(start.Year(), start.Month(), start.Day()+days, 0, 0, 0, 0, start.Location())
		}
		if end.After(from) && start.Before(to) {
			out = append(out, room.Slot{Start: start, End: end, AllDay: ev.allDay})
		}
	}
	for _, ev := range c.events {
		if ev.canceled {
			continue
		}
		if ev.set == nil {
			add(ev, ev.start)
			continue
		}
		// Instances that started up to one duration before from still
		// overlap it.
		for _, s := range ev.set.Between(from.Add(-ev.dur-24*time.Hour), to, true) {
			add(ev, s)
		}
	}
	slices.SortFunc(out, func(a, b room.Slot) int { return a.Start.Compare(b.Start) })
	return out
}
