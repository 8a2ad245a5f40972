package periphboard

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/rs/zerolog"
	"periph.io/x/conn/v3/gpio"

	"roomkiosk/hardware"
)

// edgeWait bounds each WaitForEdge. The wait sleeps in the kernel (the
// GPIO character device, through Go's poller), so an idle door costs no
// wake-ups; Close interrupts it with Halt. Each timeout reconciles the
// level against an edge the kernel might have dropped, which is rare: a
// 250 ms bound made 4 wake-ups a second per pin, most of an idle board's
// (issue 16). A variable for the tests, whose fake pins Halt cannot stop.
var edgeWait = 30 * time.Second

// edgeLoop calls onEdge for every edge on pin until stop closes. On a wait
// that saw no edge it calls onIdle, which lets the caller reconcile a missed
// edge against the line's level.
func edgeLoop(pin gpio.PinIn, stop <-chan struct{}, onEdge, onIdle func()) {
	for {
		select {
		case <-stop:
			return
		default:
		}
		if pin.WaitForEdge(edgeWait) {
			onEdge()
		} else {
			onIdle()
		}
	}
}

// stopEdgeLoop ends an edgeLoop: stop closes, and Halt interrupts the wait
// (again until the loop is gone: a Halt just before the loop enters its
// next wait is not seen by that wait).
func stopEdgeLoop(pin gpio.PinIn, stop, done chan struct{}) {
	close(stop)
	for {
		_ = pin.Halt()
		select {
		case <-done:
			return
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Door is a reed switch between a GPIO input and ground, with the internal
// pull-up: closed door (magnet at the switch) reads low. A cut wire reads
// high, as "open", so a fault never shows a closed door. Edges are debounced:
// a level is accepted once it has held for the debounce time.
type Door struct {
	pin      gpio.PinIn
	debounce time.Duration
	clock    clockwork.Clock
	log      zerolog.Logger

	mu     sync.Mutex
	closed bool
	timer  clockwork.Timer

	edges hardware.Fanout[hardware.DoorEdge]
	stop  chan struct{}
	done  chan struct{}
	// edgeSeen, when set (tests), is called after each raw edge is handled.
	edgeSeen func()
}

// NewDoor configures pin as an input with pull-up and both edges, and starts
// watching it.
func NewDoor(pin gpio.PinIn, debounce time.Duration, clock clockwork.Clock, log zerolog.Logger) (*Door, error) {
	return newDoor(pin, debounce, clock, log, nil)
}

func newDoor(pin gpio.PinIn, debounce time.Duration, clock clockwork.Clock, log zerolog.Logger, edgeSeen func()) (*Door, error) {
	if err := pin.In(gpio.PullUp, gpio.BothEdges); err != nil {
		return nil, fmt.Errorf("door switch %s: %w", pin, err)
	}
	d := &Door{pin: pin, debounce: debounce, clock: clock, log: log, stop: make(chan struct{}), done: make(chan struct{}), edgeSeen: edgeSeen}
	d.closed = pin.Read() == gpio.Low
	go func() {
		defer close(d.done)
		edgeLoop(d.pin, d.stop, d.onEdge, d.onIdle)
	}()
	return d, nil
}

func (d *Door) onEdge() {
	d.mu.Lock()
	if d.timer != nil {
		d.timer.Stop()
	}
	if d.debounce <= 0 {
		d.timer = nil
		d.mu.Unlock()
		d.settle()
	} else {
		d.timer = d.clock.AfterFunc(d.debounce, d.settle)
		d.mu.Unlock()
	}
	if d.edgeSeen != nil {
		d.edgeSeen()
	}
}

// onIdle catches an edge the kernel dropped: the level differs from the
// state and no debounce is pending.
func (d *Door) onIdle() {
	closed := d.pin.Read() == gpio.Low
	d.mu.Lock()
	missed := d.timer == nil && closed != d.closed
	d.mu.Unlock()
	if missed {
		d.onEdge()
	}
}

func (d *Door) settle() {
	closed := d.pin.Read() == gpio.Low
	at := d.clock.Now()
	d.mu.Lock()
	d.timer = nil
	changed := closed != d.closed
	d.closed = closed
	d.mu.Unlock()
	if changed {
		d.log.Info().Bool("open", !closed).Msg("door changed")
		d.edges.Publish(hardware.DoorEdge{Open: !closed, At: at})
	}
}

// Closed reports the debounced state.
func (d *Door) Closed() (bool, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.closed, nil
}

// Watch delivers debounced changes until ctx ends.
func (d *Door) Watch(ctx context.Context) <-chan hardware.DoorEdge { return d.edges.Watch(ctx) }

// Close stops the watcher.
func (d *Door) Close() error {
	stopEdgeLoop(d.pin, d.stop, d.done)
	d.mu.Lock()
	if d.timer != nil {
		d.timer.Stop()
	}
	d.mu.Unlock()
	return nil
}

// Presence is a PIR motion sensor's output (active high) on a GPIO input
// with pull-up. The room counts as occupied from the first motion until no
// motion has been seen for the hold time. An output high without a break for
// stuckAfter is reported by Alive: a loose wire reads as motion through the
// pull-up, which is a fault we can see, unlike a dead sensor reading low.
type Presence struct {
	pin        gpio.PinIn
	hold       time.Duration
	stuckAfter time.Duration
	clock      clockwork.Clock
	log        zerolog.Logger

	mu          sync.Mutex
	present     bool
	active      bool // raw level: motion now
	activeSince time.Time
	timer       clockwork.Timer

	edges    hardware.Fanout[hardware.PresenceEdge]
	stop     chan struct{}
	done     chan struct{}
	edgeSeen func()
}

// NewPresence configures pin and starts watching it.
func NewPresence(pin gpio.PinIn, hold, stuckAfter time.Duration, clock clockwork.Clock, log zerolog.Logger) (*Presence, error) {
	return newPresence(pin, hold, stuckAfter, clock, log, nil)
}

func newPresence(pin gpio.PinIn, hold, stuckAfter time.Duration, clock clockwork.Clock, log zerolog.Logger, edgeSeen func()) (*Presence, error) {
	if err := pin.In(gpio.PullUp, gpio.BothEdges); err != nil {
		return nil, fmt.Errorf("presence sensor %s: %w", pin, err)
	}
	p := &Presence{pin: pin, hold: hold, stuckAfter: stuckAfter, clock: clock, log: log, stop: make(chan struct{}), done: make(chan struct{}), edgeSeen: edgeSeen}
	p.update()
	go func() {
		defer close(p.done)
		edgeLoop(p.pin, p.stop, func() {
			p.update()
			if p.edgeSeen != nil {
				p.edgeSeen()
			}
		}, p.onIdle)
	}()
	return p, nil
}

func (p *Presence) onIdle() {
	active := p.pin.Read() == gpio.High
	p.mu.Lock()
	missed := active != p.active
	p.mu.Unlock()
	if missed {
		p.update()
	}
}

// update applies the line's level.
func (p *Presence) update() {
	active := p.pin.Read() == gpio.High
	now := p.clock.Now()
	p.mu.Lock()
	if active {
		if !p.active {
			p.activeSince = now
		}
		if p.timer != nil {
			p.timer.Stop()
			p.timer = nil
		}
	} else if p.active && p.present {
		p.timer = p.clock.AfterFunc(p.hold, p.expire)
	}
	p.active = active
	arrived := active && !p.present
	if arrived {
		p.present = true
	}
	p.mu.Unlock()
	if arrived {
		p.edges.Publish(hardware.PresenceEdge{Present: true, At: now})
	}
}

func (p *Presence) expire() {
	now := p.clock.Now()
	p.mu.Lock()
	left := !p.active && p.present
	if left {
		p.present = false
	}
	p.timer = nil
	p.mu.Unlock()
	if left {
		p.edges.Publish(hardware.PresenceEdge{Present: false, At: now})
	}
}

// Present reports whether motion was seen within the hold time.
func (p *Presence) Present() (bool, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.present, nil
}

// Alive reports a PIR output stuck at "motion".
func (p *Presence) Alive() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.active && p.clock.Since(p.activeSince) >= p.stuckAfter {
		return fmt.Errorf("presence sensor %s: reports motion without a break since %s (stuck output or loose wire)",
			p.pin, p.activeSince.UTC().Format(time.RFC3339))
	}
	return nil
}

// Watch delivers arrivals and departures until ctx ends.
func (p *Presence) Watch(ctx context.Context) <-chan hardware.PresenceEdge {
	return p.edges.Watch(ctx)
}

// Close stops the watcher.
func (p *Presence) Close() error {
	stopEdgeLoop(p.pin, p.stop, p.done)
	p.mu.Lock()
	if p.timer != nil {
		p.timer.Stop()
	}
	p.mu.Unlock()
	return nil
}

// OnAir is the on-air light on a GPIO output, high = on (through a
// transistor or a relay board; a Pi pin cannot drive a lamp itself).
type OnAir struct {
	pin gpio.PinOut
	mu  sync.Mutex
	on  bool
}

// NewOnAir drives pin low (off) and returns the light.
func NewOnAir(pin gpio.PinOut) (*OnAir, error) {
	if err := pin.Out(gpio.Low); err != nil {
		return nil, fmt.Errorf("on-air light %s: %w", pin, err)
	}
	return &OnAir{pin: pin}, nil
}

// Set switches the light.
func (o *OnAir) Set(on bool) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if err := o.pin.Out(gpio.Level(on)); err != nil {
		return fmt.Errorf("on-air light %s: set %v: %w", o.pin, on, err)
	}
	o.on = on
	return nil
}

// On reports the last state set.
func (o *OnAir) On() bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.on
}
