package periphboard

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"periph.io/x/conn/v3/i2c"
	"periph.io/x/conn/v3/physic"
	"periph.io/x/devices/v3/bh1750"
	"periph.io/x/devices/v3/bmxx80"

	"roomkiosk/hardware"
)

// guarded runs blocking driver calls off the caller's goroutine so a read
// honours ctx, and refuses a new read while an old one is still stuck on the
// bus (a hung sensor must not pile up goroutines, one per check round).
type guarded struct {
	name string
	busy atomic.Bool
}

func (g *guarded) do(ctx context.Context, read func() error) error {
	if !g.busy.CompareAndSwap(false, true) {
		return fmt.Errorf("%s: an earlier read is still waiting on the bus", g.name)
	}
	done := make(chan error, 1)
	go func() {
		var err error
		func() {
			// A driver bug must cost one reading, not the kiosk.
			defer func() {
				if p := recover(); p != nil {
					err = fmt.Errorf("%s: driver panic: %v", g.name, p)
				}
			}()
			err = read()
		}()
		// Free before answering: the caller may read again at once.
		g.busy.Store(false)
		done <- err
	}()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return fmt.Errorf("%s: %w", g.name, ctx.Err())
	}
}

// Climate is a BME280 on I2C through periph's bmxx80 driver. The device is
// opened on first use and reopened after a failed read, so a sensor plugged
// in (or reseated) while the kiosk runs comes back without a restart.
type Climate struct {
	bus  i2c.Bus
	addr uint16
	g    guarded

	mu  sync.Mutex // guards dev; held only inside the guarded goroutine
	dev *bmxx80.Dev
}

// NewClimate returns the BME280 at addr (0x76 or 0x77) on bus.
func NewClimate(bus i2c.Bus, addr uint16) *Climate {
	return &Climate{bus: bus, addr: addr, g: guarded{name: fmt.Sprintf("bme280 at 0x%02x", addr)}}
}

// ReadClimate takes one forced-mode measurement.
func (c *Climate) ReadClimate(ctx context.Context) (hardware.ClimateReading, error) {
	var env physic.Env
	err := c.g.do(ctx, func() error {
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.dev == nil {
			// DefaultOpts: 4x oversampling of all three, forced mode, no filter.
			d, err := bmxx80.NewI2C(c.bus, c.addr, &bmxx80.DefaultOpts)
			if err != nil {
				return fmt.Errorf("%s: %w: %w", c.g.name, err, hardware.ErrNotPresent)
			}
			c.dev = d
		}
		if err := c.dev.Sense(&env); err != nil {
			c.dev = nil
			return fmt.Errorf("%s: read: %w", c.g.name, err)
		}
		return nil
	})
	if err != nil {
		return hardware.ClimateReading{}, err
	}
	r := hardware.ClimateReading{
		TemperatureC: env.Temperature.Celsius(),
		HumidityPct:  float64(env.Humidity) / float64(physic.PercentRH),
		PressureHPa:  float64(env.Pressure) / float64(100*physic.Pascal),
		At:           time.Now(),
	}
	if r.HumidityPct < 0 || r.HumidityPct > 100 || r.TemperatureC < -40 || r.TemperatureC > 85 {
		// Outside the BME280's own range: garbage on the bus, not a room.
		c.mu.Lock()
		c.dev = nil
		c.mu.Unlock()
		return hardware.ClimateReading{}, fmt.Errorf("%s: implausible reading %.1f °C %.1f %%RH", c.g.name, r.TemperatureC, r.HumidityPct)
	}
	return r, nil
}

// Halt puts the sensor to sleep.
func (c *Climate) Halt() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.dev == nil {
		return nil
	}
	return c.dev.Halt()
}

// Light is a BH1750 on I2C through periph's bh1750 driver. Its quirks: the
// driver's SetMode always sends the reset opcode (so Halt does not power the
// chip down, and we never call it), Sense sleeps 140 ms without a context
// (hence the guarded goroutine) and truncates to whole lux, which is plenty
// for a 300 lx threshold.
type Light struct {
	bus  i2c.Bus
	addr uint16
	g    guarded

	mu  sync.Mutex
	dev *bh1750.Dev
}

// NewLight returns the BH1750 at addr (0x23 or 0x5c) on bus.
func NewLight(bus i2c.Bus, addr uint16) *Light {
	return &Light{bus: bus, addr: addr, g: guarded{name: fmt.Sprintf("bh1750 at 0x%02x", addr)}}
}

// ReadLux takes one measurement in continuous high-resolution mode.
func (l *Light) ReadLux(ctx context.Context) (float64, error) {
	var lux float64
	err := l.g.do(ctx, func() error {
		l.mu.Lock()
		defer l.mu.Unlock()
		if l.dev == nil {
			d, err := bh1750.NewI2C(l.bus, l.addr)
			if err != nil {
				return fmt.Errorf("%s: %w: %w", l.g.name, err, hardware.ErrNotPresent)
			}
			l.dev = d
		}
		v, err := l.dev.Sense()
		if err != nil {
			l.dev = nil
			return fmt.Errorf("%s: read: %w", l.g.name, err)
		}
		lux = float64(v) / float64(physic.Lumen)
		return nil
	})
	if err != nil {
		return 0, err
	}
	if lux < 0 || lux > 70000 {
		return 0, errors.New(l.g.name + ": implausible reading")
	}
	return lux, nil
}
