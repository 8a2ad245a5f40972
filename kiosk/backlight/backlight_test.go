package backlight

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"roomkiosk/internal/room"
)

type light struct {
	mu     sync.Mutex
	levels []float64
}

func (l *light) SetBrightness(f float64) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.levels = append(l.levels, f)
	return nil
}

func (l *light) last() float64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.levels[len(l.levels)-1]
}

// rig is a controller on a fake clock whose timers never fire by
// themselves: the test advances the clock and fires the armed one.
type rig struct {
	t     *testing.T
	now   time.Time
	light *light
	c     *Controller
	armed time.Duration
	fire  func()
}

func newRig(t *testing.T, cfg Config, start time.Time) *rig {
	r := &rig{t: t, now: start, light: &light{}}
	r.c = New(cfg, r.light, zerolog.Nop(), nil, WithClock(func() time.Time { return r.now }))
	r.c.afterFunc = func(d time.Duration, f func()) *time.Timer {
		r.armed, r.fire = d, f
		return time.AfterFunc(1000*time.Hour, func() {})
	}
	return r
}

// advance moves the clock by d and fires the timer if it came due.
func (r *rig) advance(d time.Duration) {
	for d > 0 {
		if r.fire == nil || r.armed > d {
			r.now = r.now.Add(d)
			if r.fire != nil {
				r.armed -= d
			}
			return
		}
		r.now = r.now.Add(r.armed)
		d -= r.armed
		f := r.fire
		r.fire, r.armed = nil, 0
		f()
	}
}

var free = room.Snapshot{Step: room.StepDoor, Door: room.DoorFree}

func TestDimsAfterIdleOnAFreeDoorOnly(t *testing.T) {
	cfg := Default()
	cfg.IdleAfter.Duration = 2 * time.Minute
	r := newRig(t, cfg, time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC))
	if r.light.last() != cfg.Bright || r.c.Dimmed() {
		t.Fatalf("starts at %v, dimmed %v; want bright", r.light.last(), r.c.Dimmed())
	}
	r.c.Snapshot(free)
	r.advance(119 * time.Second)
	if r.c.Dimmed() {
		t.Fatal("dimmed before idle_after")
	}
	r.advance(time.Second)
	if !r.c.Dimmed() || r.light.last() != cfg.Dim {
		t.Fatalf("after 2 min idle: dimmed %v, level %v", r.c.Dimmed(), r.light.last())
	}
	if r.fire != nil {
		t.Error("a timer is armed while asleep: a sleeping door must not wake up by itself")
	}
	// A touch wakes it and restarts the idle time.
	r.c.Activity()
	if r.c.Dimmed() || r.light.last() != cfg.Bright {
		t.Fatal("a touch did not wake the screen")
	}
	r.advance(time.Minute)
	r.c.Activity() // a door edge, presence
	r.advance(119 * time.Second)
	if r.c.Dimmed() {
		t.Fatal("dimmed less than idle_after after the last activity")
	}

	// Recording, in session, or any other step: never dims.
	for _, s := range []room.Snapshot{
		{Step: room.StepInSession, Door: room.DoorInSession, Recording: true},
		{Step: room.StepDoor, Door: room.DoorInSession, Recording: true},
		{Step: room.StepChecklist, Door: room.DoorFree},
		{Step: room.StepDoor, Door: room.DoorOutOfService},
	} {
		r.c.Snapshot(s)
		r.advance(24 * time.Hour)
		if r.c.Dimmed() {
			t.Errorf("dimmed on %s/%s recording=%v", s.Step, s.Door, s.Recording)
		}
	}
	// Back to a free door: Free shows for idle_after again.
	r.c.Snapshot(free)
	r.advance(time.Minute)
	if r.c.Dimmed() {
		t.Fatal("dimmed at once after the session ended")
	}
	r.advance(time.Minute)
	if !r.c.Dimmed() {
		t.Fatal("not dimmed idle_after after the session ended")
	}
	r.c.Snapshot(room.Snapshot{Step: room.StepDoor, Door: room.DoorFree, Recording: true})
	if r.c.Dimmed() {
		t.Fatal("recording did not wake the screen")
	}
}

func TestNightHours(t *testing.T) {
	cfg := Default()
	cfg.IdleAfter.Duration = 0 // never by day
	cfg.Night = "22:00-06:30"
	cfg.NightIdleAfter.Duration = 30 * time.Second
	r := newRig(t, cfg, time.Date(2026, 11, 30, 21, 0, 0, 0, time.UTC))
	r.c.Snapshot(free)
	if r.armed != time.Hour {
		t.Fatalf("timer armed for %v, want the start of the night (1h)", r.armed)
	}
	r.advance(time.Hour)
	if !r.c.Dimmed() {
		t.Fatal("not dimmed at 22:00 after a long idle time")
	}
	r.c.Activity() // someone walks past at 23:00
	r.advance(29 * time.Second)
	if r.c.Dimmed() {
		t.Fatal("dimmed before night_idle_after")
	}
	r.advance(time.Second)
	if !r.c.Dimmed() {
		t.Fatal("not dimmed night_idle_after after a touch at night")
	}
	// Morning: a touch wakes it for the day (idle_after 0: stays lit).
	r.now = time.Date(2026, 12, 1, 7, 0, 0, 0, time.UTC)
	r.c.Activity()
	r.advance(10 * time.Hour)
	if r.c.Dimmed() {
		t.Fatal("dimmed by day with idle_after 0")
	}
}

func TestConfigValidate(t *testing.T) {
	for _, c := range []struct {
		name string
		mod  func(*Config)
		want string
	}{
		{"default", func(*Config) {}, ""},
		{"night over midnight", func(c *Config) { c.Night = "22:00-06:30" }, ""},
		{"night by day", func(c *Config) { c.Night = "12:00-13:00" }, ""},
		{"bad night", func(c *Config) { c.Night = "22-6" }, "backlight.night"},
		{"empty night", func(c *Config) { c.Night = "06:00-06:00" }, "backlight.night"},
		{"idle", func(c *Config) { c.IdleAfter.Duration = time.Millisecond }, "backlight.idle_after"},
		{"never", func(c *Config) { c.IdleAfter.Duration = 0 }, ""},
		{"dim", func(c *Config) { c.Dim = 1 }, "backlight.dim"},
		{"bright", func(c *Config) { c.Bright = 0 }, "backlight.bright"},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := Default()
			c.mod(&cfg)
			err := cfg.Validate()
			if c.want == "" && err != nil || c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)) {
				t.Fatalf("Validate: %v, want %q", err, c.want)
			}
		})
	}
}
