package recorder

// Format is the PCM format captured: signed 16-bit little endian, interleaved.
type Format struct {
	SampleRate int
	Channels   int
}

// FrameBytes is the size of one frame in bytes.
func (f Format) FrameBytes() int { return f.Channels * 2 }

// BytesPerSecond is the PCM data rate.
func (f Format) BytesPerSecond() int { return f.SampleRate * f.FrameBytes() }

// Source opens the capture device. The real one is capture.Source (malgo,
// cgo); it is an interface so this package stays pure Go and unit tests can
// use a fake.
type Source interface {
	Open(f Format) (Stream, error)
}

// Stream is an open capture device.
type Stream interface {
	// Data delivers buffers of whole frames; give each back with Release.
	Data() <-chan []byte
	Release(b []byte)
	// Lost is closed when the device stopped on its own (unplugged, error).
	Lost() <-chan struct{}
	// Overruns counts frames dropped because the writer fell behind.
	Overruns() uint64
	// Close stops the device; no Data arrives after it returns.
	Close() error
}
