package e2e

import (
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"roomkiosk/kiosk/screen/screentest"
	"roomkiosk/kiosk/ui"
)

// addConfig puts lines into the device's config: extra tables at the end,
// and sim settings into [hardware.sim].
func (d *device) addConfig(t testing.TB, simLines, tables string) {
	t.Helper()
	b, err := os.ReadFile(d.cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	if simLines != "" {
		s = strings.Replace(s, "[checks]\n", simLines+"\n\n[checks]\n", 1)
	}
	s = strings.Replace(s, "[backlight]\nidle_after = \"0s\"\n", "", 1)
	s += "\n" + tables
	if err := os.WriteFile(d.cfgPath, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
}

// morningZone picks a fixed-offset zone where it is now between 07:00 and
// 11:59, so that a booking at 14:00 is later today (the door shows it
// without a weekday) and a session of 8 h started now would run into it.
func morningZone(t testing.TB) (string, *time.Location) {
	t.Helper()
	now := time.Now().UTC()
	for off := -12; off <= 14; off++ {
		name := "Etc/GMT" // Etc/GMT-3 is three hours east of UTC
		switch {
		case off > 0:
			name += fmt.Sprintf("-%d", off)
		case off < 0:
			name += fmt.Sprintf("+%d", -off)
		}
		loc, err := time.LoadLocation(name)
		if err != nil {
			t.Fatalf("time zone %s: %v", name, err)
		}
		if h := now.In(loc).Hour(); h >= 7 && h < 12 && now.In(loc).Add(40*time.Minute).Hour() < 13 {
			return name, loc
		}
	}
	t.Fatal("no fixed-offset zone has a morning now")
	return "", nil
}

// TestDoorShowsBookings: the real daemon fetches the room's calendar over
// https (a test CA) in the form Google Calendar publishes it, and the real
// screen shows, through /ui: "Next 14:00-14:50" on the door, the checklist's
// warning that the session would run into it, "Booked until" in session;
// never a client's name. Then the feed goes away: the door goes on showing
// the copy with its age, and the bookings check is an advisory fault.
func TestDoorShowsBookings(t *testing.T) {
	bin := binaries(t)
	adm := newAdmin(t, bin)
	mic := startMic(t, 10*time.Minute)
	dev := provision(t, adm, bin, roomID, mic, 5*time.Second)

	zone, loc := morningZone(t)
	t.Setenv("TZ", zone) // the daemon's and the screen's local time
	now := time.Now().In(loc)
	day := now.Format("20060102")
	// A booking in progress (its end shows in session) and the next one at
	// 14:00, weekly, with a client's name in SUMMARY and DESCRIPTION.
	curStart := now.Add(-10 * time.Minute).Truncate(time.Minute)
	curEnd := now.Add(40 * time.Minute).Truncate(time.Minute)
	feed := crlfLines(`BEGIN:VCALENDAR
PRODID:-//Google Inc//Google Calendar 70.9054//EN
VERSION:2.0
CALSCALE:GREGORIAN
METHOD:PUBLISH
X-WR-TIMEZONE:` + zone + `
BEGIN:VEVENT
DTSTART;TZID=` + zone + `:` + day + `T140000
DTEND;TZID=` + zone + `:` + day + `T145000
RRULE:FREQ=WEEKLY
DTSTAMP:20261101T090000Z
UID:weekly-1@google.com
SUMMARY:Weber family
DESCRIPTION:Anna Weber and Tom Weber\, second session
END:VEVENT
BEGIN:VEVENT
DTSTART:` + curStart.UTC().Format("20060102T150405Z") + `
DTEND:` + curEnd.UTC().Format("20060102T150405Z") + `
DTSTAMP:20261101T090000Z
UID:now-1@google.com
SUMMARY:Intake Jonas Keller
END:VEVENT
END:VCALENDAR`)
	var up atomic.Bool
	up.Store(true)
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !up.Load() {
			http.Error(w, "calendar offline", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "text/calendar; charset=UTF-8")
		_, _ = w.Write(feed)
	}))
	t.Cleanup(srv.Close)
	ca := filepath.Join(dev.dir, "calendar-ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o644); err != nil {
		t.Fatal(err)
	}
	dev.addConfig(t, "", fmt.Sprintf(`[bookings]
feed = %q
ca_file = %q
refresh = "30s"
cache_file = %q
session_length = "8h"
time_zone = %q

[backlight]
idle_after = "0s"
`, srv.URL+"/calendar/ical/room101%40example.org/private-0a1b2c/basic.ics", ca, filepath.Join(dev.dir, "state", "bookings", "feed.ics"), zone))
	dev.start(t)

	x := screentest.StartX(t)
	k := &kiosk{Screen: screentest.StartScreen(t, filepath.Join(bin, "roomkiosk-screen"), x, dev.socket), dev: dev}
	want := "Next 14:00-14:50"
	k.WaitFor(t, want+" on the door", 30*time.Second, func(v ui.View) bool {
		return v.Scene == "door" && v.Door == "free" && slices.Contains(v.Texts, want)
	})
	k.Shot(t, "door-booked")
	noNames := func(where, s string) {
		t.Helper()
		for _, n := range []string{"Weber", "Anna", "Jonas", "Keller", "Intake"} {
			if strings.Contains(s, n) {
				t.Errorf("%s shows %q: %s", where, n, s)
			}
		}
	}
	st := statusJSON(t, dev)
	noNames("/status", st)
	if !strings.Contains(st, `"bookings"`) {
		t.Errorf("/status has no bookings: %s", st)
	}

	// The checklist warns: a session of 8 h started now runs into 14:00.
	k.dev.waitStatus(t, "boot checks in", 30*time.Second, func(s daemonStatus) bool { return len(s.Checks) > 0 })
	k.Tap(t, "start")
	k.WaitScene(t, "pin")
	k.enterPIN(t)
	warn := "Runs into the booking at 14:00"
	v := k.WaitFor(t, "the checklist's warning", 10*time.Second, func(v ui.View) bool {
		return v.Scene == "checklist" && slices.Contains(v.Texts, warn)
	})
	k.Shot(t, "checklist-runs-into")
	noNames("checklist", strings.Join(v.Texts, " | "))
	for i := range 3 {
		k.TapThen(t, "check-item-"+string(rune('0'+i)))
	}
	k.Tap(t, "check-continue")
	k.WaitScene(t, "participants")
	k.Tap(t, "participants-1")
	k.WaitScene(t, "record_choice")
	k.Tap(t, "record-no")
	until := "Booked until " + curEnd.Format("15:04")
	v = k.WaitFor(t, until+" in session", 10*time.Second, func(v ui.View) bool {
		return v.Scene == "in_session" && slices.Contains(v.Texts, until)
	})
	k.Shot(t, "session-booked-until")
	noNames("in session", strings.Join(v.Texts, " | "))
	k.end(t, 0, "booked")

	// The calendar goes offline: the door keeps the copy, says how old it
	// is, and the bookings check names the problem (advisory: the door
	// stays free).
	up.Store(false)
	s := dev.waitStatus(t, "bookings check fault", 90*time.Second, func(s daemonStatus) bool {
		for _, c := range s.Checks {
			if c.Name == "bookings" && c.State == "abnormal" {
				return true
			}
		}
		return false
	})
	for _, c := range s.Checks {
		if c.Name == "bookings" {
			if c.Required || !strings.Contains(c.Value, "HTTP 503") || !strings.Contains(c.Value, "copy") {
				t.Errorf("bookings check while the feed is down: %+v", c)
			}
		}
	}
	if s.Door != "free" {
		t.Errorf("door %q with the calendar down, want free (the check is advisory)", s.Door)
	}
	k.WaitFor(t, "the copy's age on the door", 90*time.Second, func(v ui.View) bool {
		return v.Scene == "door" && slices.Contains(v.Texts, want) && slices.ContainsFunc(v.Texts, func(s string) bool { return strings.HasPrefix(s, "Bookings as of ") })
	})
	k.Shot(t, "door-booked-offline")
	if _, err := os.Stat(filepath.Join(dev.dir, "state", "bookings", "feed.ics")); err != nil {
		t.Errorf("no copy of the calendar on disk: %v", err)
	}
	if strings.Contains(dev.logTail(1<<20), "private-0a1b2c") {
		t.Error("the daemon's log holds the calendar's secret address")
	}
	noNames("daemon log", dev.logTail(1<<20))
}

// TestScreenSleeps: with the sim board's backlight file, the real daemon
// dims the screen after idle_after on a free door; a touch on the real
// screen wakes it without acting on the door; presence and a door edge
// wake it; while a session records it never sleeps.
func TestScreenSleeps(t *testing.T) {
	bin := binaries(t)
	adm := newAdmin(t, bin)
	mic := startMic(t, 10*time.Minute)
	dev := provision(t, adm, bin, roomID, mic, 5*time.Second)
	light := filepath.Join(dev.dir, "backlight")
	dev.addConfig(t, fmt.Sprintf("backlight_file = %q", light), `[backlight]
idle_after = "3s"
dim = 0.1
`)
	dev.setSim(t, `{"door_open": false, "presence": false}`)
	dev.start(t)
	level := func() string { b, _ := os.ReadFile(light); return strings.TrimSpace(string(b)) }
	const bright, dim = "255", "26"
	dimmed := func(what string, want bool) {
		t.Helper()
		w := bright
		if want {
			w = dim
		}
		waitFor(t, what, 20*time.Second, func() bool { return level() == w && screenDimmed(t, dev) == want })
	}

	x := screentest.StartX(t)
	k := &kiosk{Screen: screentest.StartScreen(t, filepath.Join(bin, "roomkiosk-screen"), x, dev.socket), dev: dev}
	k.WaitFor(t, "free door", 30*time.Second, func(v ui.View) bool { return v.Scene == "door" && v.Door == "free" && v.Connected })
	dimmed("the backlight dims on an idle free door", true)

	// A touch (on the state panel, no target there) wakes it; the door
	// stays the door.
	before, _ := k.View()
	for try := 0; try < 5 && level() != bright; try++ {
		k.TapAt(t, before.Window.X+400, before.Window.Y+170)
		waitUntil(3*time.Second, func() bool { return level() == bright })
	}
	dimmed("a touch wakes the screen", false)
	if v, _ := k.View(); v.Scene != "door" {
		t.Fatalf("the waking touch acted: scene %q", v.Scene)
	}
	dimmed("dims again", true)
	// A tap on Start while dark only wakes: no PIN pad.
	tg := k.Target(t, "start")
	k.TapAt(t, before.Window.X+tg.Rect.X+tg.Rect.W/2, before.Window.Y+tg.Rect.Y+tg.Rect.H/2)
	waitUntil(5*time.Second, func() bool { return level() == bright })
	if v, _ := k.View(); v.Scene != "door" {
		t.Errorf("a tap on Start on a dark screen opened %q; it must only wake the screen", v.Scene)
	}
	dimmed("dims again", true)

	// Someone comes in.
	dev.setSim(t, `{"door_open": false, "presence": true}`)
	dimmed("presence wakes the screen", false)
	dimmed("dims again", true)
	// The door opens and closes (the open door also puts the room out of
	// service for a moment).
	dev.setSim(t, `{"door_open": true, "presence": true}`)
	dimmed("a door edge wakes the screen", false)
	dev.setSim(t, `{"door_open": false, "presence": true}`)
	k.WaitFor(t, "free door again", 20*time.Second, func(v ui.View) bool { return v.Door == "free" })
	dimmed("dims again", true)

	// A recorded session: the Recording sign stays lit however long nobody
	// touches the screen.
	k.begin(t, 1, "sleep")
	k.consent(t, "sleep", true)
	k.recording(t, "sleep")
	for i := 0; i < 4; i++ { // four idle times
		time.Sleep(3 * time.Second)
		if level() != bright || screenDimmed(t, dev) {
			t.Fatalf("the screen dimmed while recording (backlight %s)", level())
		}
	}
	k.Shot(t, "recording-lit")
	k.end(t, 0, "sleep")
	dimmed("dims after the session on a free door", true)

	// Stopping the daemon lights the screen: a stopped kiosk is not dark.
	dev.stop()
	if level() != bright {
		t.Errorf("backlight %s after the daemon stopped, want %s", level(), bright)
	}
}

func waitUntil(d time.Duration, cond func() bool) {
	end := time.Now().Add(d)
	for time.Now().Before(end) && !cond() {
		time.Sleep(50 * time.Millisecond)
	}
}

func statusJSON(t testing.TB, d *device) string {
	t.Helper()
	resp, err := statusClient.Get("http://" + d.statusAddr + "/status")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(m)
	return string(b)
}

func screenDimmed(t testing.TB, d *device) bool {
	t.Helper()
	resp, err := statusClient.Get("http://" + d.statusAddr + "/status")
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	var s struct {
		Dimmed bool `json:"screen_dimmed"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&s)
	return s.Dimmed
}

// crlfLines gives a feed CRLF line ends, as calendar servers send it.
func crlfLines(s string) []byte {
	return []byte(strings.ReplaceAll(strings.TrimSpace(s), "\n", "\r\n") + "\r\n")
}
