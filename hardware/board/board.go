// Package board opens the board backend that [hardware] names: the
// simulated board or the periph one. It is apart from package hardware so
// that the backends can import the interfaces they implement.
package board

import (
	"errors"
	"fmt"

	"github.com/rs/zerolog"

	"roomkiosk/hardware"
	"roomkiosk/hardware/periphboard"
	"roomkiosk/hardware/sim"
)

// Option changes how Open opens the board.
type Option func(*options)

type options struct{ inputsOnly bool }

// InputsOnly leaves the on-air light alone (it reads as not present). The
// `check` and `hwprobe` commands use it: they may run beside the daemon,
// which owns the light, and must neither switch it off nor claim its line.
func InputsOnly() Option { return func(o *options) { o.inputsOnly = true } }

// Open returns the configured board. Missing or failing parts do not make
// it fail (they read as hardware.ErrNotPresent); only a bad backend name
// does. Close the board when done: it switches the on-air light off.
func Open(cfg hardware.Config, log zerolog.Logger, opts ...Option) (*hardware.Board, error) {
	var o options
	for _, f := range opts {
		f(&o)
	}
	noLight := hardware.Missing("on-air light", errors.New("left to the daemon"))
	switch cfg.Backend {
	case "sim":
		b := sim.New(cfg.Sim, log).Board()
		if o.inputsOnly {
			b.OnAir = noLight
			b.Backlight = hardware.Missing("backlight", errors.New("left to the daemon"))
		}
		return b, nil
	case "periph":
		if o.inputsOnly {
			cfg.LEDPin = ""
		}
		b, err := periphboard.Open(cfg, log)
		if err == nil && o.inputsOnly {
			b.OnAir = noLight
		}
		if err == nil {
			// The backlight is sysfs, not periph: the kernel drives it.
			b.Backlight = hardware.Missing("backlight", errors.New("left to the daemon"))
			if !o.inputsOnly {
				b.Backlight = hardware.OpenBacklight(cfg.Backlight)
			}
		}
		return b, err
	default:
		return nil, fmt.Errorf("open board: hardware.backend %q is not a backend (use \"sim\" or \"periph\")", cfg.Backend)
	}
}
