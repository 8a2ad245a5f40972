//go:build bench

package bookings

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"roomkiosk/internal/testenv"
)

// officeCalendar is a normal room's feed as Google writes it: two years of
// single bookings (six a working day), twenty weekly series, a few with
// exceptions, in Berlin time.
func officeCalendar() []byte {
	var b strings.Builder
	b.WriteString("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Google Inc//Google Calendar 70.9054//EN\r\n")
	b.WriteString(strings.ReplaceAll(vtz("Europe/Berlin", "X-LIC-LOCATION:Europe/Berlin"), "\n", "\r\n") + "\r\n")
	day := time.Date(2025, 1, 6, 0, 0, 0, 0, time.UTC)
	n := 0
	for ; day.Before(time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)); day = day.AddDate(0, 0, 1) {
		if day.Weekday() == time.Saturday || day.Weekday() == time.Sunday {
			continue
		}
		for _, h := range []int{9, 10, 11, 14, 15, 16} {
			n++
			fmt.Fprintf(&b, "BEGIN:VEVENT\r\nDTSTART;TZID=Europe/Berlin:%sT%02d0000\r\nDTEND;TZID=Europe/Berlin:%sT%02d5000\r\nUID:%d@google.com\r\nSUMMARY:Client %d\r\nSTATUS:CONFIRMED\r\nEND:VEVENT\r\n",
				day.Format("20060102"), h, day.Format("20060102"), h, n, n)
		}
	}
	for i := 0; i < 20; i++ {
		fmt.Fprintf(&b, "BEGIN:VEVENT\r\nDTSTART;TZID=Europe/Berlin:2024%02d%02dT%02d0000\r\nDTEND;TZID=Europe/Berlin:2024%02d%02dT%02d5000\r\nRRULE:FREQ=WEEKLY;BYDAY=%s\r\nEXDATE;TZID=Europe/Berlin:20261224T%02d0000,20261231T%02d0000\r\nUID:series-%d@google.com\r\nSUMMARY:Series %d\r\nEND:VEVENT\r\n",
			1+i%12, 1+i, 8+i%10, 1+i%12, 1+i, 8+i%10, []string{"MO", "TU", "WE", "TH", "FR"}[i%5], 8+i%10, 8+i%10, i, i)
	}
	b.WriteString("END:VCALENDAR\r\n")
	return []byte(b.String())
}

// refreshCost fetches feed (a file) once through a Feed and renders the
// door's view: the best wall time of 3 and the heap one refresh allocates
// (the garbage collector off, so the figure bounds its peak heap).
func refreshCost(t *testing.T, feed []byte) (time.Duration, uint64, error) {
	dir := t.TempDir()
	path := filepath.Join(dir, "room.ics")
	if err := os.WriteFile(path, feed, 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := Default()
	cfg.Feed, cfg.TimeZone, cfg.CacheFile = path, "Europe/Berlin", filepath.Join(dir, "copy.ics")
	best := time.Duration(1 << 62)
	var heap uint64
	var ferr error
	for i := 0; i < 3; i++ {
		f, err := New(cfg, quiet(), nil, WithoutCopy(), WithClock(func() time.Time { return hostileNow }))
		if err != nil {
			t.Fatal(err)
		}
		runtime.GC()
		old := debug.SetGCPercent(-1)
		var m0, m1 runtime.MemStats
		runtime.ReadMemStats(&m0)
		st := time.Now()
		ferr = f.Refresh(context.Background())
		f.View(hostileNow)
		d := time.Since(st)
		runtime.ReadMemStats(&m1)
		debug.SetGCPercent(old)
		best = min(best, d)
		heap = max(heap, m1.TotalAlloc-m0.TotalAlloc)
	}
	return best, heap, ferr
}

// TestBenchBookingsRefresh: the worst feed of the hostile test set against
// a normal office calendar, in the same run: refresh time and heap.
func TestBenchBookingsRefresh(t *testing.T) {
	office := officeCalendar()
	od, oh, err := refreshCost(t, office)
	if err != nil {
		t.Fatal(err)
	}
	worstT, worstH := "", ""
	var wd time.Duration
	var wh uint64
	var notes []string
	for _, c := range hostileFeeds {
		d, h, _ := refreshCost(t, c.feed)
		notes = append(notes, fmt.Sprintf("%s %v/%.1f MiB", c.name, d.Round(time.Millisecond), float64(h)/(1<<20)))
		if d > wd {
			wd, worstT = d, c.name
		}
		if h > wh {
			wh, worstH = h, c.name
		}
	}
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	mib := func(b uint64) float64 { return float64(b) / (1 << 20) }
	base := fmt.Sprintf("normal office calendar (%d KiB: 2 years of 6 bookings a working day, 20 weekly series; same run)", len(office)>>10)
	testenv.Report(t, testenv.Figure{
		Name: "bookings refresh time, worst hostile feed", Value: ms(wd), Unit: "ms",
		Baseline: base, BaseVal: ms(od), Ratio: ms(wd) / ms(od),
		Target: "bounded (bounds.go: 8 MiB, 20,000 events, 2M rule steps a refresh)", Met: wd < 10*time.Second,
		Note: fmt.Sprintf("worst: %s; fetch of a file, parse, expansion of the door's window and one view, best of 3; the feed is fetched every bookings.refresh (5 min), views between fetches expand nothing; each feed: %s", worstT, strings.Join(notes, ", ")),
	})
	testenv.Report(t, testenv.Figure{
		Name: "bookings refresh heap, worst hostile feed", Value: mib(wh), Unit: "MiB allocated",
		Baseline: base, BaseVal: mib(oh), Ratio: mib(wh) / mib(oh),
		Target: "bounded (peak heap of a refresh, GC off)", Met: wh < 64<<20,
		Note: fmt.Sprintf("worst: %s; all a refresh allocates with the garbage collector off (an upper bound of its peak heap)", worstH),
	})
}
