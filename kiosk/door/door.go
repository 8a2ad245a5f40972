// Package door is the door's policy beside the session core: what the door
// shows (View: the core's snapshots with the room's bookings and the
// backlight's state, a touch on a dark screen that only wakes it), when the
// on-air light outside is on (FollowOnAir), and what the backlight follows.
// The core decides about sessions; this package decides nothing about them,
// it follows the core. It imports no device and no storage: the daemon
// (cmd/roomkiosk) hands it the board's parts through the small interfaces
// below.
package door

import (
	"context"

	"github.com/rs/zerolog"

	"roomkiosk/internal/room"
)

// Snapshots is where the door's followers read the room's state from (the
// session core, or a View).
type Snapshots interface {
	Subscribe() (<-chan room.Snapshot, func())
}

// Lamp is the "recording" light outside the door (hardware.OnAir).
type Lamp interface {
	Set(on bool) error
}

// FollowOnAir keeps the light outside the door on exactly while the core
// says audio is being captured (Snapshot.Recording, which follows the
// recorder's own state, never the intent to record), and off when ctx ends.
// A light that fails to switch is logged and tried again at the next
// change.
func FollowOnAir(ctx context.Context, core Snapshots, lamp Lamp, log zerolog.Logger) error {
	snaps, stop := core.Subscribe()
	defer stop()
	on := false
	set := func(v bool) {
		if err := lamp.Set(v); err != nil {
			log.Warn().Err(err).Bool("on", v).Msg("set on-air light")
			return
		}
		on = v
	}
	set(false)
	for {
		select {
		case <-ctx.Done():
			set(false)
			return nil
		case s, ok := <-snaps:
			if !ok {
				return nil
			}
			if s.Recording != on {
				set(s.Recording)
			}
		}
	}
}
