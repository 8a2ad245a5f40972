package periphboard

import (
	"context"
	"errors"
	"math"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/rs/zerolog"
	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpiotest"
	"periph.io/x/conn/v3/i2c"
	"periph.io/x/conn/v3/i2c/i2ctest"
	"periph.io/x/conn/v3/physic"

	"roomkiosk/hardware"
	"roomkiosk/hardware/checks"
	"roomkiosk/internal/room"
)

func fixtureOps(t *testing.T, names ...string) []i2ctest.IO {
	t.Helper()
	var ops []i2ctest.IO
	for _, n := range names {
		f, err := LoadFixture(filepath.Join("testdata", n+".json"))
		if err != nil {
			t.Fatal(err)
		}
		io, err := f.IO()
		if err != nil {
			t.Fatal(err)
		}
		ops = append(ops, io...)
	}
	return ops
}

func near(a, b, eps float64) bool { return math.Abs(a-b) <= eps }

func TestBME280Playback(t *testing.T) {
	bus := &i2ctest.Playback{Ops: fixtureOps(t, "bme280")}
	r, err := NewClimate(bus, 0x76).ReadClimate(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	// testdata/bme280.json is one forced-mode read (chip id 0xD0 -> 0x60,
	// calibration at 0x88 and 0xE1, status, data at 0xF7): the register
	// traffic periph's own bmxx80 tests verify, which reads 23.72 °C,
	// 65.31 %RH and 1009.43 hPa.
	if !near(r.TemperatureC, 23.72, 0.005) || !near(r.HumidityPct, 65.31, 0.005) || !near(r.PressureHPa, 1009.43, 0.005) {
		t.Fatalf("reading %+v, want 23.72 °C, 65.31 %%RH, 1009.43 hPa", r)
	}
	if err := bus.Close(); err != nil {
		t.Fatal(err) // every recorded transaction was replayed
	}
}

func TestBH1750Playback(t *testing.T) {
	bus := &i2ctest.Playback{Ops: fixtureOps(t, "bh1750")}
	lux, err := NewLight(bus, 0x23).ReadLux(context.Background())
	if err != nil || lux != 420 {
		t.Fatalf("lux = %v, %v; want 420", lux, err)
	}
	if err := bus.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestAbsentSensorsAreNotPresent(t *testing.T) {
	// No device answers: the bus fails every transaction, as a NACK would.
	bus := &i2ctest.Playback{DontPanic: true}
	if _, err := NewClimate(bus, 0x76).ReadClimate(context.Background()); !errors.Is(err, hardware.ErrNotPresent) {
		t.Fatalf("climate err = %v, want ErrNotPresent", err)
	}
	if _, err := NewLight(bus, 0x23).ReadLux(context.Background()); !errors.Is(err, hardware.ErrNotPresent) {
		t.Fatalf("light err = %v, want ErrNotPresent", err)
	}
}

func TestClimateRecoversAfterAFailedRead(t *testing.T) {
	ops := fixtureOps(t, "bme280")
	// First attempt: the chip answers its id, then the bus fails on the
	// calibration read (a loose cable). Second attempt: the full traffic.
	bad := []i2ctest.IO{ops[0]}
	bus := &i2ctest.Playback{Ops: append(bad, ops...), DontPanic: true}
	c := NewClimate(bus, 0x76)
	if _, err := c.ReadClimate(context.Background()); err == nil {
		t.Fatal("first read succeeded, want the bus error")
	}
	// The failed attempt consumed op 0 and then mismatched; the sensor is
	// reopened from scratch next time.
	bus.Count = 1
	if r, err := c.ReadClimate(context.Background()); err != nil || !near(r.TemperatureC, 23.72, 0.005) {
		t.Fatalf("second read %+v, %v; want 23.72 °C after reopening", r, err)
	}
}

// hangBus blocks every transaction until released, like a bus held low.
type hangBus struct{ release chan struct{} }

func (h hangBus) String() string                  { return "hang" }
func (h hangBus) Tx(uint16, []byte, []byte) error { <-h.release; return errors.New("released") }
func (h hangBus) SetSpeed(physic.Frequency) error { return nil }

func TestHungBusHonoursContextAndDoesNotPileUp(t *testing.T) {
	h := hangBus{release: make(chan struct{})}
	defer close(h.release)
	c := NewClimate(h, 0x76)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := c.ReadClimate(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want the deadline", err)
	}
	if _, err := c.ReadClimate(context.Background()); err == nil {
		t.Fatal("a second read started while the first still hangs")
	}
}

func TestFixtureRoundTrip(t *testing.T) {
	ops := []i2ctest.IO{{Addr: 0x23, W: []byte{0x10}}, {Addr: 0x23, W: []byte{0x10}, R: []byte{1, 0xf8}}}
	path := filepath.Join(t.TempDir(), "bh1750.json")
	if err := NewFixture("bh1750", "test", ops).Save(path); err != nil {
		t.Fatal(err)
	}
	f, err := LoadFixture(path)
	if err != nil {
		t.Fatal(err)
	}
	got, err := f.IO()
	if err != nil || !reflect.DeepEqual(got, ops) {
		t.Fatalf("round trip %#v, %v; want %#v", got, err, ops)
	}
}

func newPin(name string) *gpiotest.Pin {
	return &gpiotest.Pin{N: name, EdgesChan: make(chan gpio.Level), Clock: clockwork.NewRealClock()}
}

func recv[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(5 * time.Second):
		t.Fatalf("no %s", what)
	}
	var zero T
	return zero
}

func none[T any](t *testing.T, ch <-chan T, what string) {
	t.Helper()
	select {
	case v := <-ch:
		t.Fatalf("unexpected %s: %+v", what, v)
	default:
	}
}

func TestDoorDebounce(t *testing.T) {
	pin := newPin("GPIO17")
	clock := clockwork.NewFakeClock()
	seen := make(chan struct{}, 16)
	d, err := newDoor(pin, 50*time.Millisecond, clock, zerolog.Nop(), func() { seen <- struct{}{} })
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if pin.P != gpio.PullUp {
		t.Fatalf("pull = %v, want the internal pull-up", pin.P)
	}
	// The pull-up alone reads high: open (a cut wire never shows closed).
	if closed, _ := d.Closed(); closed {
		t.Fatal("door closed with the line high")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	edges := d.Watch(ctx)

	edge := func(l gpio.Level) {
		pin.EdgesChan <- l
		recv(t, seen, "edge handled")
	}
	// The door swings shut and the contact bounces.
	edge(gpio.Low)
	edge(gpio.High)
	edge(gpio.Low)
	clock.Advance(49 * time.Millisecond)
	none(t, edges, "door edge before the level held for the debounce time")
	clock.Advance(time.Millisecond)
	if e := recv(t, edges, "door edge"); e.Open {
		t.Fatalf("edge %+v, want closed", e)
	}
	if closed, _ := d.Closed(); !closed {
		t.Fatal("door not closed after the debounced edge")
	}

	// A knock: the contact opens for a moment and closes again. No edge.
	edge(gpio.High)
	edge(gpio.Low)
	clock.Advance(50 * time.Millisecond)
	waitFor(t, "debounce settled", func() bool { d.mu.Lock(); defer d.mu.Unlock(); return d.timer == nil })
	none(t, edges, "door edge for a knock shorter than the debounce time")

	// Opened for real.
	edge(gpio.High)
	clock.Advance(50 * time.Millisecond)
	if e := recv(t, edges, "door edge"); !e.Open {
		t.Fatalf("edge %+v, want open", e)
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestPresenceHoldAndStuck(t *testing.T) {
	pin := newPin("GPIO27")
	clock := clockwork.NewFakeClock()
	seen := make(chan struct{}, 16)
	const hold, stuck = 3 * time.Minute, 6 * time.Hour
	p, err := newPresence(pin, hold, stuck, clock, zerolog.Nop(), func() { seen <- struct{}{} })
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	edges := p.Watch(ctx)
	edge := func(l gpio.Level) {
		pin.EdgesChan <- l
		recv(t, seen, "edge handled")
	}

	// The line starts high through the pull-up: someone moved just now.
	if present, _ := p.Present(); !present {
		t.Fatal("not present with the PIR output high")
	}
	edge(gpio.Low) // motion over: presence holds
	clock.Advance(hold - time.Second)
	if present, _ := p.Present(); !present {
		t.Fatal("presence dropped before the hold time")
	}
	none(t, edges, "presence edge within the hold time")
	clock.Advance(time.Second)
	if e := recv(t, edges, "presence edge"); e.Present {
		t.Fatalf("edge %+v, want the room empty after the hold time", e)
	}

	// Motion again, then a short pause shorter than the hold: one arrival only.
	edge(gpio.High)
	if e := recv(t, edges, "presence edge"); !e.Present {
		t.Fatalf("edge %+v, want present", e)
	}
	edge(gpio.Low)
	clock.Advance(time.Minute)
	edge(gpio.High)
	clock.Advance(hold)
	none(t, edges, "presence edge while people keep moving")
	if err := p.Alive(); err != nil {
		t.Fatalf("alive: %v", err)
	}

	// High without a break for the stuck time: a fault.
	clock.Advance(stuck)
	if err := p.Alive(); err == nil {
		t.Fatal("PIR stuck high for 6h reported alive")
	}
	edge(gpio.Low)
	if err := p.Alive(); err != nil {
		t.Fatalf("alive after the line dropped: %v", err)
	}
}

func TestOnAirLight(t *testing.T) {
	pin := newPin("GPIO22")
	pin.L = gpio.High // whatever the line was left at
	o, err := NewOnAir(pin)
	if err != nil {
		t.Fatal(err)
	}
	if pin.Read() != gpio.Low {
		t.Fatal("on-air light not switched off at start")
	}
	for _, on := range []bool{true, false, true} {
		if err := o.Set(on); err != nil {
			t.Fatal(err)
		}
		if got := pin.Read() == gpio.High; got != on || o.On() != on {
			t.Fatalf("Set(%v): line high = %v, On() = %v", on, got, o.On())
		}
	}
}

func periphConfig() hardware.Config {
	cfg := hardware.Default()
	cfg.Backend = "periph"
	return cfg
}

func TestAssembleWithNothingAttached(t *testing.T) {
	b := assemble(periphConfig(), zerolog.Nop(),
		func(string) (i2c.BusCloser, error) { return nil, errors.New("no bus found") },
		func(string) gpio.PinIO { return nil }, clockwork.NewRealClock())
	defer b.Close()
	cfg := checks.Default()
	cfg.Timeout = room.Duration{Duration: time.Second}
	rs := checks.NewRunner(cfg, checks.Hardware(cfg, b), checks.Options{}).Run(context.Background(), checks.ReasonDemand)
	for _, r := range rs {
		if r.State != room.CheckUnknown || r.Hint == "" {
			t.Errorf("%s = %s %q, want unknown with a hint", r.Name, r.State, r.Value)
		}
	}
	if err := b.OnAir.Set(true); !errors.Is(err, hardware.ErrNotPresent) {
		t.Fatalf("on-air set err = %v, want ErrNotPresent", err)
	}
}

func TestAssembleWithRecordedSensors(t *testing.T) {
	bus := &i2ctest.Playback{Ops: fixtureOps(t, "bme280", "bh1750")}
	pins := map[string]*gpiotest.Pin{"GPIO17": newPin("GPIO17"), "GPIO27": newPin("GPIO27"), "GPIO22": newPin("GPIO22")}
	var mu sync.Mutex
	b := assemble(periphConfig(), zerolog.Nop(),
		func(string) (i2c.BusCloser, error) { return bus, nil },
		func(n string) gpio.PinIO {
			mu.Lock()
			defer mu.Unlock()
			if p, ok := pins[n]; ok {
				return p
			}
			return nil
		}, clockwork.NewRealClock())
	ctx := context.Background()
	c, err := b.Climate.ReadClimate(ctx)
	if err != nil || !near(c.TemperatureC, 23.72, 0.005) {
		t.Fatalf("climate %+v, %v", c, err)
	}
	if lux, err := b.Light.ReadLux(ctx); err != nil || lux != 420 {
		t.Fatalf("lux %v, %v", lux, err)
	}
	if err := b.OnAir.Set(true); err != nil || pins["GPIO22"].Read() != gpio.High {
		t.Fatalf("on-air: %v", err)
	}
	// Close turns the light off; the BME280 in forced mode is asleep
	// already, so Close sends nothing more on the bus.
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if pins["GPIO22"].Read() != gpio.Low {
		t.Fatal("on-air light left on after Close")
	}
	if err := bus.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestDriverPanicIsAnError(t *testing.T) {
	// Playback panics on unexpected traffic, as a buggy driver might.
	bus := &i2ctest.Playback{Ops: []i2ctest.IO{{Addr: 0x76, W: []byte{0x00}}}}
	c := NewClimate(bus, 0x76)
	if _, err := c.ReadClimate(context.Background()); err == nil || !strings.Contains(err.Error(), "panic") {
		t.Fatalf("err = %v, want the driver panic as an error", err)
	}
}
