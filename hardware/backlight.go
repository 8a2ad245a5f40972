package hardware

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Backlight is the screen's backlight. SetBrightness takes a fraction of
// the panel's maximum (0 = dark, 1 = full).
type Backlight interface {
	SetBrightness(frac float64) error
}

// SysfsClass is where the kernel lists backlights.
const SysfsClass = "/sys/class/backlight"

// SysfsBacklight drives a kernel backlight through sysfs
// (/sys/class/backlight/NAME/brightness, scaled by max_brightness): the
// official Raspberry Pi touchscreen's rpi_backlight, DSI and PWM panels.
type SysfsBacklight struct {
	dir string
	max int
}

// OpenBacklight opens the backlight that spec names: "" for none, "auto"
// for the first one the kernel lists, a name under /sys/class/backlight,
// or a folder path. A missing one reads as not present (the kiosk runs on
// with its screen always lit).
func OpenBacklight(spec string) Backlight {
	switch spec {
	case "":
		return Missing("backlight", errors.New("hardware.backlight is empty"))
	case "auto":
		m, _ := filepath.Glob(filepath.Join(SysfsClass, "*"))
		if len(m) == 0 {
			return Missing("backlight", fmt.Errorf("no backlight in %s", SysfsClass))
		}
		spec = m[0]
	}
	if !strings.Contains(spec, "/") {
		spec = filepath.Join(SysfsClass, spec)
	}
	b, err := NewSysfsBacklight(spec)
	if err != nil {
		return Missing("backlight", err)
	}
	return b
}

// NewSysfsBacklight opens the backlight folder dir (it holds brightness and
// max_brightness).
func NewSysfsBacklight(dir string) (*SysfsBacklight, error) {
	raw, err := os.ReadFile(filepath.Join(dir, "max_brightness"))
	if err != nil {
		return nil, fmt.Errorf("backlight %s: %w", dir, err)
	}
	max, err := strconv.Atoi(strings.TrimSpace(string(raw)))
	if err != nil || max <= 0 {
		return nil, fmt.Errorf("backlight %s: max_brightness %q is not a positive number", dir, strings.TrimSpace(string(raw)))
	}
	return &SysfsBacklight{dir: dir, max: max}, nil
}

// SetBrightness writes round(frac*max) to the brightness file.
func (b *SysfsBacklight) SetBrightness(frac float64) error {
	v := int(math.Round(math.Min(math.Max(frac, 0), 1) * float64(b.max)))
	// sysfs attributes take one write of the whole value; no temp file.
	if err := os.WriteFile(filepath.Join(b.dir, "brightness"), []byte(strconv.Itoa(v)+"\n"), 0o644); err != nil {
		return fmt.Errorf("set backlight: %w", err)
	}
	return nil
}
