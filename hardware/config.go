// Package hardware names the board's parts (climate, light, door, presence,
// on-air light) as small interfaces and holds their configuration. Backends
// live in sub-packages: the simulated board (sim) and periph (periphboard);
// hardware/board opens the one the configuration names.
package hardware

import (
	"errors"
	"fmt"
	"roomkiosk/internal/room"
	"time"
)

// Config is the [hardware] section. A pin or address left empty (or 0) means
// the part is not fitted: its check reads "unknown" and the kiosk runs on.
type Config struct {
	Backend string    `toml:"backend"` // "sim" or "periph"
	Sim     SimConfig `toml:"sim"`
	I2CBus  string    `toml:"i2c_bus"`     // "" = first bus, or "/dev/i2c-1", "1"
	BME280  uint16    `toml:"bme280_addr"` // 0x76 or 0x77; 0 = not fitted
	BH1750  uint16    `toml:"bh1750_addr"` // 0x23 or 0x5c; 0 = not fitted
	DoorPin string    `toml:"door_pin"`    // reed switch to ground, e.g. "GPIO17": low = closed
	PIRPin  string    `toml:"pir_pin"`     // presence sensor output, active high
	LEDPin  string    `toml:"on_air_pin"`  // on-air light, high = on
	// Backlight is the screen's sysfs backlight: "auto" (the first in
	// /sys/class/backlight), a name there or a folder path; "" = none.
	Backlight string `toml:"backlight"`

	Debounce     room.Duration `toml:"debounce"`      // door switch must be stable this long
	PresenceHold room.Duration `toml:"presence_hold"` // "present" lasts this long after the last motion
	// A PIR output that reports motion without a break for this long is taken
	// as stuck (a loose wire reads as motion through the pull-up).
	PresenceStuckAfter room.Duration `toml:"presence_stuck_after"`
}

// SimConfig is [hardware.sim]: the simulated board's starting values. The
// state file, when present, overrides them at run time (see package sim).
type SimConfig struct {
	StateFile string `toml:"state_file"`  // JSON the sim watches; "" = values below only
	OnAirFile string `toml:"on_air_file"` // when set, the sim writes "on" or "off" here
	// BacklightFile, when set, gets the screen's brightness as sysfs would
	// (0-255, one number).
	BacklightFile string  `toml:"backlight_file"`
	TemperatureC  float64 `toml:"temperature_c"` // starting values
	HumidityPct   float64 `toml:"humidity_pct"`
	PressureHPa   float64 `toml:"pressure_hpa"`
	Lux           float64 `toml:"lux"`
	DoorOpen      bool    `toml:"door_open"`
	Presence      bool    `toml:"presence"`
}

// Default returns the [hardware] defaults.
func Default() Config {
	return Config{
		Backend: "sim", Backlight: "auto", BME280: 0x76, BH1750: 0x23, DoorPin: "GPIO17", PIRPin: "GPIO27", LEDPin: "GPIO22",
		Debounce:           room.Duration{Duration: 50 * time.Millisecond},
		PresenceHold:       room.Duration{Duration: 3 * time.Minute},
		PresenceStuckAfter: room.Duration{Duration: 6 * time.Hour},
		Sim:                SimConfig{TemperatureC: 21.5, HumidityPct: 45, PressureHPa: 1013.2, Lux: 420},
	}
}

// Validate reports the first problem, naming the key.
func (c Config) Validate() error {
	switch c.Backend {
	case "sim", "periph":
	case "":
		return errors.New("hardware.backend: required (\"sim\" or \"periph\")")
	default:
		return fmt.Errorf("hardware.backend: %q is not a backend (use \"sim\" or \"periph\")", c.Backend)
	}
	switch c.BME280 {
	case 0, 0x76, 0x77:
	default:
		return fmt.Errorf("hardware.bme280_addr: 0x%x is not a BME280 address (0x76 or 0x77, or 0 when not fitted)", c.BME280)
	}
	switch c.BH1750 {
	case 0, 0x23, 0x5c:
	default:
		return fmt.Errorf("hardware.bh1750_addr: 0x%x is not a BH1750 address (0x23 or 0x5c, or 0 when not fitted)", c.BH1750)
	}
	pins := map[string]string{}
	for _, p := range []struct{ key, name string }{{"door_pin", c.DoorPin}, {"pir_pin", c.PIRPin}, {"on_air_pin", c.LEDPin}} {
		if p.name == "" {
			continue
		}
		if other, ok := pins[p.name]; ok {
			return fmt.Errorf("hardware.%s: %q is already used by hardware.%s", p.key, p.name, other)
		}
		pins[p.name] = p.key
	}
	switch {
	case c.Debounce.Duration < 0 || c.Debounce.Duration > 2*time.Second:
		return fmt.Errorf("hardware.debounce: %v is out of range (0 to 2s)", c.Debounce.Duration)
	case c.PresenceHold.Duration < time.Second:
		return fmt.Errorf("hardware.presence_hold: %v is too short (at least 1s)", c.PresenceHold.Duration)
	case c.PresenceStuckAfter.Duration <= c.PresenceHold.Duration:
		return fmt.Errorf("hardware.presence_stuck_after: %v must be longer than hardware.presence_hold (%v)", c.PresenceStuckAfter.Duration, c.PresenceHold.Duration)
	case c.Sim.HumidityPct < 0 || c.Sim.HumidityPct > 100:
		return fmt.Errorf("hardware.sim.humidity_pct: %v is not a percentage", c.Sim.HumidityPct)
	case c.Sim.Lux < 0:
		return fmt.Errorf("hardware.sim.lux: %v must not be negative", c.Sim.Lux)
	}
	return nil
}
