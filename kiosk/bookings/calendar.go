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
	pos      int // its position among the feed's events: faults name it, never its title
	uid      string
	start    time.Time
	dur      time.Duration
	allDay   bool
	rule     *rrule.ROption // nil: not recurring; its Dtstart is start
	ruleErr  error          // the rule is refused (checkRule): the event is not shown
	exdates  map[int64]bool // excluded instances, Unix seconds
	rdates   []time.Time    // added instances, sorted
	canceled bool
}

// ErrRefused marks a feed beyond the bounds (bounds.go): too large, too
// many events, nested too deep.
var ErrRefused = errors.New("calendar refused")

// Parse reads an iCalendar feed. Floating times (no TZID, no Z) and all-day
// dates are taken in loc, the room's zone. Every error names what is wrong
// and where (the event's position in the feed), never its title. A feed
// beyond the bounds is refused before it is decoded.
func Parse(b []byte, loc *time.Location) (cal *Calendar, err error) {
	if err := prescan(b); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrRefused, err)
	}
	// The decoder panics on some malformed parameters: a bad feed must be a
	// check fault, never a crash.
	defer func() {
		if p := recover(); p != nil {
			cal, err = nil, fmt.Errorf("malformed calendar: %v", p)
		}
	}()
	dec := ical.NewDecoder(bytes.NewReader(b))
	cal = &Calendar{}
	n, pos := 0, 0
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
		for _, e := range c.Events() {
			pos++
			ev, rid, err := parseEvent(e, loc, z)
			if err != nil {
				return nil, fmt.Errorf("malformed calendar: event %d: %w", pos, err)
			}
			ev.pos = pos
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
	masters := map[string][]int{}
	for i, ev := range cal.events {
		if ev.rule != nil {
			masters[ev.uid] = append(masters[ev.uid], i)
		}
	}
	for _, o := range overrides {
		for _, i := range masters[o.uid] {
			m := &cal.events[i]
			if m.exdates == nil {
				m.exdates = map[int64]bool{}
			}
			m.exdates[o.rid.Unix()] = true
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
	ev.rule = opt
	if ev.ruleErr = checkRule(opt); ev.ruleErr == nil {
		// Validates the BY values; the rule is built again, bounded, for
		// each window (expand).
		if _, err := rrule.NewRRule(*opt); err != nil {
			return ev, rid, fmt.Errorf("RRULE: %w", err)
		}
	}
	for _, name := range []string{ical.PropExceptionDates, ical.PropRecurrenceDates} {
		for _, p := range e.Props.Values(name) {
			ts, err := dateTimes(&p, loc, z)
			if err != nil {
				return ev, rid, fmt.Errorf("%s: %w", name, err)
			}
			for _, t := range ts {
				if name == ical.PropExceptionDates {
					if ev.exdates == nil {
						ev.exdates = map[int64]bool{}
					}
					ev.exdates[t.Unix()] = true
				} else {
					ev.rdates = append(ev.rdates, t)
				}
			}
		}
	}
	slices.SortFunc(ev.rdates, time.Time.Compare)
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

// Slots returns the bookings that overlap [from, to), in start order,
// expanded within the bounds (bounds.go): a rule refused or clamped shows
// fewer.
func (c *Calendar) Slots(from, to time.Time) []room.Slot {
	return c.expand(from, to).slots
}

// expansion is a window of the calendar, expanded within the bounds.
type expansion struct {
	from, to time.Time
	// complete: every booking that starts before it is in slots (to, or
	// earlier when an event or the window was clamped).
	complete time.Time
	slots    []room.Slot // overlapping [from, to), in start order
	faults   []string    // the first maxFaults refusals, "event 3: ..."
	refused  int         // events refused or clamped
	work     int64       // rule steps spent
}

// covers reports whether the expansion shows the door right at now: now is
// in the window, and the next booking (or the horizon) comes before the
// point where the expansion stops being complete.
func (x *expansion) covers(now time.Time) bool {
	if now.Before(x.from) || !now.Before(x.complete) {
		return false
	}
	if !now.Add(horizon).After(x.complete) {
		return true
	}
	for _, s := range x.slots {
		if s.Start.After(now) {
			return s.Start.Before(x.complete) // the next booking is known
		}
	}
	return false
}

// fault records a refused or clamped event: its position, never its title.
func (x *expansion) fault(format string, args ...any) {
	x.refused++
	if len(x.faults) < maxFaults {
		x.faults = append(x.faults, fmt.Sprintf(format, args...))
	}
}

// expand returns the bookings overlapping [from, to). Work is bounded: a
// recurring event costs at most maxRuleWork steps of rrule-go's scan (the
// feed maxRefreshWork), makes at most maxRuleSteps occurrences before the
// window and keeps at most maxEventSlots in it; the window keeps at most
// maxSlots. What goes beyond is refused or clamped, as a fault.
func (c *Calendar) expand(from, to time.Time) *expansion {
	x := &expansion{from: from, to: to, complete: to}
	budget := int64(maxRefreshWork)
	for _, ev := range c.events {
		if ev.canceled {
			continue
		}
		if ev.rule == nil {
			x.add(ev, ev.start)
			continue
		}
		if ev.ruleErr != nil {
			x.fault("event %d: %v; not shown", ev.pos, ev.ruleErr)
			continue
		}
		// Instances that started up to one duration (and a DST day)
		// before from still overlap it.
		starts := ev.occurrences(x, from.Add(-ev.dur-24*time.Hour), x.complete, &budget)
		for _, s := range starts {
			x.add(ev, s)
		}
		if len(x.slots) > 2*maxSlots {
			x.trim()
		}
	}
	x.trim()
	return x
}

// trim sorts the slots and keeps at most maxSlots of them.
func (x *expansion) trim() {
	slices.SortFunc(x.slots, func(a, b room.Slot) int { return a.Start.Compare(b.Start) })
	if len(x.slots) > maxSlots {
		cut := x.slots[maxSlots].Start
		if cut.Before(x.complete) {
			x.complete = cut
		}
		x.slots = slices.DeleteFunc(x.slots, func(s room.Slot) bool { return !s.Start.Before(cut) })
		if x.refused == 0 || len(x.faults) == 0 || !strings.HasPrefix(x.faults[len(x.faults)-1], "more than") {
			x.fault("more than %d bookings in the next %d days; the first shown", maxSlots, int(x.to.Sub(x.from).Hours()/24))
		}
	}
}

// add keeps one instance of ev if it overlaps the window.
func (x *expansion) add(ev event, start time.Time) {
	end := start.Add(ev.dur)
	if ev.allDay {
		// Days, not hours: a DST day still ends at midnight.
		days := int(ev.dur / (24 * time.Hour))
		end = time.Date(start.Year(), start.Month(), start.Day()+days, 0, 0, 0, 0, start.Location())
	}
	if end.After(x.from) && start.Before(x.complete) {
		x.slots = append(x.slots, room.Slot{Start: start, End: end, AllDay: ev.allDay})
	}
}

// ends reports whether the instance at start is over by from (all-day
// ones are given a day of slack for DST; add decides exactly).
func (ev *event) ends(start, from time.Time) bool {
	slack := time.Duration(0)
	if ev.allDay {
		slack = 24 * time.Hour
	}
	return !start.Add(ev.dur + slack).After(from)
}

// occurrences returns ev's instances starting in [lo, hi): the rule's
// (without EXDATEs) and the RDATEs, at most maxEventSlots (then x.complete
// is lowered to what is known). The rule is expanded in the last 400
// years before rrule-go's year 9999 (see shiftYears), so a search for an
// occurrence that never comes ends within 400 years.
func (ev *event) occurrences(x *expansion, lo, hi time.Time, budget *int64) []time.Time {
	var out []time.Time
	complete := hi
	if ev.rule != nil {
		shift := shiftYears(hi)
		o := *ev.rule
		o.Dtstart = addYears(ev.start, shift)
		o.Until = addYears(o.Until, shift)
		loS, hiS := addYears(lo, shift), addYears(hi, shift)
		cost := steps(&o, o.Dtstart, hiS)
		worst := cost
		if dayFilters(&o) {
			worst += steps(&o, hiS, tailEnd)
		}
		if worst > maxRuleWork {
			x.fault("event %d: its rule needs more than %d steps to expand (repeats every %s since %d); not shown", ev.pos, maxRuleWork, periodName(o.Freq), ev.start.Year())
			return nil
		}
		if cost > *budget {
			x.fault("event %d: the feed's rules together need more than %d steps to expand; not shown", ev.pos, maxRefreshWork)
			return nil
		}
		r, err := rrule.NewRRule(o)
		if err != nil {
			x.fault("event %d: RRULE: %v; not shown", ev.pos, err)
			return nil
		}
		next := r.Iterator()
		n, last := 0, o.Dtstart
		for {
			t, ok := next()
			if !ok {
				if dayFilters(&o) {
					last = tailEnd // the scan went on to 9999
				}
				break
			}
			last = t
			if !t.Before(hiS) {
				break
			}
			if n++; n > maxRuleSteps {
				x.fault("event %d: its rule makes more than %d occurrences before the window; not shown", ev.pos, maxRuleSteps)
				out, complete = nil, hi
				break
			}
			if t.Before(loS) {
				continue
			}
			t = addYears(t, -shift)
			if ev.exdates[t.Unix()] || ev.ends(t, x.from) {
				continue
			}
			if len(out) == maxEventSlots {
				x.fault("event %d: more than %d occurrences in the next %d days; the first shown", ev.pos, maxEventSlots, int(x.to.Sub(x.from).Hours()/24))
				complete = out[len(out)-1].Add(time.Second)
				break
			}
			out = append(out, t)
		}
		spent := steps(&o, o.Dtstart, last)
		*budget -= spent
		x.work += spent
		if n > maxRuleSteps {
			return nil
		}
	}
	// RDATEs: sorted at parse, so only those in the window are looked at.
	i, _ := slices.BinarySearchFunc(ev.rdates, lo, time.Time.Compare)
	for ; i < len(ev.rdates) && ev.rdates[i].Before(complete); i++ {
		if t := ev.rdates[i]; !ev.exdates[t.Unix()] && !ev.ends(t, x.from) {
			out = append(out, t)
		}
	}
	slices.SortFunc(out, time.Time.Compare)
	out = slices.CompactFunc(out, time.Time.Equal)
	if len(out) > maxEventSlots {
		if complete.Equal(hi) {
			x.fault("event %d: more than %d occurrences in the next %d days; the first shown", ev.pos, maxEventSlots, int(x.to.Sub(x.from).Hours()/24))
		}
		complete = out[maxEventSlots]
		out = out[:maxEventSlots]
	}
	if complete.Before(x.complete) {
		x.complete = complete
	}
	return out
}
