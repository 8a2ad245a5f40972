package bookings

import (
	"bytes"
	"errors"
	"fmt"
	"time"

	"github.com/teambition/rrule-go"
)

// A calendar feed is hostile until checked: anyone who can edit the room's
// calendar (or learns its secret address) writes it, and the daemon that
// reads it also records the session. So a feed costs at most what these
// bounds allow, whatever it holds; what goes beyond them is refused (the
// feed, or one event, named by its position) and reported by the advisory
// bookings check, never retried in a loop.
const (
	// maxFeed bounds a download and the copy on disk: a room's calendar is
	// kilobytes; a server that sends more is not sending a calendar.
	maxFeed = 8 << 20
	// maxEvents bounds the VEVENTs a feed may hold: parsing costs about
	// 1.4 KiB of heap per event (go-ical keeps the whole tree), so 20,000
	// events, ten years of a busy room, cost under 30 MiB once per fetch.
	maxEvents = 20000
	// maxDepth bounds component nesting (VCALENDAR > VEVENT > VALARM is
	// 3): the decoder recurses once per level.
	maxDepth = 8
	// maxByValues bounds one BYxxx list of a rule (BYMONTHDAY=1,...,31 is
	// the longest a person writes; BYYEARDAY could be 366 but no booking
	// tool writes it).
	maxByValues = 64
	// maxPeriodOccurrences bounds what one period of a rule makes at once
	// (rrule-go computes a whole year of a YEARLY rule in one step, times
	// every BYHOUR x BYMINUTE x BYSECOND).
	maxPeriodOccurrences = 1000
	// maxRuleWork bounds the steps (days scanned for a daily or longer
	// rule; hours, minutes or seconds for the shorter ones) one rule may
	// cost to expand the door's window; maxRefreshWork bounds them for the
	// whole feed. A weekly booking since 1970 costs about 150,000; the
	// figure in bench/REPORT.md is the time the worst feed takes.
	maxRuleWork    = 400_000
	maxRefreshWork = 2_000_000
	// maxRuleSteps bounds the occurrences one rule may make before the
	// window (a daily booking since 1970 makes 20,000).
	maxRuleSteps = 50_000
	// maxEventSlots bounds the occurrences of one event kept in the
	// window, maxSlots all of them: the door shows the current and the
	// next booking; more is clamped (and the window shortened to what is
	// complete).
	maxEventSlots = 64
	maxSlots      = 2000
	// maxFaults bounds the refused events named one by one.
	maxFaults = 5
)

// prescan checks a feed's size, event count and nesting on its bytes,
// before the decoder builds anything from it.
func prescan(b []byte) error {
	if len(b) > maxFeed {
		return fmt.Errorf("larger than %d MiB", maxFeed>>20)
	}
	events, depth, deepest := 0, 0, 0
	for len(b) > 0 {
		line := b
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			line, b = b[:i], b[i+1:]
		} else {
			b = nil
		}
		switch {
		case hasPrefixFold(line, "BEGIN:"):
			depth++
			deepest = max(deepest, depth)
			if hasPrefixFold(line[len("BEGIN:"):], "VEVENT") {
				events++
			}
		case hasPrefixFold(line, "END:"):
			depth--
		}
		if deepest > maxDepth {
			return fmt.Errorf("components nested deeper than %d", maxDepth)
		}
		if events > maxEvents {
			return fmt.Errorf("more than %d events, not a room's calendar", maxEvents)
		}
	}
	return nil
}

func hasPrefixFold(b []byte, p string) bool {
	return len(b) >= len(p) && bytes.EqualFold(b[:len(p)], []byte(p))
}

// checkRule refuses a rule (the event is not shown, the rest of the feed
// is) whose single step would be unbounded: long BY
// lists, a period making too many occurrences at once, BYEASTER (not in
// RFC 5545, and not periodic in the way ruleCost relies on).
func checkRule(o *rrule.ROption) error {
	for _, l := range []struct {
		name string
		n    int
	}{
		{"BYSETPOS", len(o.Bysetpos)}, {"BYMONTH", len(o.Bymonth)}, {"BYMONTHDAY", len(o.Bymonthday)},
		{"BYYEARDAY", len(o.Byyearday)}, {"BYWEEKNO", len(o.Byweekno)}, {"BYDAY", len(o.Byweekday)},
		{"BYHOUR", len(o.Byhour)}, {"BYMINUTE", len(o.Byminute)}, {"BYSECOND", len(o.Bysecond)},
	} {
		if l.n > maxByValues {
			return fmt.Errorf("%s lists %d values (at most %d)", l.name, l.n, maxByValues)
		}
	}
	if len(o.Byeaster) > 0 {
		return errors.New("BYEASTER is not iCalendar")
	}
	if o.Freq >= rrule.HOURLY && len(o.Bysetpos)+len(o.Bymonth)+len(o.Bymonthday)+len(o.Byyearday)+
		len(o.Byweekno)+len(o.Byweekday)+len(o.Byhour)+len(o.Byminute)+len(o.Bysecond) > 0 {
		// rrule-go scans such a rule second by second (minute, hour)
		// between occurrences, up to a day per step: unbounded for a
		// filter that never matches. No booking repeats so.
		return fmt.Errorf("repeats every %s with BY parts", periodName(o.Freq))
	}
	n := func(l []int) int { return max(1, len(l)) }
	times := 1
	switch {
	case o.Freq < rrule.HOURLY:
		times = n(o.Byhour) * n(o.Byminute) * n(o.Bysecond)
	case o.Freq == rrule.HOURLY:
		times = n(o.Byminute) * n(o.Bysecond)
	case o.Freq == rrule.MINUTELY:
		times = n(o.Bysecond)
	}
	if times*daysPerPeriod(o.Freq) > maxPeriodOccurrences {
		return fmt.Errorf("more than %d occurrences in one %s", maxPeriodOccurrences, periodName(o.Freq))
	}
	return nil
}

func daysPerPeriod(f rrule.Frequency) int {
	switch f {
	case rrule.YEARLY:
		return 366
	case rrule.MONTHLY:
		return 31
	case rrule.WEEKLY:
		return 7
	}
	return 1
}

func periodName(f rrule.Frequency) string {
	return [...]string{"year", "month", "week", "day", "hour", "minute", "second"}[f]
}

// stepLength is the length of one step of the iteration: rrule-go scans a
// daily or longer rule day by day (a whole period's days at once), a
// shorter one unit by unit.
func stepLength(f rrule.Frequency) time.Duration {
	switch f {
	case rrule.HOURLY:
		return time.Hour
	case rrule.MINUTELY:
		return time.Minute
	case rrule.SECONDLY:
		return time.Second
	}
	return 24 * time.Hour
}

// dayFilters reports whether a rule may skip periods without making an
// occurrence: then its last search for an occurrence may scan on to
// rrule-go's last year (9999), not just to the window's end.
func dayFilters(o *rrule.ROption) bool {
	return len(o.Bysetpos)+len(o.Bymonth)+len(o.Bymonthday)+len(o.Byyearday)+len(o.Byweekno)+len(o.Byweekday) > 0
}

// steps is how many steps rrule-go's scan of a rule takes from a to b (both
// on the rule's wall clock): days for a daily or longer rule (a period's
// days are scanned at once), hours, minutes or seconds for a shorter one;
// an INTERVAL>1 skips periods.
func steps(o *rrule.ROption, a, b time.Time) int64 {
	if !b.After(a) {
		return 1
	}
	// In seconds: a Duration cannot hold more than 292 years.
	n := (b.Unix()-a.Unix())/int64(stepLength(o.Freq)/time.Second) + 1
	if o.Freq < rrule.DAILY {
		return n/int64(max(1, o.Interval)) + int64(daysPerPeriod(o.Freq))
	}
	return n/int64(max(1, o.Interval)) + 1
}

// tailEnd is where rrule-go's scan for an occurrence that never comes
// stops.
var tailEnd = time.Date(lastYear+1, 1, 1, 0, 0, 0, 0, time.UTC)

// lastYear is rrule-go's MAXYEAR: its iterator scans on to it when a rule
// stops making occurrences.
const lastYear = 9999

// shiftYears is how far the window (and the rule with it) is moved so that
// its end lies in the last 400 years before lastYear: the Gregorian
// calendar repeats every 400 years exactly (146,097 days, 20,871 weeks),
// so weekdays, leap days and week numbers are the same there, and a
// search for an occurrence that never comes ends within 400 years.
func shiftYears(end time.Time) int {
	n := (lastYear - 1 - end.Year()) / 400
	return max(0, n) * 400
}

// addYears moves t by y years on the wall clock of its own zone.
func addYears(t time.Time, y int) time.Time {
	if y == 0 || t.IsZero() {
		return t
	}
	return time.Date(t.Year()+y, t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), t.Location())
}
