package hardware

import (
	"context"
	"errors"
	"io"
	"sync"
	"time"
)

// ErrNotPresent is wrapped by a read from a part the board does not have or
// could not open (no I2C bus, sensor not answering at its address, GPIO line
// unknown). Checks turn it into "unknown" with a hint; it never stops the kiosk.
var ErrNotPresent = errors.New("not present")

// ClimateReading is one temperature/humidity/pressure measurement.
type ClimateReading struct {
	TemperatureC float64
	HumidityPct  float64
	PressureHPa  float64 // 0 when the sensor has no barometer
	At           time.Time
}

// Climate is the room's temperature and humidity sensor (a BME280 on the Pi).
type Climate interface {
	ReadClimate(ctx context.Context) (ClimateReading, error)
}

// Light is the room's light sensor (a BH1750 on the Pi).
type Light interface {
	ReadLux(ctx context.Context) (float64, error)
}

// DoorEdge is a debounced change of the door: Open is the new state.
type DoorEdge struct {
	Open bool
	At   time.Time
}

// Door is the reed switch on the room's door.
type Door interface {
	// Closed reports the debounced state.
	Closed() (bool, error)
	// Watch delivers every debounced change until ctx ends, then closes the
	// channel. A slow reader loses edges rather than blocking the sensor;
	// Closed always has the current state.
	Watch(ctx context.Context) <-chan DoorEdge
}

// PresenceEdge is a change of "someone is in the room".
type PresenceEdge struct {
	Present bool
	At      time.Time
}

// Presence is the motion (PIR) sensor inside the room. Present stays true for
// a hold time after the last motion, since people sitting still in a session
// trigger a PIR only now and then.
type Presence interface {
	Present() (bool, error)
	// Alive reports whether the sensor looks wired and working (nil), or why
	// not. A PIR cannot prove it sees, but an unreadable line or an output
	// stuck at "motion" for hours is a fault.
	Alive() error
	Watch(ctx context.Context) <-chan PresenceEdge
}

// OnAir is the "recording" light outside the door. The daemon drives it from
// the core's snapshots (Snapshot.Recording), which follow the recorder's own
// state, never the intent to record.
type OnAir interface {
	Set(on bool) error
	On() bool
}

// Board is the set of parts one backend provides. Every field is non-nil:
// a part that is missing on the board reads as ErrNotPresent.
type Board struct {
	Backend  string // "sim" or "periph"
	Climate  Climate
	Light    Light
	Door     Door
	Presence Presence
	OnAir    OnAir
	// Backlight is the screen's; nil or missing: the screen stays lit.
	Backlight Backlight
	// Closer releases the backend (watchers, GPIO lines, the I2C bus).
	Closer io.Closer
}

// Close turns the on-air light off and releases the board.
func (b *Board) Close() error {
	var errs []error
	if b.OnAir != nil {
		if err := b.OnAir.Set(false); err != nil && !errors.Is(err, ErrNotPresent) {
			errs = append(errs, err)
		}
	}
	if b.Closer != nil {
		errs = append(errs, b.Closer.Close())
	}
	return errors.Join(errs...)
}

// Fanout delivers values to any number of watchers without ever blocking the
// publisher: a watcher whose buffer is full misses that value. Backends use it
// for door and presence edges.
type Fanout[T any] struct {
	mu   sync.Mutex
	subs map[chan T]struct{}
}

// Watch returns a channel that receives published values until ctx ends.
func (f *Fanout[T]) Watch(ctx context.Context) <-chan T {
	ch := make(chan T, 16)
	f.mu.Lock()
	if f.subs == nil {
		f.subs = map[chan T]struct{}{}
	}
	f.subs[ch] = struct{}{}
	f.mu.Unlock()
	go func() {
		<-ctx.Done()
		f.mu.Lock()
		delete(f.subs, ch)
		close(ch)
		f.mu.Unlock()
	}()
	return ch
}

// Publish sends v to every watcher that has room for it.
func (f *Fanout[T]) Publish(v T) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for ch := range f.subs {
		select {
		case ch <- v:
		default:
		}
	}
}
