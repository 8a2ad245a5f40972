// Package backlight decides when the door's screen sleeps: it dims the
// backlight after an idle time on a free door and, sooner, during night
// hours; a touch, a door edge or presence wakes it; it never sleeps while a
// session records (the Recording sign stays visible) nor during any step
// other than the door. It runs on timers armed only for the next
// transition, so a sleeping door costs no wake-ups.
package backlight

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"roomkiosk/internal/room"
)

// Config is the [backlight] section.
type Config struct {
	IdleAfter      room.Duration `toml:"idle_after"`       // a free door idle this long dims; 0 = never for idleness
	Night          string        `toml:"night"`            // "22:00-06:30" local time: dims after night_idle_after; "" = no night hours
	NightIdleAfter room.Duration `toml:"night_idle_after"` // idle time before dimming during night hours
	Bright         float64       `toml:"bright"`           // brightness awake, 0-1 of the panel's maximum
	Dim            float64       `toml:"dim"`              // brightness asleep, 0-1 (0 = dark)
}

// Default returns the [backlight] defaults.
func Default() Config {
	return Config{
		IdleAfter:      room.Duration{Duration: 2 * time.Minute},
		NightIdleAfter: room.Duration{Duration: 30 * time.Second},
		Bright:         1,
		Dim:            0.05,
	}
}

// Validate reports the first problem, naming the key.
func (c Config) Validate() error {
	switch {
	case c.IdleAfter.Duration < 0 || c.IdleAfter.Duration > 0 && c.IdleAfter.Duration < time.Second:
		return fmt.Errorf("backlight.idle_after: %v is too short (0 for never, or at least 1s)", c.IdleAfter.Duration)
	case c.NightIdleAfter.Duration < time.Second:
		return fmt.Errorf("backlight.night_idle_after: %v is too short (at least 1s)", c.NightIdleAfter.Duration)
	case c.Bright <= 0 || c.Bright > 1:
		return fmt.Errorf("backlight.bright: %v is not a brightness (above 0, at most 1)", c.Bright)
	case c.Dim < 0 || c.Dim >= c.Bright:
		return fmt.Errorf("backlight.dim: %v must be at least 0 and below backlight.bright (%v)", c.Dim, c.Bright)
	}
	if _, _, err := parseNight(c.Night); err != nil {
		return fmt.Errorf("backlight.night: %w", err)
	}
	return nil
}

// parseNight reads "HH:MM-HH:MM" as minutes after midnight; "" = none
// (both -1).
func parseNight(s string) (from, to int, err error) {
	if s == "" {
		return -1, -1, nil
	}
	a, b, ok := strings.Cut(s, "-")
	if !ok {
		return 0, 0, fmt.Errorf("%q is not HH:MM-HH:MM", s)
	}
	parse := func(x string) (int, error) {
		t, err := time.Parse("15:04", strings.TrimSpace(x))
		if err != nil {
			return 0, fmt.Errorf("%q is not HH:MM-HH:MM", s)
		}
		return t.Hour()*60 + t.Minute(), nil
	}
	if from, err = parse(a); err != nil {
		return 0, 0, err
	}
	if to, err = parse(b); err != nil {
		return 0, 0, err
	}
	if from == to {
		return 0, 0, errors.New("night hours start and end at the same time")
	}
	return from, to, nil
}

// Light is the screen's backlight (the board's hardware.Backlight): 0 is
// off, 1 full brightness; nil when the board has none. Declared here so that
// this policy imports nothing of the hardware layer.
type Light interface {
	SetBrightness(frac float64) error
}

// Controller drives a backlight from what happens at the door.
type Controller struct {
	cfg       Config
	light     Light
	log       zerolog.Logger
	now       func() time.Time
	onChange  func(dimmed bool)
	afterFunc func(time.Duration, func()) *time.Timer
	nightFrom int
	nightTo   int

	mu       sync.Mutex
	last     time.Time // last activity
	canSleep bool      // a free door showing the door screen, nothing recording
	dimmed   bool
	set      bool // the light was set at least once
	timer    *time.Timer
	closed   bool
}

// Option changes a Controller.
type Option func(*Controller)

// WithClock sets the clock (tests).
func WithClock(now func() time.Time) Option { return func(c *Controller) { c.now = now } }

// New returns a controller that starts awake, with the light at full
// brightness. onChange (may be nil) hears every change of dimmed, outside
// the controller's lock.
func New(cfg Config, light Light, log zerolog.Logger, onChange func(dimmed bool), opts ...Option) *Controller {
	from, to, _ := parseNight(cfg.Night)
	c := &Controller{cfg: cfg, light: light, log: log.With().Str("component", "backlight").Logger(), now: time.Now,
		onChange: onChange, afterFunc: time.AfterFunc, nightFrom: from, nightTo: to}
	for _, o := range opts {
		o(c)
	}
	c.mu.Lock()
	c.last = c.now()
	c.apply(false)
	c.mu.Unlock()
	return c
}

// Activity wakes the screen and restarts the idle time: a touch, a door
// edge, someone coming in.
func (c *Controller) Activity() {
	c.mu.Lock()
	c.last = c.now()
	changed := c.evaluate()
	c.mu.Unlock()
	c.notify(changed)
}

// Snapshot follows the core: the screen may sleep only on a free door with
// nothing recording. Becoming free restarts the idle time, so the door
// shows Free for a while after a session.
func (c *Controller) Snapshot(s room.Snapshot) {
	can := s.Step == room.StepDoor && s.Door == room.DoorFree && !s.Recording
	c.mu.Lock()
	if can == c.canSleep {
		c.mu.Unlock()
		return
	}
	c.canSleep = can
	if can {
		c.last = c.now()
	}
	changed := c.evaluate()
	c.mu.Unlock()
	c.notify(changed)
}

// Dimmed reports whether the screen sleeps.
func (c *Controller) Dimmed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.dimmed
}

// Close stops the timer and lights the screen (a stopped daemon must not
// leave the door dark).
func (c *Controller) Close() {
	c.mu.Lock()
	c.closed = true
	if c.timer != nil {
		c.timer.Stop()
	}
	c.apply(false)
	c.mu.Unlock()
}

func (c *Controller) notify(changed bool) {
	if changed && c.onChange != nil {
		c.onChange(c.Dimmed())
	}
}

// evaluate sets the light for now and arms one timer for the next moment
// it may have to dim. It reports whether dimmed changed. Called with mu.
func (c *Controller) evaluate() bool {
	if c.timer != nil {
		c.timer.Stop()
		c.timer = nil
	}
	if c.closed {
		return false
	}
	now := c.now()
	was := c.dimmed
	if !c.canSleep {
		c.apply(false)
		return was != c.dimmed
	}
	idle := now.Sub(c.last)
	limit, night := c.cfg.IdleAfter.Duration, c.isNight(now)
	if night && (limit == 0 || c.cfg.NightIdleAfter.Duration < limit) {
		limit = c.cfg.NightIdleAfter.Duration
	}
	if limit > 0 && idle >= limit {
		// Asleep: only an event wakes it, so no timer at all.
		c.apply(true)
		return was != c.dimmed
	}
	c.apply(false)
	var next time.Duration
	if limit > 0 {
		next = limit - idle
	}
	if !night && c.nightFrom >= 0 {
		// Night begins: the shorter idle time may already have passed.
		if d := c.untilMinute(now, c.nightFrom); next == 0 || d < next {
			next = d
		}
	}
	if next > 0 {
		c.timer = c.afterFunc(next, c.tick)
	}
	return was != c.dimmed
}

func (c *Controller) tick() {
	c.mu.Lock()
	changed := c.evaluate()
	c.mu.Unlock()
	c.notify(changed)
}

// apply sets the light when its state changes (or the first time).
func (c *Controller) apply(dim bool) {
	if c.set && c.dimmed == dim {
		return
	}
	c.set, c.dimmed = true, dim
	level := c.cfg.Bright
	if dim {
		level = c.cfg.Dim
	}
	if c.light == nil {
		return
	}
	if err := c.light.SetBrightness(level); err != nil {
		c.log.Warn().Err(err).Bool("dim", dim).Msg("set backlight")
	}
}

func (c *Controller) isNight(t time.Time) bool {
	if c.nightFrom < 0 {
		return false
	}
	m := t.Hour()*60 + t.Minute()
	if c.nightFrom < c.nightTo {
		return m >= c.nightFrom && m < c.nightTo
	}
	return m >= c.nightFrom || m < c.nightTo // over midnight
}

// untilMinute is the time from t to the next local hh:mm given as minutes
// after midnight.
func (c *Controller) untilMinute(t time.Time, minute int) time.Duration {
	y, mo, d := t.Date()
	at := time.Date(y, mo, d, minute/60, minute%60, 0, 0, t.Location())
	if !at.After(t) {
		at = time.Date(y, mo, d+1, minute/60, minute%60, 0, 0, t.Location())
	}
	return at.Sub(t)
}
