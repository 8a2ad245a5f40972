// Package capture opens an ALSA capture device through malgo (miniaudio) and
// hands its frames out of the audio callback through a bounded pool of
// preallocated buffers. It is the recorder's only cgo leaf.
package capture

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gen2brain/malgo"

	"roomkiosk/recorder"
)

// Source opens the configured ALSA device. It implements recorder.Source.
type Source struct {
	// Device is the ALSA device name; "default" or "" means the default.
	Device string
	// Buffers and BufferBytes size the pool between the callback and the
	// writer. A buffer is handed over once full: the default, 200 ms of
	// audio (two periods), wakes the writer 5 times a second; the pool
	// holds 30 s (150 x 6400 bytes at 16 kHz mono, 960 KB), so a slow SD
	// card fsync does not drop audio.
	Buffers     int
	BufferBytes int
	// PeriodFrames is the ALSA period asked for (default rate/10: 100 ms).
	PeriodFrames int
}

var _ recorder.Source = (*Source)(nil)

// TuneRuntime sets the Go runtime of a process that captures audio to one P
// (GOMAXPROCS=1) unless GOMAXPROCS is set in the environment.
//
// Measured (bench/REPORT.md, "recorder CPU per second of real-time
// capture"): each period, miniaudio's audio thread calls into Go (a cgo
// callback). Returning to C leaves the thread's P in the syscall state, and
// with other Ps idle the runtime does not take it back for 10 ms; meanwhile
// its sysmon thread, woken by the callback, polls every 20 us to 10 ms:
// about 50 wake-ups per period, more than half of all the recorder's CPU.
// With one P, sysmon takes the P back at its next look and sleeps again.
// The daemon's work (a few hand-overs, one fsync per 64 KiB, uploads of
// 1 MB segments, checks) fits in one P; the screen is another process.
func TuneRuntime() {
	if os.Getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(1)
	}
}

// Open initialises a fresh miniaudio context (so a changed ALSA config or a
// replugged device is seen), opens the device and starts it.
func (s *Source) Open(f recorder.Format) (recorder.Stream, error) {
	nbuf, bsize := s.Buffers, s.BufferBytes
	if bsize <= 0 {
		bsize = f.SampleRate / 5 * f.Channels * 2
	}
	if nbuf <= 0 {
		nbuf = max(30*f.SampleRate*f.Channels*2/bsize, 8)
	}
	const periods = 4
	period := s.PeriodFrames
	if period <= 0 {
		// 100 ms. Each period is one callback into Go from the audio
		// thread, and each such wake-up is what capture costs (see
		// TuneRuntime): 10 a second instead of 20 halves it. Closing the
		// device waits for the read in progress, and a withdrawal must
		// close it within 250 ms: a period stays well under it.
		period = f.SampleRate / 10
	}
	st := &stream{
		free:  make(chan []byte, nbuf),
		full:  make(chan []byte, nbuf),
		lost:  make(chan struct{}),
		frame: f.Channels * 2,
		rate:  f.SampleRate,
		// The device's whole buffer plus one period, and at least 0.5 s:
		// a backlog after a scheduling stall stays under it.
		maxAhead: int64(max(period*(periods+1), f.SampleRate/2)),
	}

	ctx, err := malgo.InitContext([]malgo.Backend{malgo.BackendAlsa}, malgo.ContextConfig{}, nil)
	if err != nil {
		return nil, fmt.Errorf("open capture: init audio context: %w", err)
	}
	cfg := malgo.DefaultDeviceConfig(malgo.Capture)
	cfg.Capture.Format = malgo.FormatS16
	cfg.Capture.Channels = uint32(f.Channels)
	cfg.SampleRate = uint32(f.SampleRate)
	cfg.PeriodSizeInFrames = uint32(period)
	cfg.Periods = periods
	// Without this miniaudio adds one period of leading silence and
	// re-chunks frames; we want the device's frames as they come.
	cfg.NoFixedSizedCallback = 1
	var id malgo.DeviceID
	if s.Device != "" && s.Device != "default" {
		if len(s.Device) >= len(id) {
			ctx.Uninit()
			ctx.Free()
			return nil, fmt.Errorf("open capture: device name %q too long", s.Device)
		}
		copy(id[:], s.Device) // miniaudio's ALSA device id is the NUL-terminated name
		cfg.Capture.DeviceID = id.Pointer()
	}
	dev, err := malgo.InitDevice(ctx.Context, cfg, malgo.DeviceCallbacks{Data: st.onData, Stop: st.onStop})
	if err != nil {
		ctx.Uninit()
		ctx.Free()
		return nil, fmt.Errorf("open capture device %q: %w", s.name(), err)
	}
	st.ctx, st.dev = ctx, dev
	// The pool is filled only for a device that opened (a missing one is
	// retried every few seconds) and before Start (no callback yet).
	bsize -= bsize % st.frame
	pool := make([]byte, nbuf*bsize)
	for i := range nbuf {
		st.free <- pool[i*bsize : (i+1)*bsize : (i+1)*bsize]
	}
	if err := dev.Start(); err != nil {
		st.closeDevice()
		return nil, fmt.Errorf("start capture device %q: %w", s.name(), err)
	}
	st.running.Store(true)
	return st, nil
}

func (s *Source) name() string {
	if s.Device == "" {
		return "default"
	}
	return s.Device
}

type stream struct {
	ctx      *malgo.AllocatedContext
	dev      *malgo.Device
	free     chan []byte
	full     chan []byte
	frame    int
	overruns atomic.Uint64 // frames dropped because the pool was empty
	running  atomic.Bool
	closing  atomic.Bool
	lost     chan struct{}
	lostOnce sync.Once
	rate     int
	last     time.Time // previous callback; audio thread only
	ahead    int64     // frames delivered ahead of the real clock; audio thread only
	cur      []byte    // the buffer being filled; audio thread only, then Close
	maxAhead int64
	closeMu  sync.Mutex
	closed   bool
}

// onData runs on miniaudio's audio thread: it never blocks and never
// allocates; a missing free buffer counts frames as overrun.
func (s *stream) onData(_, in []byte, frames uint32) {
	// A device whose frames run ahead of the real clock is broken: ALSA's
	// file plugin at end of input (and a device with a broken clock)
	// delivers silence as fast as it can be read. Report it as lost.
	// A leaky bucket: frames in, real time out; a normal device keeps it
	// under its buffer (Periods x period), a runaway fills it at once.
	now := time.Now()
	if !s.last.IsZero() {
		s.ahead -= int64(now.Sub(s.last).Seconds() * float64(s.rate))
		s.ahead = max(s.ahead, 0)
	}
	s.last = now
	s.ahead += int64(frames)
	if s.ahead > s.maxAhead {
		s.onLost()
		return
	}
	// Frames fill the current buffer, which is handed over once full:
	// the writer wakes once per buffer, not once per period.
	for len(in) > 0 {
		if s.cur == nil {
			select {
			case b := <-s.free:
				s.cur = b[:0]
			default:
				s.overruns.Add(uint64(len(in) / s.frame))
				return
			}
		}
		n := copy(s.cur[len(s.cur):cap(s.cur)], in)
		s.cur = s.cur[:len(s.cur)+n]
		in = in[n:]
		if len(s.cur) == cap(s.cur) {
			s.handOver()
		}
	}
}

// handOver passes the current buffer to the writer.
func (s *stream) handOver() {
	b := s.cur
	s.cur = nil
	if len(b) == 0 {
		s.Release(b)
		return
	}
	select {
	case s.full <- b:
	default: // cannot happen: full has room for every buffer
		s.overruns.Add(uint64(len(b) / s.frame))
	}
}

// onStop is called when the device stops, by Close or on its own (device
// error). Only the latter is a loss.
func (s *stream) onStop() {
	if !s.closing.Load() {
		s.onLost()
	}
}

func (s *stream) onLost() { s.lostOnce.Do(func() { close(s.lost) }) }

func (s *stream) Data() <-chan []byte { return s.full }
func (s *stream) Release(b []byte) {
	select {
	case s.free <- b[:cap(b)]:
	default:
	}
}
func (s *stream) Lost() <-chan struct{} { return s.lost }
func (s *stream) Overruns() uint64      { return s.overruns.Load() }

// Close stops and releases the device. It returns once the device is closed
// (no callback runs after it).
func (s *stream) Close() error {
	s.closing.Store(true)
	s.closeMu.Lock()
	defer s.closeMu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	err := s.closeDevice()
	// No callback runs any more: what it had gathered goes to the writer,
	// which drains Data after Close.
	if s.cur != nil {
		s.handOver()
	}
	return err
}

func (s *stream) closeDevice() error {
	var err error
	if s.dev != nil {
		s.dev.Uninit() // stops the device and waits for the audio thread
	}
	if s.ctx != nil {
		err = s.ctx.Uninit()
		s.ctx.Free()
	}
	if err != nil {
		return errors.Join(errors.New("close capture"), err)
	}
	return nil
}
