package bookings

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"roomkiosk/internal/room"
)

// The feeds below are written in the forms three common calendar servers
// produce, with a weekly booking on Tuesdays 14:00-14:50 Berlin time
// across the end of summer time (Sunday 25 October 2026): before it the
// booking is at 12:00 UTC, after it at 13:00 UTC.

// crlf turns a readable feed into what servers send: CRLF line ends, long
// lines folded at 75 octets.
func crlf(s string) []byte {
	var out []string
	for _, l := range strings.Split(strings.TrimSpace(s), "\n") {
		l = strings.TrimSpace(l)
		for len(l) > 75 {
			out = append(out, l[:75])
			l = " " + l[75:]
		}
		out = append(out, l)
	}
	return []byte(strings.Join(out, "\r\n") + "\r\n")
}

const berlinVTZ = `BEGIN:VTIMEZONE
TZID:%s
%s
BEGIN:DAYLIGHT
TZOFFSETFROM:+0100
TZOFFSETTO:+0200
TZNAME:CEST
DTSTART:19700329T020000
RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU
END:DAYLIGHT
BEGIN:STANDARD
TZOFFSETFROM:+0200
TZOFFSETTO:+0100
TZNAME:CET
DTSTART:19701025T030000
RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU
END:STANDARD
END:VTIMEZONE`

func vtz(id, extra string) string {
	return strings.Replace(strings.Replace(berlinVTZ, "%s", id, 1), "%s", extra, 1)
}

// Google Calendar's public/secret address: IANA TZID with a VTIMEZONE that
// names it (X-LIC-LOCATION), one EXDATE line per exception, a moved
// instance (RECURRENCE-ID), an all-day event as VALUE=DATE.
var googleFeed = crlf(`BEGIN:VCALENDAR
PRODID:-//Google Inc//Google Calendar 70.9054//EN
VERSION:2.0
CALSCALE:GREGORIAN
METHOD:PUBLISH
X-WR-CALNAME:Room 101
X-WR-TIMEZONE:Europe/Berlin
` + vtz("Europe/Berlin", "X-LIC-LOCATION:Europe/Berlin") + `
BEGIN:VEVENT
DTSTART;TZID=Europe/Berlin:20261013T140000
DTEND;TZID=Europe/Berlin:20261013T145000
RRULE:FREQ=WEEKLY;BYDAY=TU
EXDATE;TZID=Europe/Berlin:20261103T140000
DTSTAMP:20261001T090000Z
UID:7kukuqrfedlm2f9t1vphf0abcd@google.com
CREATED:20261001T085900Z
DESCRIPTION:Couple session with Anna Müller and Ben Müller - call 0170 1234567 if late
LAST-MODIFIED:20261001T090000Z
SEQUENCE:0
STATUS:CONFIRMED
SUMMARY:Müller couple
TRANSP:OPAQUE
END:VEVENT
BEGIN:VEVENT
DTSTART;TZID=Europe/Berlin:20261110T150000
DTEND;TZID=Europe/Berlin:20261110T155000
DTSTAMP:20261001T090000Z
UID:7kukuqrfedlm2f9t1vphf0abcd@google.com
RECURRENCE-ID;TZID=Europe/Berlin:20261110T140000
SEQUENCE:1
STATUS:CONFIRMED
SUMMARY:Müller couple (moved)
END:VEVENT
BEGIN:VEVENT
DTSTART;VALUE=DATE:20261028
DTEND;VALUE=DATE:20261029
DTSTAMP:20261001T090000Z
UID:0a1b2c3d4e5f@google.com
SUMMARY:Room closed: painting
TRANSP:TRANSPARENT
END:VEVENT
END:VCALENDAR`)

// Outlook / Exchange (published calendar): Windows zone names in quotes,
// no X-LIC-LOCATION, UNTIL in UTC, EXDATE as a comma list, all-day events
// as midnight-to-midnight DATE values with X-MICROSOFT-CDO-ALLDAYEVENT.
var outlookFeed = crlf(`BEGIN:VCALENDAR
METHOD:PUBLISH
PRODID:Microsoft Exchange Server 2010
VERSION:2.0
X-WR-CALNAME:Room 101
` + vtz("W. Europe Standard Time", "") + `
BEGIN:VEVENT
DESCRIPTION:\n
RRULE:FREQ=WEEKLY;UNTIL=20261124T130000Z;INTERVAL=1;BYDAY=TU;WKST=MO
EXDATE;TZID="W. Europe Standard Time":20261103T140000,20261117T140000
UID:040000008200E00074C5B7101A82E00800000000D0A1B2C3D4E5F601000000000000000010000000
SUMMARY;LANGUAGE=de-DE:Paarberatung Schmidt
DTSTART;TZID="W. Europe Standard Time":20261013T140000
DTEND;TZID="W. Europe Standard Time":20261013T145000
CLASS:PUBLIC
PRIORITY:5
DTSTAMP:20261001T090000Z
TRANSP:OPAQUE
STATUS:CONFIRMED
SEQUENCE:0
LOCATION;LANGUAGE=de-DE:Raum 101
X-MICROSOFT-CDO-BUSYSTATUS:BUSY
X-MICROSOFT-CDO-ALLDAYEVENT:FALSE
END:VEVENT
BEGIN:VEVENT
UID:040000008200E00074C5B7101A82E00800000000AABBCCDDEEFF01000000000000000010000000
SUMMARY;LANGUAGE=de-DE:Wartung
DTSTART;VALUE=DATE:20261028
DTEND;VALUE=DATE:20261029
DTSTAMP:20261001T090000Z
X-MICROSOFT-CDO-ALLDAYEVENT:TRUE
END:VEVENT
END:VCALENDAR`)

// Nextcloud (CalDAV, sabre/dav export): a browser-made VTIMEZONE without
// X-LIC-LOCATION but an IANA TZID, COUNT instead of UNTIL, DURATION
// instead of DTEND, and one instance cancelled through a RECURRENCE-ID
// override with STATUS:CANCELLED.
var nextcloudFeed = crlf(`BEGIN:VCALENDAR
VERSION:2.0
CALSCALE:GREGORIAN
PRODID:-//SabreDAV//SabreDAV//EN
X-WR-CALNAME:room-101
X-APPLE-CALENDAR-COLOR:#0082c9
` + vtz("Europe/Berlin", "") + `
BEGIN:VEVENT
CREATED:20261001T090000Z
DTSTAMP:20261001T090000Z
LAST-MODIFIED:20261001T090000Z
SEQUENCE:2
UID:5e7f0c1d-3a2b-4c5d-8e9f-0a1b2c3d4e5f
DTSTART;TZID=Europe/Berlin:20261013T140000
DURATION:PT50M
STATUS:CONFIRMED
SUMMARY:Familie Wagner
RRULE:FREQ=WEEKLY;BYDAY=TU;COUNT=7
END:VEVENT
BEGIN:VEVENT
CREATED:20261001T090000Z
DTSTAMP:20261001T090000Z
UID:5e7f0c1d-3a2b-4c5d-8e9f-0a1b2c3d4e5f
RECURRENCE-ID;TZID=Europe/Berlin:20261103T140000
DTSTART;TZID=Europe/Berlin:20261103T140000
DURATION:PT50M
STATUS:CANCELLED
SUMMARY:Familie Wagner
END:VEVENT
BEGIN:VEVENT
UID:c0ffee00-0000-4000-8000-000000000001
DTSTAMP:20261001T090000Z
DTSTART;VALUE=DATE:20261028
DTEND;VALUE=DATE:20261029
SUMMARY:Raum gesperrt
END:VEVENT
END:VCALENDAR`)

func berlin(t testing.TB) *time.Location {
	t.Helper()
	l, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func utc(s string) time.Time {
	t, err := time.Parse("2006-01-02T15:04Z", s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestParseServerForms(t *testing.T) {
	loc := berlin(t)
	from, to := utc("2026-10-12T00:00Z"), utc("2026-11-30T00:00Z")
	// Weekly Tuesdays 14:00 Berlin: 12:00Z in summer time, 13:00Z after
	// 25 October.
	tue := func(day string, hourZ string) string { return "2026-" + day + "T" + hourZ + ":00Z" }
	cases := []struct {
		name string
		feed []byte
		want []string // slot starts in UTC; the all-day closure as "2026-10-27T23:00Z" (midnight Berlin)
	}{
		{"google", googleFeed, []string{
			tue("10-13", "12"), tue("10-20", "12"), tue("10-27", "13"), "2026-10-27T23:00Z", // DST over, then the closure
			// 11-03 excluded (EXDATE); 11-10 moved to 15:00 Berlin
			tue("11-10", "14"), tue("11-17", "13"), tue("11-24", "13"),
		}},
		{"outlook", outlookFeed, []string{
			tue("10-13", "12"), tue("10-20", "12"), tue("10-27", "13"), "2026-10-27T23:00Z",
			// 11-03 and 11-17 excluded by one comma list; UNTIL 11-24 13:00Z inclusive
			tue("11-10", "13"), tue("11-24", "13"),
		}},
		{"nextcloud", nextcloudFeed, []string{
			tue("10-13", "12"), tue("10-20", "12"), tue("10-27", "13"), "2026-10-27T23:00Z",
			// 11-03 cancelled by its override; COUNT=7 ends on 11-24
			tue("11-10", "13"), tue("11-17", "13"), tue("11-24", "13"),
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cal, err := Parse(c.feed, loc)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, s := range cal.Slots(from, to) {
				got = append(got, s.Start.UTC().Format("2006-01-02T15:04Z"))
				if s.AllDay {
					if s.End.Sub(s.Start) != 24*time.Hour || s.Start.In(loc).Hour() != 0 {
						t.Errorf("all-day slot %v-%v is not one Berlin day", s.Start, s.End)
					}
				} else if d := s.End.Sub(s.Start); d != 50*time.Minute {
					t.Errorf("slot at %v lasts %v, want 50m", s.Start, d)
				}
			}
			if !slices.Equal(got, c.want) {
				t.Errorf("slots\n got %v\nwant %v", got, c.want)
			}
		})
	}
}

func TestParseRefusesMalformed(t *testing.T) {
	loc := berlin(t)
	for _, c := range []struct{ name, feed, want string }{
		{"html", "<html><body>Sign in</body></html>", "malformed calendar"},
		{"empty", "", "no VCALENDAR"},
		{"unterminated", "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nDTSTART:20261013T140000Z\r\n", "malformed calendar"},
		{"bad date", "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:x\r\nDTSTART:2026-10-13\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n", "event 1: DTSTART"},
		{"unknown zone", "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:x\r\nDTSTART;TZID=Mars Standard Time:20261013T140000\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n", `time zone "Mars Standard Time" is unknown`},
		{"bad rrule", "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:x\r\nDTSTART:20261013T140000Z\r\nRRULE:FREQ=SOMETIMES\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n", "event 1: RRULE"},
		{"no start", "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:x\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n", "event 1: no DTSTART"},
		{"bad param", "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nDTSTART;TZID=\"Europe/Berlin\"x:20261013T140000\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n", "malformed calendar"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse([]byte(c.feed), loc)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Parse: %v, want an error containing %q", err, c.want)
			}
		})
	}
}

// clock is a settable test clock.
type clock struct{ t atomic.Pointer[time.Time] }

func (c *clock) now() time.Time         { return *c.t.Load() }
func (c *clock) set(t time.Time)        { c.t.Store(&t) }
func newClock(t time.Time) *clock       { c := &clock{}; c.set(t); return c }
func quiet() zerolog.Logger             { return zerolog.Nop() }
func runCheck(f *Feed) room.CheckResult { return f.Check().Run(context.Background()) }

// TestHTTPSFeed: the feed served over https by a test server with its own
// CA; kept on disk; the server going away leaves the copy shown with its
// age and an advisory check fault naming the problem; a new Feed (a
// restarted daemon) shows the copy before its first fetch.
func TestHTTPSFeed(t *testing.T) {
	loc := berlin(t)
	var body atomic.Pointer[[]byte]
	body.Store(&googleFeed)
	var gets, notModified atomic.Int32
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gets.Add(1)
		if r.URL.Path != "/calendar/ical/secret-token/basic.ics" {
			http.NotFound(w, r)
			return
		}
		if r.Header.Get("If-None-Match") == `"v1"` && body.Load() == &googleFeed {
			notModified.Add(1)
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("ETag", `"v1"`)
		w.Header().Set("Content-Type", "text/calendar; charset=UTF-8")
		_, _ = w.Write(*body.Load())
	}))
	defer srv.Close()
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := Default()
	cfg.Feed = srv.URL + "/calendar/ical/secret-token/basic.ics"
	cfg.CAFile = ca
	cfg.TimeZone = "Europe/Berlin"
	cfg.CacheFile = filepath.Join(dir, "state", "bookings", "feed.ics")
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	// Monday 9 November 2026, 13:30 Berlin: the moved instance is next
	// (Tuesday 15:00-15:50).
	clk := newClock(time.Date(2026, 11, 9, 13, 30, 0, 0, loc))
	var changes, health atomic.Int32
	f, err := New(cfg, quiet(), func() { changes.Add(1) }, WithClock(clk.now), OnHealthChange(func() { health.Add(1) }))
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := f.View(clk.now()); v != nil {
		t.Fatalf("view before any fetch and without a copy: %+v, want nil", v)
	}
	if err := f.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	v, till := f.View(clk.now())
	if v == nil || v.Next == nil || v.Current != nil || v.Offline {
		t.Fatalf("view %+v, want a next booking, none current, online", v)
	}
	if got := v.Next.Start.In(loc).Format("Mon 15:04") + "-" + v.Next.End.In(loc).Format("15:04"); got != "Tue 15:00-15:50" {
		t.Errorf("next %s, want Tue 15:00-15:50 (the moved instance)", got)
	}
	if v.RunsInto {
		t.Error("runs into the next booking a day ahead")
	}
	if till.IsZero() || !till.After(clk.now()) {
		t.Errorf("view holds until %v, want a time after now", till)
	}
	if res := runCheck(f); res.State != room.CheckGood || !strings.Contains(res.Value, "bookings in the next 7 days") {
		t.Errorf("check %+v, want good", res)
	}
	if _, err := os.Stat(cfg.CacheFile); err != nil {
		t.Fatalf("copy on disk: %v", err)
	}
	// Unchanged: a conditional GET answered 304.
	if err := f.Refresh(context.Background()); err != nil || notModified.Load() != 1 {
		t.Fatalf("second fetch: %v, 304s %d, want one", err, notModified.Load())
	}

	// Tuesday 14:20, during the moved booking's slot? No: it starts at
	// 15:00; a 50-minute session started now would run into it.
	clk.set(time.Date(2026, 11, 10, 14, 20, 0, 0, loc))
	v, _ = f.View(clk.now())
	if !v.RunsInto || v.Current != nil {
		t.Errorf("at 14:20 before a 15:00 booking: %+v, want runs_into and no current booking", v)
	}
	clk.set(time.Date(2026, 11, 10, 15, 10, 0, 0, loc))
	v, _ = f.View(clk.now())
	if v.Current == nil || v.Current.End.In(loc).Format("15:04") != "15:50" {
		t.Errorf("at 15:10: current %+v, want the booking until 15:50", v.Current)
	}
	// A session's booking: the one it started in, or one it started up to
	// 15 minutes early for; none for a session at another time.
	for _, c := range []struct {
		start string
		want  string
	}{
		{"14:46", "15:50"}, {"15:30", "15:50"}, {"14:40", ""}, {"16:00", ""},
	} {
		h, _ := time.Parse("15:04", c.start)
		st := time.Date(2026, 11, 10, h.Hour(), h.Minute(), 0, 0, loc)
		got := ""
		if sl := f.SessionBooking(st); sl != nil {
			got = sl.End.In(loc).Format("15:04")
		}
		if got != c.want {
			t.Errorf("session started %s: booked until %q, want %q", c.start, got, c.want)
		}
	}

	// A malformed answer: the check names it, the copy stays.
	bad := []byte("<html>Sign in to continue</html>")
	body.Store(&bad)
	if err := f.Refresh(context.Background()); err == nil {
		t.Fatal("a malformed feed was accepted")
	}
	res := runCheck(f)
	if res.State != room.CheckAbnormal || res.Value != "malformed; copy 25 h old" || !strings.Contains(res.Hint, "malformed") {
		t.Errorf("check after a malformed feed: %+v", res)
	}
	if v, _ := f.View(clk.now()); v == nil || !v.Offline || v.Current == nil {
		t.Errorf("view after a malformed feed: %+v, want the copy, offline", v)
	}

	// The server goes away: unreachable, named by host only (the path holds
	// the calendar's secret token).
	clk.set(time.Date(2026, 11, 10, 17, 30, 0, 0, loc))
	srv.Close()
	if err := f.Refresh(context.Background()); err == nil {
		t.Fatal("a closed server was reachable")
	}
	res = runCheck(f)
	if res.State != room.CheckAbnormal || res.Value != "unreachable; copy 28 h old" || !strings.Contains(res.Hint, "connection refused") {
		t.Errorf("check while unreachable: %+v", res)
	}
	if strings.Contains(res.Value+res.Hint, "secret-token") || strings.Contains(lastErr(f), "secret-token") {
		t.Errorf("check value leaks the feed's path: %q", res.Value)
	}
	if res.Required {
		t.Error("the bookings check is required; it must be advisory")
	}

	// A restarted daemon shows the copy on disk before it can fetch.
	f2, err := New(cfg, quiet(), nil, WithClock(clk.now))
	if err != nil {
		t.Fatal(err)
	}
	v, _ = f2.View(clk.now())
	if v == nil || v.Next == nil || v.AsOf.IsZero() {
		t.Fatalf("restarted feed shows %+v, want the copy from disk", v)
	}
	if got := v.Next.Start.In(loc).Format("2006-01-02 15:04"); got != "2026-11-17 14:00" {
		t.Errorf("next after a restart %s, want 2026-11-17 14:00", got)
	}
	if changes.Load() == 0 {
		t.Error("onChange was never called")
	}
	if n := health.Load(); n != 2 {
		t.Errorf("health changed %d times, want 2 (good to malformed, malformed to unreachable)", n)
	}
}

// TestNoPersonalData: nothing from a summary, description or UID reaches
// what the door, the status endpoint or the check shows.
func TestNoPersonalData(t *testing.T) {
	loc := berlin(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "room.ics")
	if err := os.WriteFile(path, googleFeed, 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := Default()
	cfg.Feed, cfg.TimeZone, cfg.CacheFile = path, "Europe/Berlin", filepath.Join(dir, "copy.ics")
	clk := newClock(time.Date(2026, 10, 20, 14, 10, 0, 0, loc))
	f, err := New(cfg, quiet(), nil, WithClock(clk.now))
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	v, _ := f.View(clk.now())
	b, _ := json.Marshal(struct {
		V *room.Bookings
		C room.CheckResult
	}{v, runCheck(f)})
	for _, word := range []string{"Müller", "Anna", "0170", "couple", "google.com", "painting"} {
		if strings.Contains(string(b), word) {
			t.Errorf("%q leaks into %s", word, b)
		}
	}
	if v.Current == nil {
		t.Errorf("at 14:10 on a booked Tuesday: %s, want a current booking", b)
	}
}

func TestConfigValidate(t *testing.T) {
	ok := Default()
	ok.Feed = "https://calendar.example/room.ics"
	for _, c := range []struct {
		name string
		mod  func(*Config)
		want string
	}{
		{"off", func(c *Config) { c.Feed = "" }, ""},
		{"https", func(c *Config) {}, ""},
		{"file", func(c *Config) { c.Feed = "/srv/room.ics" }, ""},
		{"relative file", func(c *Config) { c.Feed = "room.ics" }, "bookings.feed"},
		{"plain http", func(c *Config) { c.Feed = "http://calendar.example/room.ics" }, "bookings.feed: plain http"},
		{"http loopback", func(c *Config) { c.Feed = "http://127.0.0.1:8080/room.ics" }, ""},
		{"ftp", func(c *Config) { c.Feed = "ftp://x/room.ics" }, "bookings.feed"},
		{"ca for file", func(c *Config) { c.Feed = "/srv/room.ics"; c.CAFile = "/etc/ca.pem" }, "bookings.ca_file"},
		{"refresh", func(c *Config) { c.Refresh.Duration = time.Second }, "bookings.refresh"},
		{"cache", func(c *Config) { c.CacheFile = "feed.ics" }, "bookings.cache_file"},
		{"length", func(c *Config) { c.SessionLength.Duration = time.Minute }, "bookings.session_length"},
		{"zone", func(c *Config) { c.TimeZone = "Mars/Olympus" }, "bookings.time_zone"},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := ok
			c.mod(&cfg)
			err := cfg.Validate()
			if c.want == "" && err != nil || c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)) {
				t.Fatalf("Validate: %v, want %q", err, c.want)
			}
		})
	}
}

func lastErr(f *Feed) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.lastErr == nil {
		return ""
	}
	return f.lastErr.Error()
}
