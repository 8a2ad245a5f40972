// Package periphboard is the real board: periph.io host drivers, a BME280
// and a BH1750 on I2C, the door reed switch and the PIR on GPIO inputs, and
// the on-air light on a GPIO output. A part that is absent or fails to open
// becomes hardware.Missing: its check reads "unknown" and the kiosk runs on.
package periphboard

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"

	"github.com/jonboulle/clockwork"
	"github.com/rs/zerolog"
	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpioreg"
	"periph.io/x/conn/v3/i2c"
	"periph.io/x/conn/v3/i2c/i2creg"
	"periph.io/x/conn/v3/i2c/i2ctest"
	"periph.io/x/host/v3"

	"roomkiosk/hardware"
)

// Open initialises periph's host drivers and opens the parts cfg names. It
// returns an error only for a programming mistake; missing hardware is not
// one (see the package doc).
func Open(cfg hardware.Config, log zerolog.Logger) (*hardware.Board, error) {
	log = log.With().Str("component", "periph-board").Logger()
	initHost(log)
	return assemble(cfg, log, i2creg.Open, gpioreg.ByName, clockwork.NewRealClock()), nil
}

// initHost runs host.Init, tolerating drivers that fail: on a real board
// some always do (those for other boards' chips), and that is not fatal.
func initHost(log zerolog.Logger) {
	st, err := host.Init()
	if err != nil {
		log.Warn().Err(err).Msg("periph host init: continuing with what loaded")
	}
	if st == nil {
		return
	}
	for _, f := range st.Failed {
		log.Debug().Str("driver", f.D.String()).AnErr("reason", f.Err).Msg("periph driver not loaded")
	}
}

type closers []io.Closer

func (cs closers) Close() error {
	var errs []error
	for i := len(cs) - 1; i >= 0; i-- {
		errs = append(errs, cs[i].Close())
	}
	return errors.Join(errs...)
}

// assemble builds the board from a bus opener and a pin lookup, which tests
// replace with i2ctest.Playback and gpiotest pins.
func assemble(cfg hardware.Config, log zerolog.Logger, openBus func(string) (i2c.BusCloser, error),
	pinByName func(string) gpio.PinIO, clock clockwork.Clock) *hardware.Board {
	b := &hardware.Board{Backend: "periph"}
	var cs closers

	var bus i2c.Bus
	var busErr error
	if cfg.BME280 != 0 || cfg.BH1750 != 0 {
		bc, err := openBus(cfg.I2CBus)
		if err != nil {
			busErr = fmt.Errorf("i2c bus %q (enable I2C on the Pi: dtparam=i2c_arm=on): %w", cfg.I2CBus, err)
			log.Warn().Err(busErr).Msg("no I2C bus: climate and light sensors unavailable")
		} else {
			bus = bc
			cs = append(cs, bc)
		}
	}
	switch {
	case cfg.BME280 == 0:
		b.Climate = hardware.Missing("climate sensor", errors.New("not fitted (hardware.bme280_addr = 0)"))
	case busErr != nil:
		b.Climate = hardware.Missing("climate sensor", busErr)
	default:
		c := NewClimate(bus, cfg.BME280)
		b.Climate = c
		cs = append(cs, closeFunc(c.Halt))
	}
	switch {
	case cfg.BH1750 == 0:
		b.Light = hardware.Missing("light sensor", errors.New("not fitted (hardware.bh1750_addr = 0)"))
	case busErr != nil:
		b.Light = hardware.Missing("light sensor", busErr)
	default:
		b.Light = NewLight(bus, cfg.BH1750)
	}

	pin := func(key, name string) (gpio.PinIO, error) {
		if name == "" {
			return nil, fmt.Errorf("not fitted (hardware.%s is empty)", key)
		}
		p := pinByName(name)
		if p == nil {
			return nil, fmt.Errorf("no GPIO line named %q (hardware.%s; `roomkiosk hwprobe` lists the lines)", name, key)
		}
		return p, nil
	}

	if p, err := pin("door_pin", cfg.DoorPin); err != nil {
		b.Door = hardware.Missing("door switch", err)
	} else if d, err := NewDoor(p, cfg.Debounce.Duration, clock, log); err != nil {
		b.Door = hardware.Missing("door switch", err)
	} else {
		b.Door = d
		cs = append(cs, d)
	}

	if p, err := pin("pir_pin", cfg.PIRPin); err != nil {
		b.Presence = hardware.Missing("presence sensor", err).AsPresence()
	} else if pr, err := NewPresence(p, cfg.PresenceHold.Duration, cfg.PresenceStuckAfter.Duration, clock, log); err != nil {
		b.Presence = hardware.Missing("presence sensor", err).AsPresence()
	} else {
		b.Presence = pr
		cs = append(cs, pr)
	}

	if p, err := pin("on_air_pin", cfg.LEDPin); err != nil {
		b.OnAir = hardware.Missing("on-air light", err)
	} else if o, err := NewOnAir(p); err != nil {
		b.OnAir = hardware.Missing("on-air light", err)
	} else {
		b.OnAir = o
	}

	for name, part := range map[string]any{"climate": b.Climate, "light": b.Light, "door": b.Door, "presence": b.Presence, "on_air": b.OnAir} {
		if m, ok := part.(interface{ Err() error }); ok {
			log.Warn().Str("part", name).Err(m.Err()).Msg("board part unavailable")
		}
	}
	b.Closer = cs
	return b
}

type closeFunc func() error

func (f closeFunc) Close() error { return f() }

// HostReport is what periph's host drivers found.
type HostReport struct {
	Loaded  []string // driver names
	Skipped []string // "name: why"
	Failed  []string // "name: why"
	GPIO    []string // line names
	I2C     []string // bus names with aliases
}

// ProbeHost runs host.Init and lists drivers, GPIO lines and I2C buses.
func ProbeHost() (HostReport, error) {
	var r HostReport
	st, err := host.Init()
	if st != nil {
		for _, d := range st.Loaded {
			r.Loaded = append(r.Loaded, d.String())
		}
		for _, f := range st.Skipped {
			r.Skipped = append(r.Skipped, f.String())
		}
		for _, f := range st.Failed {
			r.Failed = append(r.Failed, f.String())
		}
	}
	for _, p := range gpioreg.All() {
		r.GPIO = append(r.GPIO, p.Name())
	}
	for _, ref := range i2creg.All() {
		name := ref.Name
		if len(ref.Aliases) > 0 {
			name += fmt.Sprintf(" %v", ref.Aliases)
		}
		r.I2C = append(r.I2C, name)
	}
	sort.Strings(r.I2C)
	if err != nil {
		return r, fmt.Errorf("periph host init: %w", err)
	}
	return r, nil
}

// Reading is one part read by ProbeSensors.
type Reading struct {
	Part  string // "bme280 at 0x76", "door GPIO17", ...
	Value string
	Err   error
}

// ProbeSensors opens each configured part once and reads it. With
// recordDir, the I2C traffic of each sensor is recorded (i2ctest.Record)
// and saved as <recordDir>/<device>.json fixtures for the unit tests.
func ProbeSensors(ctx context.Context, cfg hardware.Config, recordDir string, log zerolog.Logger) []Reading {
	initHost(log)
	var out []Reading
	if recordDir != "" {
		if err := os.MkdirAll(recordDir, 0o755); err != nil {
			return append(out, Reading{Part: "record folder", Err: err})
		}
	}
	var bus i2c.BusCloser
	if cfg.BME280 != 0 || cfg.BH1750 != 0 {
		b, err := i2creg.Open(cfg.I2CBus)
		if err != nil {
			out = append(out, Reading{Part: fmt.Sprintf("i2c bus %q", cfg.I2CBus), Err: err})
		} else {
			bus = b
			defer b.Close()
			out = append(out, Reading{Part: fmt.Sprintf("i2c bus %q", cfg.I2CBus), Value: b.String()})
		}
	}
	// Each sensor gets its own recorder so each fixture holds one device.
	record := func(device string, read func(i2c.Bus) (string, error), addr uint16) {
		part := fmt.Sprintf("%s at 0x%02x", device, addr)
		if bus == nil {
			return
		}
		rec := &i2ctest.Record{Bus: bus}
		v, err := read(rec)
		out = append(out, Reading{Part: part, Value: v, Err: err})
		if recordDir != "" && len(rec.Ops) > 0 {
			note := fmt.Sprintf("recorded by roomkiosk hwprobe: %s read %q", part, v)
			if err := NewFixture(device, note, rec.Ops).Save(filepath.Join(recordDir, device+".json")); err != nil {
				out = append(out, Reading{Part: part + " fixture", Err: err})
			}
		}
	}
	if cfg.BME280 != 0 {
		record("bme280", func(b i2c.Bus) (string, error) {
			r, err := NewClimate(b, cfg.BME280).ReadClimate(ctx)
			if err != nil {
				return "", err
			}
			return fmt.Sprintf("%.2f °C, %.2f %%RH, %.2f hPa", r.TemperatureC, r.HumidityPct, r.PressureHPa), nil
		}, cfg.BME280)
	}
	if cfg.BH1750 != 0 {
		record("bh1750", func(b i2c.Bus) (string, error) {
			lux, err := NewLight(b, cfg.BH1750).ReadLux(ctx)
			if err != nil {
				return "", err
			}
			return fmt.Sprintf("%.0f lx", lux), nil
		}, cfg.BH1750)
	}
	for _, p := range []struct{ part, name string }{{"door switch", cfg.DoorPin}, {"presence sensor", cfg.PIRPin}} {
		if p.name == "" {
			continue
		}
		part := p.part + " " + p.name
		pin := gpioreg.ByName(p.name)
		if pin == nil {
			out = append(out, Reading{Part: part, Err: errors.New("no such GPIO line")})
			continue
		}
		if err := pin.In(gpio.PullUp, gpio.NoEdge); err != nil {
			out = append(out, Reading{Part: part, Err: err})
			continue
		}
		out = append(out, Reading{Part: part, Value: pin.Read().String()})
	}
	if cfg.LEDPin != "" {
		part := "on-air light " + cfg.LEDPin
		if pin := gpioreg.ByName(cfg.LEDPin); pin == nil {
			out = append(out, Reading{Part: part, Err: errors.New("no such GPIO line")})
		} else {
			out = append(out, Reading{Part: part, Value: "output, " + pin.Function()})
		}
	}
	return out
}
