// Package recordertest has in-memory fakes for the recorder's ports: a
// capture Source that plays PCM from memory, and an Uploader that counts
// wake-ups. Integration tests use the real ALSA path (recorder/alsatest).
package recordertest

import (
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"roomkiosk/recorder"
)

// Source plays PCM from memory in chunks, one every Every (0: as fast as
// the recorder takes them). The position carries over across reopens, like a
// real microphone that kept hearing while it was unplugged would not: the
// frames between a loss and a reopen are skipped by Skip on reopen.
type Source struct {
	PCM   []byte
	Chunk int
	Every time.Duration
	// NoCopy hands out sub-slices of PCM instead of copies (benchmarks:
	// the fake then costs nothing per chunk). The recorder must not write
	// into them.
	NoCopy bool

	mu       sync.Mutex
	off      int
	fail     bool
	cur      *Stream
	opens    atomic.Int32
	open     atomic.Int32
	openedCh chan struct{}
}

// ErrUnplugged is what Open returns while the device is unplugged.
var ErrUnplugged = errors.New("recordertest: device unplugged")

// Opens counts successful opens; IsOpen tells whether a stream is open now.
func (s *Source) Opens() int   { return int(s.opens.Load()) }
func (s *Source) IsOpen() bool { return s.open.Load() > 0 }

// Unplug makes the open stream report loss and later opens fail; Replug
// lets opens succeed again.
func (s *Source) Unplug() {
	s.mu.Lock()
	s.fail = true
	cur := s.cur
	s.mu.Unlock()
	if cur != nil {
		cur.lose()
	}
}

// Replug makes opens succeed again.
func (s *Source) Replug() {
	s.mu.Lock()
	s.fail = false
	s.mu.Unlock()
}

// Offset is how many PCM bytes were delivered so far.
func (s *Source) Offset() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.off
}

// Open implements recorder.Source.
func (s *Source) Open(f recorder.Format) (recorder.Stream, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail {
		return nil, ErrUnplugged
	}
	depth := 64
	if s.NoCopy && s.Every == 0 {
		// Benchmarks: room for every chunk, so the feeder never blocks
		// and the recorder never pays a scheduler wake-up of the feeder
		// per chunk (a cost of this fake, not of the pipeline; the real
		// device hands over one buffer per 50 ms).
		depth = max(depth, (len(s.PCM)-s.off)/max(s.Chunk, 1)+1)
	}
	st := &Stream{src: s, data: make(chan []byte, depth), lost: make(chan struct{}), quit: make(chan struct{}), done: make(chan struct{})}
	s.cur = st
	s.opens.Add(1)
	s.open.Add(1)
	go st.run()
	return st, nil
}

// Stream is an open fake device.
type Stream struct {
	src      *Source
	data     chan []byte
	lost     chan struct{}
	lostOnce sync.Once
	quit     chan struct{}
	done     chan struct{}
	closed   atomic.Bool
}

func (st *Stream) run() {
	defer close(st.done)
	s := st.src
	chunk := s.Chunk
	if chunk <= 0 {
		chunk = 3200
	}
	var tick <-chan time.Time
	if s.Every > 0 {
		t := time.NewTicker(s.Every)
		defer t.Stop()
		tick = t.C
	}
	for {
		if tick != nil {
			select {
			case <-tick:
			case <-st.quit:
				return
			}
		}
		s.mu.Lock()
		if s.off >= len(s.PCM) {
			s.mu.Unlock()
			select {
			case <-st.quit:
				return
			case <-time.After(5 * time.Millisecond):
				continue
			}
		}
		end := min(s.off+chunk, len(s.PCM))
		b := s.PCM[s.off:end:end]
		if !s.NoCopy {
			b = append([]byte(nil), b...)
		}
		s.mu.Unlock()
		select {
		case st.data <- b:
			s.mu.Lock()
			s.off = end
			s.mu.Unlock()
		case <-st.quit:
			return
		}
	}
}

func (st *Stream) lose() { st.lostOnce.Do(func() { close(st.lost) }) }

func (st *Stream) Data() <-chan []byte   { return st.data }
func (st *Stream) Release([]byte)        {}
func (st *Stream) Lost() <-chan struct{} { return st.lost }
func (st *Stream) Overruns() uint64      { return 0 }

// Close stops the stream; no data is sent after it returns.
func (st *Stream) Close() error {
	if st.closed.Swap(true) {
		return nil
	}
	close(st.quit)
	<-st.done
	st.src.open.Add(-1)
	return nil
}

// Uploader counts Wake calls.
type Uploader struct{ n atomic.Int32 }

// Wake implements recorder.Uploader.
func (u *Uploader) Wake() { u.n.Add(1) }

// Wakes returns the number of calls so far.
func (u *Uploader) Wakes() int { return int(u.n.Load()) }

// Counting wraps a Source and counts its streams open at once: a test of
// the one-owner rule asserts Max stays 1.
type Counting struct {
	recorder.Source

	mu        sync.Mutex
	open, max int
	opens     int
}

// Open opens the wrapped source and counts the stream until it is closed.
func (c *Counting) Open(f recorder.Format) (recorder.Stream, error) {
	st, err := c.Source.Open(f)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.open++
	c.opens++
	c.max = max(c.max, c.open)
	c.mu.Unlock()
	return &countedStream{Stream: st, c: c}, nil
}

// Now is how many streams are open; Max the most ever open at once; Opens
// how many were opened.
func (c *Counting) Now() int   { c.mu.Lock(); defer c.mu.Unlock(); return c.open }
func (c *Counting) Max() int   { c.mu.Lock(); defer c.mu.Unlock(); return c.max }
func (c *Counting) Opens() int { c.mu.Lock(); defer c.mu.Unlock(); return c.opens }

type countedStream struct {
	recorder.Stream
	c    *Counting
	once sync.Once
}

func (s *countedStream) Close() error {
	err := s.Stream.Close()
	s.once.Do(func() {
		s.c.mu.Lock()
		s.c.open--
		s.c.mu.Unlock()
	})
	return err
}
