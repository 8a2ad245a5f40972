// Package hardware names the board's parts (climate, light, door, presence,
// on-air light) as small interfaces and holds their configuration. Backends
// live in sub-packages: the simulated board and periph.
package hardware

import (
	"errors"
	"fmt"
)

// Config is the [hardware] section.
type Config struct {
	Backend string    `toml:"backend"` // "sim" or "periph"
	Sim     SimConfig `toml:"sim"`
	I2CBus  string    `toml:"i2c_bus"` // "" = first bus, or "/dev/i2c-1"
	BME280  uint16    `toml:"bme280_addr"`
	BH1750  uint16    `toml:"bh1750_addr"`
	DoorPin string    `toml:"door_pin"`   // reed switch, e.g. "GPIO17"
	PIRPin  string    `toml:"pir_pin"`    // presence sensor
	LEDPin  string    `toml:"on_air_pin"` // on-air light
}

// SimConfig is [hardware.sim].
type SimConfig struct {
	StateFile string `toml:"state_file"` // JSON the sim watches; values change at run time
}

// Default returns the [hardware] defaults.
func Default() Config {
	return Config{Backend: "sim", BME280: 0x76, BH1750: 0x23, DoorPin: "GPIO17", PIRPin: "GPIO27", LEDPin: "GPIO22"}
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
	if c.BME280 > 0x7f {
		return fmt.Errorf("hardware.bme280_addr: 0x%x is not a 7-bit I2C address", c.BME280)
	}
	if c.BH1750 > 0x7f {
		return fmt.Errorf("hardware.bh1750_addr: 0x%x is not a 7-bit I2C address", c.BH1750)
	}
	return nil
}
