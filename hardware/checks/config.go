// Package checks runs the named equipment and environment checks and keeps the
// maintenance log.
package checks

import (
	"fmt"
	"roomkiosk/internal/room"
	"strings"
	"time"
)

// Config is the [checks] section.
type Config struct {
	Interval       room.Duration `toml:"interval"` // periodic run, 5m
	TempMinC       float64       `toml:"temp_min_c"`
	TempMaxC       float64       `toml:"temp_max_c"`
	HumidityMinPct float64       `toml:"humidity_min_pct"`
	HumidityMaxPct float64       `toml:"humidity_max_pct"`
	LightMinLux    float64       `toml:"light_min_lux"`
	Required       []string      `toml:"required"` // names of checks that put the door out of service
	LogDir         string        `toml:"log_dir"`  // maintenance log, one JSON-lines file a day
	Timeout        room.Duration `toml:"timeout"`  // one check's budget; a check still running then is "unknown"
	CPUTempMaxC    float64       `toml:"cpu_temp_max_c"`
	MemoryMinMB    float64       `toml:"memory_min_mb"` // MemAvailable below this is abnormal
	LogKeepDays    int           `toml:"log_keep_days"` // maintenance log days kept on the device; 0 = all
}

// Default returns the [checks] defaults.
func Default() Config {
	return Config{
		Interval:       room.Duration{Duration: 5 * time.Minute},
		TempMinC:       18,
		TempMaxC:       26,
		HumidityMinPct: 30,
		HumidityMaxPct: 70,
		LightMinLux:    300,
		Required:       []string{"door", "microphone", "storage"},
		LogDir:         "/var/lib/roomkiosk/maintenance",
		Timeout:        room.Duration{Duration: 5 * time.Second},
		CPUTempMaxC:    80, // Raspberry Pi firmware starts throttling at 80-85 °C
		MemoryMinMB:    100,
		LogKeepDays:    90, // the uploader sends each day long before; a log of ~0.4 MB a day
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
	case c.Timeout.Duration < 100*time.Millisecond || c.Timeout.Duration > time.Minute:
		return fmt.Errorf("checks.timeout: %v is out of range (100ms to 1m)", c.Timeout.Duration)
	case c.Timeout.Duration >= c.Interval.Duration:
		return fmt.Errorf("checks.timeout: %v must be shorter than checks.interval (%v)", c.Timeout.Duration, c.Interval.Duration)
	case c.CPUTempMaxC < 40 || c.CPUTempMaxC > 110:
		return fmt.Errorf("checks.cpu_temp_max_c: %v is not a CPU limit (40-110 °C)", c.CPUTempMaxC)
	case c.MemoryMinMB < 0:
		return fmt.Errorf("checks.memory_min_mb: %v must not be negative", c.MemoryMinMB)
	case c.LogKeepDays < 0:
		return fmt.Errorf("checks.log_keep_days: %d must not be negative (0 keeps every day)", c.LogKeepDays)
	case c.LogKeepDays > 0 && c.LogKeepDays < 7:
		return fmt.Errorf("checks.log_keep_days: %d is too few (at least 7, so a week offline loses nothing)", c.LogKeepDays)
	}
	seen := map[string]bool{}
	for i, n := range c.Required {
		if n == "" || strings.TrimSpace(n) != n {
			return fmt.Errorf("checks.required[%d]: %q is not a check name", i, n)
		}
		if seen[n] {
			return fmt.Errorf("checks.required[%d]: %q appears twice", i, n)
		}
		seen[n] = true
	}
	return nil
}
