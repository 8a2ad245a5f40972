// Package capture opens an ALSA capture device through malgo (miniaudio) and
// hands its frames out of the audio thread through a C ring (ring.go) into a
// bounded pool of preallocated buffers. It is the recorder's only cgo leaf.
package capture

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"unsafe"

	"github.com/gen2brain/malgo"

	"roomkiosk/recorder"
)

// Source opens the configured ALSA device. It implements recorder.Source.
type Source struct {
	// Device is the ALSA device name; "default" or "" means the default.
	Device string
	// Buffers and BufferBytes size the pool between the audio thread and
	// the writer. A buffer is handed over once full, and each hand-over is
	// one wake-up of Go: the default, the whole periods closest to 500 ms
	// (at 16 kHz mono four 128 ms periods, 16384 bytes), wakes it twice a
	// second, so the screen's level meter moves twice a second (4 times
	// cost a tenth more CPU, bench/REPORT.md); the pool holds 30 s (58 x
	// 16384 bytes at 16 kHz mono, 950 KB), so a slow SD card fsync does
	// not drop audio.
	Buffers     int
	BufferBytes int
	// PeriodFrames is the ALSA period asked for. The default is the most
	// miniaudio's ALSA backend reads at once (its 4096-byte stack buffer:
	// 2048 frames, 128 ms, at 16 kHz mono): a longer period is still read
	// 4096 bytes at a time, and ALSA wakes the reader at a power of two
	// frames (miniaudio's avail_min), so this one is one wake-up and one
	// read a period on a real device.
	PeriodFrames int
}

var _ recorder.Source = (*Source)(nil)

// maReadBytes is the most miniaudio's ALSA loop reads at once
// (MA_DATA_CONVERTER_STACK_BUFFER_SIZE in malgo's vendored miniaudio.h).
const maReadBytes = 4096

// Periods is the number of ALSA periods in the device's buffer.
const Periods = 4

// DefaultPeriodFrames is the period Open asks for when PeriodFrames is 0.
func DefaultPeriodFrames(f recorder.Format) int { return maReadBytes / (f.Channels * 2) }

// DefaultBufferBytes is the hand-over size Open uses when BufferBytes is 0:
// whole periods, the number closest to 500 ms.
func DefaultBufferBytes(f recorder.Format, period int) int {
	n := max(1, (f.SampleRate/2+period/2)/period)
	return n * period * f.Channels * 2
}

// TuneRuntime sets the Go runtime of a process that captures audio to one P
// (GOMAXPROCS=1) unless GOMAXPROCS is set in the environment.
//
// Measured (bench/REPORT.md, "recorder CPU per second of real-time
// capture"): a thread that enters or leaves Go while every P is idle wakes
// the runtime's sysmon; with other Ps idle a P left in a syscall or cgo
// call is not taken back for 10 ms, and meanwhile sysmon polls every 20 us
// to 10 ms. With one P, sysmon takes the P back at its next look and
// sleeps again. The daemon's work (a few hand-overs a second, one fsync per
// 64 KiB, uploads of 1 MB segments, checks) fits in one P; the screen is
// another process.
func TuneRuntime() {
	if os.Getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(1)
	}
}

// Open initialises a fresh miniaudio context (so a changed ALSA config or a
// replugged device is seen), opens the device and starts it.
func (s *Source) Open(f recorder.Format) (recorder.Stream, error) {
	frame := f.Channels * 2
	period := s.PeriodFrames
	if period <= 0 {
		// Closing the device on a real one wakes the audio thread's poll
		// at once (miniaudio's wakeup eventfd), whatever the period; on
		// the test rig (ALSA's file plugin reading a FIFO) it waits for
		// the read in progress, at most a period.
		period = DefaultPeriodFrames(f)
	}
	nbuf, bsize := s.Buffers, s.BufferBytes
	if bsize <= 0 {
		bsize = DefaultBufferBytes(f, period)
	}
	bsize -= bsize % frame
	if nbuf <= 0 {
		nbuf = max(30*f.SampleRate*frame/bsize, 8)
	}
	// The ring between the audio thread and Go: 4 s and at least 8
	// hand-overs, so a Go stall under load does not drop frames.
	rsize := max(4*f.SampleRate*frame, 8*bsize)
	rsize = (rsize + bsize - 1) / bsize * bsize
	// The device's whole buffer plus one period, and at least 0.5 s:
	// a backlog after a scheduling stall stays under it.
	maxAhead := int64(max(period*(Periods+1), f.SampleRate/2))

	var pfd [2]int
	if err := syscall.Pipe2(pfd[:], syscall.O_NONBLOCK|syscall.O_CLOEXEC); err != nil {
		return nil, fmt.Errorf("open capture: wake-up pipe: %w", err)
	}
	st := &stream{
		free:   make(chan []byte, nbuf),
		full:   make(chan []byte, nbuf),
		lost:   make(chan struct{}),
		pumped: make(chan struct{}),
		frame:  frame,
		ring:   newRing(rsize, bsize, frame, f.SampleRate, maxAhead, pfd[1]),
		wfd:    pfd[1],
		wake:   os.NewFile(uintptr(pfd[0]), "capture wake-up"),
	}
	fail := func(err error) (recorder.Stream, error) {
		st.closeDevice()
		syscall.Close(st.wfd)
		st.wake.Close()
		st.ring.free()
		return nil, err
	}

	ctx, err := malgo.InitContext([]malgo.Backend{malgo.BackendAlsa}, malgo.ContextConfig{}, nil)
	if err != nil {
		return fail(fmt.Errorf("open capture: init audio context: %w", err))
	}
	st.ctx = ctx
	cfg := malgo.DefaultDeviceConfig(malgo.Capture)
	cfg.Capture.Format = malgo.FormatS16
	cfg.Capture.Channels = uint32(f.Channels)
	cfg.SampleRate = uint32(f.SampleRate)
	cfg.PeriodSizeInFrames = uint32(period)
	cfg.Periods = Periods
	cfg.PUserData = st.ring.userData()
	// Without this miniaudio adds one period of leading silence and
	// re-chunks frames; we want the device's frames as they come.
	cfg.NoFixedSizedCallback = 1
	var id malgo.DeviceID
	if s.Device != "" && s.Device != "default" {
		if len(s.Device) >= len(id) {
			return fail(fmt.Errorf("open capture: device name %q too long", s.Device))
		}
		copy(id[:], s.Device) // miniaudio's ALSA device id is the NUL-terminated name
		cfg.Capture.DeviceID = id.Pointer()
	}
	// No Go data callback: the ring's C callback replaces it before Start.
	dev, err := malgo.InitDevice(ctx.Context, cfg, malgo.DeviceCallbacks{Stop: st.onStop})
	if err != nil {
		return fail(fmt.Errorf("open capture device %q: %w", s.name(), err))
	}
	st.dev = dev
	if err := st.ring.attach(dev, f.SampleRate); err != nil {
		return fail(fmt.Errorf("open capture device %q: %w", s.name(), err))
	}
	// The pool is filled only for a device that opened (a missing one is
	// retried every few seconds) and before Start (no frames yet).
	pool := make([]byte, nbuf*bsize)
	for i := range nbuf {
		st.free <- pool[i*bsize : (i+1)*bsize : (i+1)*bsize]
	}
	go st.pump()
	if err := dev.Start(); err != nil {
		st.Close()
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
	ring     *ring
	wfd      int      // the ring's wake-up pipe, write end (the audio thread's)
	wake     *os.File // its read end, in Go's netpoller
	pumped   chan struct{}
	free     chan []byte
	full     chan []byte
	frame    int
	overruns atomic.Uint64 // frames dropped because the pool was empty
	running  atomic.Bool
	closing  atomic.Bool
	lost     chan struct{}
	lostOnce sync.Once
	cur      []byte // the buffer being filled; the pump goroutine only
	closeMu  sync.Mutex
	closed   bool
}

// pump moves what the audio thread gathered in the ring into the pool's
// buffers, each time the thread wakes it, until Close closes the pipe.
func (s *stream) pump() {
	defer close(s.pumped)
	rc, err := s.wake.SyscallConn()
	if err != nil {
		s.onLost()
		return
	}
	var b [64]byte
	for {
		var n uintptr
		var errno syscall.Errno
		err := rc.Read(func(fd uintptr) bool {
			// A raw read: a Go syscall with every P idle would wake
			// the runtime's sysmon (TuneRuntime), and this one never
			// blocks (the netpoller said it is readable).
			n, _, errno = syscall.RawSyscall(syscall.SYS_READ, fd, uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)))
			return errno != syscall.EAGAIN
		})
		end := err != nil || errno != 0 || n == 0
		s.move(end)
		if s.ring.isLost() {
			s.onLost()
		}
		if end {
			return
		}
	}
}

// move copies the ring's frames into buffers, handing each over once full
// (the writer wakes once per buffer); at the end also the partial one.
func (s *stream) move(end bool) {
	rd, wr := s.ring.read(), s.ring.written()
	size := uint64(len(s.ring.buf))
	for rd < wr {
		if s.cur == nil {
			select {
			case b := <-s.free:
				s.cur = b[:0]
			default:
				// The writer fell behind by the whole pool.
				s.overruns.Add((wr - rd) / uint64(s.frame))
				rd = wr
				continue
			}
		}
		off := rd % size
		n := min(wr-rd, size-off, uint64(cap(s.cur)-len(s.cur)))
		s.cur = append(s.cur, s.ring.buf[off:off+n]...)
		rd += n
		if len(s.cur) == cap(s.cur) {
			s.handOver()
		}
	}
	s.ring.consumed(rd)
	if end && s.cur != nil {
		s.handOver()
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
func (s *stream) Overruns() uint64 {
	n := s.overruns.Load()
	if s.ring != nil {
		n += s.ring.overruns()
	}
	return n
}

// Close stops and releases the device. It returns once the device is closed
// (no frame arrives after it) and what it had gathered is in Data.
func (s *stream) Close() error {
	s.closing.Store(true)
	s.closeMu.Lock()
	defer s.closeMu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	err := s.closeDevice()
	// The audio thread is gone: closing its end of the pipe ends the pump
	// after a last move, which hands over what was gathered; the writer
	// drains Data after Close.
	syscall.Close(s.wfd)
	<-s.pumped
	s.wake.Close()
	s.ring.free()
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
