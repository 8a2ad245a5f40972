// Package board opens the board backend that [hardware] names: the
// simulated board or the periph one. It is apart from package hardware so
// that the backends can import the interfaces they implement.
package board

import (
	"fmt"

	"github.com/rs/zerolog"

	"roomkiosk/hardware"
	"roomkiosk/hardware/periphboard"
	"roomkiosk/hardware/sim"
)

// Open returns the configured board. Missing or failing parts do not make
// it fail (they read as hardware.ErrNotPresent); only a bad backend name
// does. Close the board when done: it switches the on-air light off.
func Open(cfg hardware.Config, log zerolog.Logger) (*hardware.Board, error) {
	switch cfg.Backend {
	case "sim":
		return sim.New(cfg.Sim, log).Board(), nil
	case "periph":
		return periphboard.Open(cfg, log)
	default:
		return nil, fmt.Errorf("open board: hardware.backend %q is not a backend (use \"sim\" or \"periph\")", cfg.Backend)
	}
}
