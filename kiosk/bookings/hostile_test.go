package bookings

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"roomkiosk/internal/room"
)

// hostileNow is the door's clock in these tests: Thursday 3 December 2026,
// 09:30 UTC. The ordinary booking every hostile feed carries beside its
// attack is tomorrow 10:00-10:50 UTC.
var hostileNow = time.Date(2026, 12, 3, 9, 30, 0, 0, time.UTC)

const ordinary = "BEGIN:VEVENT\r\nUID:ordinary\r\nSUMMARY:Secret client name\r\nDTSTART:20261204T100000Z\r\nDTEND:20261204T105000Z\r\nEND:VEVENT\r\n"

// feedOf wraps events (and the ordinary booking after them) in a calendar.
func feedOf(events ...string) []byte {
	return []byte("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n" + strings.Join(events, "") + ordinary + "END:VCALENDAR\r\n")
}

func ruleEvent(dtstart, rule string, extra ...string) string {
	return "BEGIN:VEVENT\r\nUID:r-" + dtstart + "\r\nSUMMARY:Secret client name\r\nDTSTART:" + dtstart + "\r\nDURATION:PT50M\r\nRRULE:" + rule + "\r\n" +
		strings.Join(extra, "") + "END:VEVENT\r\n"
}

// dateList writes n EXDATE or RDATE lines, step apart from start, 20 per
// line as Outlook writes them.
func dateList(name string, start time.Time, step time.Duration, n int) string {
	var b strings.Builder
	for i := 0; i < n; i += 20 {
		var vs []string
		for j := i; j < min(i+20, n); j++ {
			vs = append(vs, start.Add(time.Duration(j)*step).UTC().Format("20060102T150405Z"))
		}
		b.WriteString(name + ":" + strings.Join(vs, ",") + "\r\n")
	}
	return b.String()
}

// tinyEvents is a feed of n tiny events (all in the past).
func tinyEvents(size int) []byte {
	var b bytes.Buffer
	b.WriteString("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n")
	for i := 0; b.Len() < size-200; i++ {
		fmt.Fprintf(&b, "BEGIN:VEVENT\r\nUID:%d\r\nDTSTART:20201203T100000Z\r\nEND:VEVENT\r\n", i)
	}
	b.WriteString("END:VCALENDAR\r\n")
	return b.Bytes()
}

func nested(depth int) []byte {
	return []byte("BEGIN:VCALENDAR\r\n" + strings.Repeat("BEGIN:X\r\n", depth) + strings.Repeat("END:X\r\n", depth) + "END:VCALENDAR\r\n")
}

// hostileFeeds is the test set (also the benchmark's): each feed with what
// the door must make of it. refused: Parse refuses the whole feed; faults:
// the events named in the check (by position); next: the next booking the
// door shows (the ordinary one unless the feed's own rule comes first).
var hostileFeeds = []struct {
	name    string
	feed    []byte
	refused string   // Parse's error ("" accepted)
	faults  []string // substrings of the faults, in order
	next    string   // the next booking's start, UTC, "" = the ordinary one
}{
	{name: "secondly", feed: feedOf(ruleEvent("20261203T080000Z", "FREQ=SECONDLY")),
		faults: []string{"event 1: its rule needs more than 400000 steps"}},
	{name: "five secondly since 1970", feed: feedOf(
		ruleEvent("19700101T000000Z", "FREQ=SECONDLY"), ruleEvent("19700101T000001Z", "FREQ=SECONDLY;INTERVAL=2"),
		ruleEvent("19700101T000002Z", "FREQ=SECONDLY;COUNT=999999999"), ruleEvent("19700101T000003Z", "FREQ=SECONDLY;UNTIL=99991231T000000Z"),
		ruleEvent("19700101T000004Z", "FREQ=SECONDLY")),
		faults: []string{"event 1:", "event 2:", "event 3:", "event 4:", "event 5:"}},
	{name: "minutely", feed: feedOf(ruleEvent("20261203T083000Z", "FREQ=MINUTELY")),
		faults: []string{"event 1: more than 64 occurrences"}, next: "2026-12-03T09:31Z"},
	{name: "minutely since 1970", feed: feedOf(ruleEvent("19700101T000000Z", "FREQ=MINUTELY")),
		faults: []string{"event 1: its rule needs more than 400000 steps"}},
	{name: "hourly with BY parts", feed: feedOf(ruleEvent("20261203T080000Z", "FREQ=HOURLY;BYMONTH=2;BYMONTHDAY=30;BYHOUR=3")),
		faults: []string{"event 1: repeats every hour with BY parts"}},
	{name: "count far away", feed: feedOf(ruleEvent("20200101T070000Z", "FREQ=DAILY;COUNT=2000000000")),
		next: "2026-12-04T07:00Z"},
	{name: "until far away", feed: feedOf(ruleEvent("20200101T070000Z", "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR;UNTIL=99991231T235959Z")),
		next: "2026-12-04T07:00Z"},
	{name: "weekly since 1970", feed: feedOf(ruleEvent("19700101T080000Z", "FREQ=WEEKLY")), // Thursdays
		next: "2026-12-04T10:00Z"},
	{name: "daily since 1970", feed: feedOf(ruleEvent("19700101T080000Z", "FREQ=DAILY")),
		next: "2026-12-04T08:00Z"},
	{name: "never matches since 1970", feed: feedOf(ruleEvent("19700101T080000Z", "FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30"))},
	{name: "daily since the year 1200", feed: feedOf(ruleEvent("12000101T080000Z", "FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30")),
		faults: []string{"event 1: its rule needs more than 400000 steps"}},
	{name: "thirty that never match", feed: feedOf(func() []string {
		var evs []string
		for i := 0; i < 30; i++ {
			evs = append(evs, ruleEvent(fmt.Sprintf("19700101T08%02d00Z", i), "FREQ=DAILY;BYMONTH=4;BYMONTHDAY=31"))
		}
		return evs
	}()...), faults: []string{"the feed's rules together need more than"}},
	{name: "yearly every second of a day", feed: feedOf(ruleEvent("20261203T080000Z", "FREQ=YEARLY;BYHOUR=1,2,3;BYMINUTE=1,2,3,4,5,6,7,8,9,10")),
		faults: []string{"event 1: more than 1000 occurrences in one year"}},
	{name: "long BY list", feed: feedOf(ruleEvent("20261203T080000Z", "FREQ=MONTHLY;BYMONTHDAY="+strings.Repeat("1,", 99)+"1")),
		faults: []string{"event 1: BYMONTHDAY lists 100 values"}},
	{name: "thousands of EXDATEs", feed: feedOf(ruleEvent("20200101T070000Z", "FREQ=DAILY",
		dateList("EXDATE", time.Date(2020, 1, 1, 7, 0, 0, 0, time.UTC), 24*time.Hour, 2530)))}, // 2020-01-01 to 2026-12-04 07:00: the ordinary booking is next
	{name: "thousands of RDATEs", feed: feedOf(ruleEvent("20261203T000000Z", "FREQ=YEARLY;COUNT=1",
		dateList("RDATE", hostileNow.Add(-24*time.Hour), 2*time.Minute, 5000))),
		faults: []string{"event 1: more than 64 occurrences"}, next: "2026-12-03T09:32Z"},
	{name: "20000 events", feed: feedOf(func() []string {
		evs := make([]string, maxEvents-1)
		for i := range evs {
			evs[i] = fmt.Sprintf("BEGIN:VEVENT\r\nUID:%d\r\nDTSTART:20201203T100000Z\r\nEND:VEVENT\r\n", i)
		}
		return evs
	}()...)},
	{name: "deep nesting", feed: nested(100000), refused: "components nested deeper than 8"},
	{name: "8 MiB of tiny events", feed: tinyEvents(maxFeed), refused: "more than 20000 events"},
	{name: "more than 8 MiB", feed: tinyEvents(maxFeed + 1000), refused: "larger than 8 MiB"},
}

// TestHostileFeeds: every feed of the test set costs at most the bounds,
// refused or clamped events are named by position (never by title), and
// the door goes on showing the rest.
func TestHostileFeeds(t *testing.T) {
	for _, c := range hostileFeeds {
		t.Run(c.name, func(t *testing.T) {
			cal, err := Parse(c.feed, time.UTC)
			if c.refused != "" {
				if err == nil || !strings.Contains(err.Error(), c.refused) {
					t.Fatalf("Parse: %v, want refused: %q", err, c.refused)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			x := cal.expand(window(hostileNow))
			if x.work > maxRefreshWork+maxRuleWork {
				t.Errorf("expansion cost %d steps, beyond the bound %d", x.work, maxRefreshWork+maxRuleWork)
			}
			if len(x.slots) > maxSlots {
				t.Errorf("%d slots kept, beyond %d", len(x.slots), maxSlots)
			}
			if len(x.faults) < len(c.faults) {
				t.Fatalf("faults %q, want %q", x.faults, c.faults)
			}
			for i, want := range c.faults {
				if !strings.Contains(x.faults[i], want) {
					t.Errorf("fault %d: %q, want %q", i, x.faults[i], want)
				}
			}
			if len(c.faults) == 0 && x.refused > 0 {
				t.Errorf("faults %q, want none", x.faults)
			}
			for _, fl := range x.faults {
				if strings.Contains(fl, "Secret") {
					t.Errorf("a fault names the event's title: %q", fl)
				}
			}
			if !x.covers(hostileNow) {
				t.Fatalf("the expansion does not cover now (complete %v)", x.complete)
			}
			want := c.next
			if want == "" {
				want = "2026-12-04T10:00Z"
			}
			var next string
			for _, s := range x.slots {
				if s.Start.After(hostileNow) {
					next = s.Start.UTC().Format("2006-01-02T15:04Z")
					break
				}
			}
			if next != want {
				t.Errorf("next booking %s, want %s", next, want)
			}
		})
	}
}

// TestBadCopySetAside: a copy on disk beyond the bounds (or not a calendar)
// is renamed aside at start, so the next start does not read it again; a
// good copy is shown.
func TestBadCopySetAside(t *testing.T) {
	for _, c := range []struct {
		name string
		copy []byte
		keep bool
	}{
		{"nested", nested(100000), false},
		{"tiny events", tinyEvents(maxFeed), false},
		{"too large", tinyEvents(maxFeed + 4096), false},
		{"html", []byte("<html>sign in</html>"), false},
		{"good", feedOf(ruleEvent("19700101T080000Z", "FREQ=SECONDLY")), true}, // its refused event is a fault, not a bad copy
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			cfg := Default()
			cfg.Feed, cfg.TimeZone, cfg.CacheFile = filepath.Join(dir, "room.ics"), "UTC", filepath.Join(dir, "copy.ics")
			if err := os.WriteFile(cfg.CacheFile, c.copy, 0o600); err != nil {
				t.Fatal(err)
			}
			f, err := New(cfg, quiet(), nil, WithClock(func() time.Time { return hostileNow }))
			if err != nil {
				t.Fatal(err)
			}
			v, _ := f.View(hostileNow)
			_, statErr := os.Stat(cfg.CacheFile)
			_, asideErr := os.Stat(cfg.CacheFile + ".rejected")
			if c.keep {
				if v == nil || v.Next == nil || statErr != nil || asideErr == nil {
					t.Fatalf("good copy: view %+v, copy %v, aside %v", v, statErr, asideErr)
				}
				if res := runCheck(f); res.State != room.CheckAbnormal || !strings.Contains(res.Hint, "event 1") {
					t.Errorf("check %+v, want the refused event named", res)
				}
				return
			}
			if v != nil || statErr == nil || asideErr != nil {
				t.Fatalf("bad copy: view %+v, copy still there: %v, set aside: %v", v, statErr == nil, asideErr)
			}
			// The next start finds nothing to read.
			if f2, err := New(cfg, quiet(), nil); err != nil || f2.cal != nil {
				t.Fatalf("second start: %v, calendar %v", err, f2.cal != nil)
			}
		})
	}
}

// TestFeedChangingEveryFetch: a server that answers each fetch with
// another feed, hostile ones among them: every good answer reaches the
// door at once, every hostile one leaves the last good one shown and is
// named by the check; the door never expands the calendar outside a fetch
// while the feed and the window stay the same.
func TestFeedChangingEveryFetch(t *testing.T) {
	var n atomic.Int32
	good := func(i int) []byte {
		return []byte(fmt.Sprintf("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:g%d\r\nDTSTART:20261204T%02d0000Z\r\nDURATION:PT50M\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n", i, 8+i%10))
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i := int(n.Add(1)) - 1
		w.Header().Set("ETag", fmt.Sprintf(`"%d"`, i)) // never the same: no 304
		if i%2 == 1 {
			_, _ = w.Write(hostileFeeds[(i/2)%len(hostileFeeds)].feed)
			return
		}
		_, _ = w.Write(good(i))
	}))
	defer srv.Close()
	dir := t.TempDir()
	cfg := Default()
	cfg.Feed, cfg.TimeZone, cfg.CacheFile = srv.URL+"/room.ics", "UTC", filepath.Join(dir, "copy.ics")
	clk := newClock(hostileNow)
	var expansions atomic.Int32
	f, err := New(cfg, quiet(), nil, WithClock(clk.now))
	if err != nil {
		t.Fatal(err)
	}
	f.expandHook = func() { expansions.Add(1) }
	// A session started an hour ago is open: the door asks for its
	// booking at every snapshot.
	sessionStart := hostileNow.Add(-time.Hour)
	f.SessionBooking(sessionStart)
	lastGood := ""
	for i := 0; i < 2*len(hostileFeeds); i++ {
		err := f.Refresh(context.Background())
		v, _ := f.View(clk.now())
		if i%2 == 0 {
			if err != nil {
				t.Fatalf("fetch %d: %v", i, err)
			}
			lastGood = fmt.Sprintf("%02d:00", 8+i%10)
		}
		if v == nil || v.Next == nil {
			t.Fatalf("fetch %d: view %+v, want a next booking", i, v)
		}
		if got := v.Next.Start.UTC().Format("15:04"); i%2 == 0 && got != lastGood {
			t.Errorf("fetch %d (good): next %s, want %s", i, got, lastGood)
		}
		if i%2 == 0 {
			// A good feed: the door expands nothing more while the
			// minute passes, nor for an hour of snapshots.
			before := expansions.Load()
			for s := 0; s < 3600; s += 7 {
				f.View(clk.now().Add(time.Duration(s) * time.Second))
				f.SessionBooking(sessionStart)
			}
			if d := expansions.Load() - before; d != 0 {
				t.Errorf("fetch %d: %d expansions in an hour of snapshots of one feed, want 0", i, d)
			}
		}
		if res := runCheck(f); i%2 == 1 && res.State != room.CheckAbnormal && hostileFeeds[(i/2)%len(hostileFeeds)].refused != "" {
			t.Errorf("fetch %d (%s): check %+v, want abnormal", i, hostileFeeds[(i/2)%len(hostileFeeds)].name, res)
		}
	}
}

// TestExpansionHoldsNoLock: while the calendar is being expanded (a fetch
// of a new feed), the door's view and the check answer from what is kept.
func TestExpansionHoldsNoLock(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "room.ics")
	if err := os.WriteFile(path, feedOf(), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := Default()
	cfg.Feed, cfg.TimeZone, cfg.CacheFile = path, "UTC", filepath.Join(dir, "copy.ics")
	f, err := New(cfg, quiet(), nil, WithClock(func() time.Time { return hostileNow }))
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, feedOf(ruleEvent("20261203T083000Z", "FREQ=MINUTELY")), 0o600); err != nil {
		t.Fatal(err)
	}
	in, release := make(chan struct{}), make(chan struct{})
	f.expandHook = func() { close(in); <-release }
	done := make(chan error)
	go func() { done <- f.Refresh(context.Background()) }()
	<-in // the fetch is expanding the new feed now
	answered := make(chan struct{})
	go func() {
		defer close(answered)
		if v, _ := f.View(hostileNow); v == nil || v.Next == nil || v.Next.Start.UTC().Hour() != 10 {
			t.Errorf("view during an expansion: %+v, want the kept one", v)
		}
		if res := runCheck(f); res.State != room.CheckGood {
			t.Errorf("check during an expansion: %+v", res)
		}
	}()
	select {
	case <-answered:
	case err := <-done:
		t.Fatalf("the fetch ended (%v) before the view answered", err)
	case <-time.After(time.Minute):
		t.Fatal("the view and the check waited for the expansion")
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if v, _ := f.View(hostileNow); v == nil || v.Next == nil || v.Next.Start.UTC().Format("15:04") != "09:31" {
		t.Errorf("view after the expansion: %+v, want the new feed's", v)
	}
}
