// Package checks runs the named equipment and environment checks and keeps the
// maintenance log.
package checks

import (
	"fmt"
	"time"

	"roomkiosk/kiosk/session"
)

// Config is the [checks] section.
type Config struct {
	Interval       session.Duration `toml:"interval"` // periodic run, 5m
	TempMinC       float64          `toml:"temp_min_c"`
	TempMaxC       float64          `toml:"temp_max_c"`
	HumidityMinPct float64          `toml:"humidity_min_pct"`
	HumidityMaxPct float64          `toml:"humidity_max_pct"`
	LightMinLux    float64          `toml:"light_min_lux"`
	Required       []string         `toml:"required"` // names of checks that put the door out of service
	LogDir         string           `toml:"log_dir"`  // maintenance log, one JSON-lines file a day
}

// Default returns the [checks] defaults.
func Default() Config {
	return Config{
		Interval:       session.Duration{Duration: 5 * time.Minute},
		TempMinC:       18,
		TempMaxC:       26,
		HumidityMinPct: 30,
		HumidityMaxPct: 70,
		LightMinLux:    300,
		Required:       []string{"door", "microphone", "storage"},
		LogDir:         "/var/lib/roomkiosk/maintenance",
	}
}

// Validate reports the first problem, naming the key.
func (c Config) Validate() error {
	switch {
	case c.Interval.Duration < 10*time.Second:
		return fmt.Errorf("checks.interval: %v is too short (at least 10s)", c.Interval.Duration)
	case c.TempMinC >= c.TempMaxC:
		return fmt.Errorf("checks.temp_min_c: %v must be below checks.temp_max_c (%v)", c.TempMinC, c.TempMaxC)
	case c.TempMinC < -20 || c.TempMaxC > 60:
		return fmt.Errorf("checks.temp_min_c/temp_max_c: %v..%v is not a room temperature range", c.TempMinC, c.TempMaxC)
	case c.HumidityMinPct < 0 || c.HumidityMaxPct > 100 || c.HumidityMinPct >= c.HumidityMaxPct:
		return fmt.Errorf("checks.humidity_min_pct/humidity_max_pct: %v..%v must be an increasing range within 0-100", c.HumidityMinPct, c.HumidityMaxPct)
	case c.LightMinLux < 0:
		return fmt.Errorf("checks.light_min_lux: %v must not be negative", c.LightMinLux)
	case c.LogDir == "":
		return fmt.Errorf("checks.log_dir: required")
	}
	return nil
}
