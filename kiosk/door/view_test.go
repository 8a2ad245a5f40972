package door

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"roomkiosk/internal/room"
	"roomkiosk/kiosk/backlight"
	"roomkiosk/kiosk/bookings"
	"roomkiosk/kiosk/screen/screentest"
	"roomkiosk/kiosk/session"
	"roomkiosk/kiosk/session/sessiontest"
)

type levels struct {
	mu sync.Mutex
	n  []float64
}

func (l *levels) SetBrightness(f float64) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.n = append(l.n, f)
	return nil
}

// TestDoorView: the daemon's decoration of the core's snapshots. A wake
// touch stops at the backlight (the core would refuse the kind); every
// snapshot carries the bookings and whether the screen sleeps; a change of
// either reaches subscribers without a change in the core.
func TestDoorView(t *testing.T) {
	core, err := session.New(screentest.DaemonConfig(t), session.Deps{
		Recorder: &sessiontest.Recorder{}, Checker: &sessiontest.Checker{}, Uploader: &sessiontest.Uploader{}, Log: zerolog.Nop(),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = core.Run(ctx) }()

	dir := t.TempDir()
	start := time.Now().Add(time.Hour).Truncate(time.Minute).UTC()
	ics := "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:a\r\nSUMMARY:Private name\r\nDTSTART:" +
		start.Format("20060102T150405Z") + "\r\nDURATION:PT50M\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
	if err := os.WriteFile(filepath.Join(dir, "room.ics"), []byte(ics), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := bookings.Default()
	cfg.Feed, cfg.CacheFile = filepath.Join(dir, "room.ics"), filepath.Join(dir, "copy.ics")
	var view *View
	feed, err := bookings.New(cfg, zerolog.Nop(), func() { view.Changed() })
	if err != nil {
		t.Fatal(err)
	}
	bl := backlight.Default()
	bl.IdleAfter.Duration = time.Hour
	light := backlight.New(bl, &levels{}, zerolog.Nop(), nil)
	defer light.Close()
	view = NewView(core, feed, light)

	snaps, stop := view.Subscribe()
	defer stop()
	next := func(what string, cond func(room.Snapshot) bool) room.Snapshot {
		t.Helper()
		deadline := time.After(10 * time.Second)
		for {
			select {
			case s := <-snaps:
				if cond(s) {
					return s
				}
			case <-deadline:
				t.Fatalf("no snapshot with %s", what)
			}
		}
	}
	next("the door", func(s room.Snapshot) bool { return s.Step == room.StepDoor && s.Bookings == nil })
	if err := feed.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	s := next("the booking, after the feed changed", func(s room.Snapshot) bool { return s.Bookings != nil && s.Bookings.Next != nil })
	if !s.Bookings.Next.Start.Equal(start) {
		t.Errorf("next booking at %v, want %v", s.Bookings.Next.Start, start)
	}
	if st := view.Snapshot(); st.Bookings == nil || st.ScreenDimmed {
		t.Errorf("Snapshot (the status endpoint's) %+v, want the bookings, awake", st.Bookings)
	}
	if err := view.Send(ctx, room.Intent{Kind: room.IntentWake}); err != nil {
		t.Errorf("a wake touch: %v, want it taken by the backlight", err)
	}
	if err := core.Send(ctx, room.Intent{Kind: room.IntentWake}); err == nil {
		t.Error("the core took a wake intent; the test above proves nothing")
	}
	if err := view.Send(ctx, room.Intent{Kind: room.IntentStart}); err != nil {
		t.Fatal(err)
	}
	next("the PIN pad, through the view", func(s room.Snapshot) bool { return s.Step == room.StepPIN && s.Bookings != nil })
}
