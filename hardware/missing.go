package hardware

import (
	"context"
	"fmt"
)

// Missing stands in for a part the board does not have or could not open:
// every read fails with why, wrapping ErrNotPresent, and watchers get no
// edges. It implements all the part interfaces.
func Missing(part string, why error) *MissingPart {
	return &MissingPart{err: fmt.Errorf("%s: %w: %w", part, why, ErrNotPresent)}
}

// MissingPart is what Missing returns.
type MissingPart struct{ err error }

func (m *MissingPart) Err() error { return m.err }

func (m *MissingPart) ReadClimate(context.Context) (ClimateReading, error) {
	return ClimateReading{}, m.err
}
func (m *MissingPart) ReadLux(context.Context) (float64, error) { return 0, m.err }
func (m *MissingPart) Closed() (bool, error)                    { return false, m.err }
func (m *MissingPart) Present() (bool, error)                   { return false, m.err }
func (m *MissingPart) Alive() error                             { return m.err }
func (m *MissingPart) Set(bool) error                           { return m.err }
func (m *MissingPart) On() bool                                 { return false }
func (m *MissingPart) SetBrightness(float64) error              { return m.err }

// Watch returns a channel that closes when ctx ends and delivers nothing.
func (m *MissingPart) Watch(ctx context.Context) <-chan DoorEdge { return closeOnDone[DoorEdge](ctx) }

// WatchPresence is Watch for the Presence interface; use AsPresence.
func (m *MissingPart) watchPresence(ctx context.Context) <-chan PresenceEdge {
	return closeOnDone[PresenceEdge](ctx)
}

func closeOnDone[T any](ctx context.Context) <-chan T {
	ch := make(chan T)
	go func() { <-ctx.Done(); close(ch) }()
	return ch
}

// AsPresence adapts m to Presence (Door and Presence both name their
// watcher Watch, with different edge types).
func (m *MissingPart) AsPresence() Presence { return missingPresence{m} }

type missingPresence struct{ *MissingPart }

func (p missingPresence) Watch(ctx context.Context) <-chan PresenceEdge {
	return p.MissingPart.watchPresence(ctx)
}

var (
	_ Climate   = (*MissingPart)(nil)
	_ Light     = (*MissingPart)(nil)
	_ Door      = (*MissingPart)(nil)
	_ OnAir     = (*MissingPart)(nil)
	_ Backlight = (*MissingPart)(nil)
	_ Presence  = missingPresence{}
)
