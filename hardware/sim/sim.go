// Package sim is the simulated board used by `make run`, the end-to-end tests
// and development machines without sensors. It starts from the values in
// [hardware.sim] and follows a small JSON state file (watched with inotify;
// polled every 250 ms where that is not available), so a test or a developer can open the door or break a sensor while
// the kiosk runs.
//
// State file schema (a JSON object; every field is optional and a missing one
// keeps the [hardware.sim] value; removing the file restores them all):
//
//	{
//	  "door_open":     true,          // door switch: open
//	  "presence":      false,         // someone in the room
//	  "temperature_c": 21.5,
//	  "humidity_pct":  45,
//	  "pressure_hpa":  1013.2,
//	  "lux":           420,
//	  "fail": ["climate", "light", "door", "presence", "on_air"], // these parts return errors
//	  "hang": ["climate", "light"]  // these reads block until their caller's context ends
//	}
//
// Write it atomically (WriteState does: temp file and rename). A partial or
// malformed file is ignored, keeping the last good state, and re-read on the
// next poll.
package sim

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"roomkiosk/hardware"
	"roomkiosk/internal/durable"
)

// Part names used in State.Fail and State.Hang.
const (
	PartClimate  = "climate"
	PartLight    = "light"
	PartDoor     = "door"
	PartPresence = "presence"
	PartOnAir    = "on_air"
)

// State is the state file's content. Nil fields keep the configured values.
type State struct {
	DoorOpen     *bool    `json:"door_open,omitempty"`
	Presence     *bool    `json:"presence,omitempty"`
	TemperatureC *float64 `json:"temperature_c,omitempty"`
	HumidityPct  *float64 `json:"humidity_pct,omitempty"`
	PressureHPa  *float64 `json:"pressure_hpa,omitempty"`
	Lux          *float64 `json:"lux,omitempty"`
	Fail         []string `json:"fail,omitempty"`
	Hang         []string `json:"hang,omitempty"`
}

// Ptr returns a pointer to v, for building a State in tests.
func Ptr[T any](v T) *T { return &v }

// WriteState writes st to path atomically (a temp file in the same folder,
// fsync'ed, then renamed), so the sim never sees half of it.
func WriteState(path string, st State) error {
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return fmt.Errorf("write sim state: %w", err)
	}
	return writeAtomic(path, append(b, '\n'))
}

func writeAtomic(path string, b []byte) error {
	if err := durable.WriteFile(path, b, durable.Options{MkdirPerm: 0o755}); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// values is the effective state: config overlaid with the file.
type values struct {
	doorOpen, presence     bool
	tempC, humPct, presHPa float64
	lux                    float64
	fail, hang             []string
}

// Sim is a running simulated board.
type Sim struct {
	cfg       hardware.SimConfig
	log       zerolog.Logger
	pollEvery time.Duration

	mu    sync.Mutex
	v     values
	onAir bool
	stamp fileStamp // of the last state file applied

	doorEdges     hardware.Fanout[hardware.DoorEdge]
	presenceEdges hardware.Fanout[hardware.PresenceEdge]

	stop chan struct{}
	done chan struct{}
}

type fileStamp struct {
	mod  time.Time
	size int64
	ok   bool // a file was applied (false: config values only)
}

// Option changes a Sim before it starts.
type Option func(*Sim)

// WithPollInterval sets how often the state file is checked (default 250 ms).
func WithPollInterval(d time.Duration) Option { return func(s *Sim) { s.pollEvery = d } }

// New starts a simulated board. It reads the state file once before
// returning, so the first reads already see it.
func New(cfg hardware.SimConfig, log zerolog.Logger, opts ...Option) *Sim {
	s := &Sim{
		cfg:       cfg,
		log:       log.With().Str("component", "sim-board").Logger(),
		pollEvery: 250 * time.Millisecond,
		stop:      make(chan struct{}),
		done:      make(chan struct{}),
	}
	for _, o := range opts {
		o(s)
	}
	s.v = s.base()
	s.poll()
	go s.run()
	return s
}

// Board returns the sim as a hardware.Board.
func (s *Sim) Board() *hardware.Board {
	return &hardware.Board{
		Backend:   "sim",
		Climate:   climate{s},
		Light:     light{s},
		Door:      door{s},
		Presence:  presence{s},
		OnAir:     onAir{s},
		Backlight: backlight{s},
		Closer:    s,
	}
}

// Close stops watching the state file.
func (s *Sim) Close() error {
	select {
	case <-s.stop:
	default:
		close(s.stop)
	}
	<-s.done
	return nil
}

// Set applies st as if the state file held it (tests in the same process).
func (s *Sim) Set(st State) { s.apply(st) }

func (s *Sim) base() values {
	return values{
		doorOpen: s.cfg.DoorOpen, presence: s.cfg.Presence,
		tempC: s.cfg.TemperatureC, humPct: s.cfg.HumidityPct, presHPa: s.cfg.PressureHPa, lux: s.cfg.Lux,
	}
}

func (s *Sim) run() {
	defer close(s.done)
	if s.cfg.StateFile == "" {
		<-s.stop
		return
	}
	if s.watch() {
		return
	}
	t := time.NewTicker(s.pollEvery)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			s.poll()
		}
	}
}

// poll applies the state file when its mtime or size changed since the last
// good read. A file that does not parse is skipped without recording its
// stamp, so the next poll tries again (the writer may not have finished).
func (s *Sim) poll() {
	if s.cfg.StateFile == "" {
		return
	}
	fi, err := os.Stat(s.cfg.StateFile)
	if errors.Is(err, os.ErrNotExist) {
		s.mu.Lock()
		had := s.stamp.ok
		s.stamp = fileStamp{}
		s.mu.Unlock()
		if had {
			s.log.Info().Msg("sim state file removed: back to configured values")
			s.apply(State{})
		}
		return
	}
	if err != nil {
		s.log.Warn().Err(err).Msg("sim state file")
		return
	}
	stamp := fileStamp{mod: fi.ModTime(), size: fi.Size(), ok: true}
	s.mu.Lock()
	same := s.stamp == stamp
	s.mu.Unlock()
	if same {
		return
	}
	b, err := os.ReadFile(s.cfg.StateFile)
	if err != nil {
		s.log.Warn().Err(err).Msg("read sim state file")
		return
	}
	var st State
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&st); err != nil {
		s.log.Debug().Err(err).Str("file", s.cfg.StateFile).Msg("sim state file not valid (yet): keeping the last state")
		return
	}
	s.mu.Lock()
	s.stamp = stamp
	s.mu.Unlock()
	s.apply(st)
}

func (s *Sim) apply(st State) {
	v := s.base()
	if st.DoorOpen != nil {
		v.doorOpen = *st.DoorOpen
	}
	if st.Presence != nil {
		v.presence = *st.Presence
	}
	if st.TemperatureC != nil {
		v.tempC = *st.TemperatureC
	}
	if st.HumidityPct != nil {
		v.humPct = *st.HumidityPct
	}
	if st.PressureHPa != nil {
		v.presHPa = *st.PressureHPa
	}
	if st.Lux != nil {
		v.lux = *st.Lux
	}
	v.fail = slices.Clone(st.Fail)
	v.hang = slices.Clone(st.Hang)

	s.mu.Lock()
	old := s.v
	s.v = v
	s.mu.Unlock()
	now := time.Now()
	if old.doorOpen != v.doorOpen {
		s.log.Info().Bool("open", v.doorOpen).Msg("sim door changed")
		s.doorEdges.Publish(hardware.DoorEdge{Open: v.doorOpen, At: now})
	}
	if old.presence != v.presence {
		s.presenceEdges.Publish(hardware.PresenceEdge{Present: v.presence, At: now})
	}
}

// read returns the current values after applying the part's fail and hang
// settings.
func (s *Sim) read(ctx context.Context, part string) (values, error) {
	s.mu.Lock()
	v := s.v
	s.mu.Unlock()
	// Only the sensor reads take a context; a hanging door or light switch
	// would block its caller for ever, so "hang" applies to those two.
	if slices.Contains(v.hang, part) && (part == PartClimate || part == PartLight) {
		<-ctx.Done()
		return v, fmt.Errorf("sim %s: %w", part, ctx.Err())
	}
	if slices.Contains(v.fail, part) {
		return v, fmt.Errorf("sim %s: simulated failure: %w", part, hardware.ErrNotPresent)
	}
	return v, nil
}

type climate struct{ s *Sim }

func (c climate) ReadClimate(ctx context.Context) (hardware.ClimateReading, error) {
	v, err := c.s.read(ctx, PartClimate)
	if err != nil {
		return hardware.ClimateReading{}, err
	}
	return hardware.ClimateReading{TemperatureC: v.tempC, HumidityPct: v.humPct, PressureHPa: v.presHPa, At: time.Now()}, nil
}

type light struct{ s *Sim }

func (l light) ReadLux(ctx context.Context) (float64, error) {
	v, err := l.s.read(ctx, PartLight)
	return v.lux, err
}

type door struct{ s *Sim }

func (d door) Closed() (bool, error) {
	v, err := d.s.read(context.Background(), PartDoor)
	return !v.doorOpen, err
}

func (d door) Watch(ctx context.Context) <-chan hardware.DoorEdge { return d.s.doorEdges.Watch(ctx) }

type presence struct{ s *Sim }

func (p presence) Present() (bool, error) {
	v, err := p.s.read(context.Background(), PartPresence)
	return v.presence, err
}

func (p presence) Alive() error {
	_, err := p.s.read(context.Background(), PartPresence)
	return err
}

func (p presence) Watch(ctx context.Context) <-chan hardware.PresenceEdge {
	return p.s.presenceEdges.Watch(ctx)
}

type onAir struct{ s *Sim }

func (o onAir) Set(on bool) error {
	if _, err := o.s.read(context.Background(), PartOnAir); err != nil {
		return err
	}
	o.s.mu.Lock()
	changed := o.s.onAir != on
	o.s.onAir = on
	o.s.mu.Unlock()
	if changed {
		o.s.log.Info().Bool("on", on).Msg("sim on-air light")
	}
	if o.s.cfg.OnAirFile != "" {
		word := "off\n"
		if on {
			word = "on\n"
		}
		if err := writeAtomic(o.s.cfg.OnAirFile, []byte(word)); err != nil {
			return fmt.Errorf("sim on-air light: %w", err)
		}
	}
	return nil
}

func (o onAir) On() bool {
	o.s.mu.Lock()
	defer o.s.mu.Unlock()
	return o.s.onAir
}

// backlight writes the brightness to [hardware.sim] backlight_file as the
// kernel's sysfs file would hold it (max_brightness 255).
type backlight struct{ s *Sim }

func (b backlight) SetBrightness(frac float64) error {
	v := int(frac*255 + 0.5)
	v = min(max(v, 0), 255)
	b.s.log.Info().Int("brightness", v).Msg("sim backlight")
	if b.s.cfg.BacklightFile == "" {
		return nil
	}
	if err := writeAtomic(b.s.cfg.BacklightFile, []byte(fmt.Sprintf("%d\n", v))); err != nil {
		return fmt.Errorf("sim backlight: %w", err)
	}
	return nil
}
