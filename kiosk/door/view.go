package door

import (
	"context"
	"sync"
	"time"

	"roomkiosk/internal/room"
	"roomkiosk/kiosk/backlight"
	"roomkiosk/kiosk/bookings"
	"roomkiosk/kiosk/session"
)

// View adds what the daemon knows beside the session core to every
// snapshot the screen and the status endpoint see: the room's bookings and
// whether the backlight sleeps. The core stays the one place that decides
// about sessions; this only decorates its snapshots and lets a touch on a
// dark screen wake it without reaching the core.
type View struct {
	core  *session.Core
	feed  *bookings.Feed        // nil: no bookings configured
	light *backlight.Controller // nil: no backlight control
	now   func() time.Time

	mu    sync.Mutex
	kicks map[chan struct{}]struct{}
}

// NewView decorates core's snapshots; feed and light may be nil (no
// bookings, no backlight control).
func NewView(core *session.Core, feed *bookings.Feed, light *backlight.Controller) *View {
	return &View{core: core, feed: feed, light: light, now: time.Now, kicks: map[chan struct{}]struct{}{}}
}

// Changed tells every subscriber to send a fresh snapshot (the calendar
// was fetched, the backlight changed).
func (v *View) Changed() {
	v.mu.Lock()
	defer v.mu.Unlock()
	for k := range v.kicks {
		select {
		case k <- struct{}{}:
		default:
		}
	}
}

// decorate returns s with the bookings and the backlight's state, and when
// the bookings shown change next by themselves (zero: not by time).
func (v *View) decorate(s room.Snapshot) (room.Snapshot, time.Time) {
	var till time.Time
	if v.feed != nil {
		s.Bookings, till = v.feed.View(v.now())
		if s.Bookings != nil && !s.SessionStarted.IsZero() {
			// In session, "Booked until" is the end of the session's own
			// booking, not of whatever booking is on at the moment.
			b := *s.Bookings
			b.Current = v.feed.SessionBooking(s.SessionStarted)
			s.Bookings = &b
		}
	}
	if v.light != nil {
		s.ScreenDimmed = v.light.Dimmed()
	}
	return s, till
}

// Snapshot is the core's current snapshot, decorated (the status endpoint).
func (v *View) Snapshot() room.Snapshot {
	s, _ := v.decorate(v.core.Snapshot())
	return s
}

// Subscribe is the core's Subscribe, decorated: latest-wins like the
// core's, plus a fresh snapshot when the bookings shown change with the
// time (a booking begins or ends) or Changed is called. Between those it
// sleeps: no ticker.
func (v *View) Subscribe() (<-chan room.Snapshot, func()) {
	in, stopIn := v.core.Subscribe()
	out := make(chan room.Snapshot, 1)
	kick := make(chan struct{}, 1)
	v.mu.Lock()
	v.kicks[kick] = struct{}{}
	v.mu.Unlock()
	done := make(chan struct{})
	go func() {
		var last room.Snapshot
		have := false
		timer := time.NewTimer(time.Hour)
		timer.Stop()
		defer timer.Stop()
		for {
			select {
			case <-done:
				return
			case s := <-in:
				last, have = s, true
			case <-kick:
			case <-timer.C:
			}
			if !have {
				continue
			}
			s, till := v.decorate(last)
			select {
			case <-out:
			default:
			}
			out <- s
			timer.Stop()
			if !till.IsZero() {
				timer.Reset(time.Until(till) + 10*time.Millisecond)
			}
		}
	}()
	var once sync.Once
	return out, func() {
		once.Do(func() {
			stopIn()
			v.mu.Lock()
			delete(v.kicks, kick)
			v.mu.Unlock()
			close(done)
		})
	}
}

// Send passes an intent to the core. Every intent is activity at the door
// (it wakes the backlight); a wake intent goes no further.
func (v *View) Send(ctx context.Context, in room.Intent) error {
	if v.light != nil {
		v.light.Activity()
	}
	if in.Kind == room.IntentWake {
		return nil
	}
	return v.core.Send(ctx, in)
}

// FollowBacklight feeds the backlight controller until ctx ends: the
// core's snapshots (a free door, recording) and activity at the door (a
// door edge, someone coming in: the daemon adapts the board's watchers; a
// closed channel is no more activity).
func (v *View) FollowBacklight(ctx context.Context, activity <-chan struct{}) error {
	if v.light == nil {
		return nil
	}
	snaps, stop := v.core.Subscribe()
	defer stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case s := <-snaps:
			v.light.Snapshot(s)
		case _, ok := <-activity:
			if !ok {
				activity = nil
				continue
			}
			v.light.Activity()
		}
	}
}
