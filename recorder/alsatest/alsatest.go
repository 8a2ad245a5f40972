// Package alsatest feeds real audio into a real ALSA capture device without a
// sound card: ALSA's file plugin reads its "microphone" from a FIFO that a
// Feeder writes at real-time pace. Speech makes speech audio with espeak-ng
// and sox; SpeechStream a long stream of it that captured audio can be
// located in (Spans). The recorder's, the screen's, the end-to-end and the
// power-cut tests share it.
//
// The capturing process must see ALSA_CONFIG_PATH=Feeder.ConfPath before
// alsa-lib first initialises in it: call Setenv early in the test (or TestMain),
// or pass Env() to a child process.
package alsatest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"roomkiosk/internal/testenv"
)

// MaxWrite is the largest write that a pipe keeps atomic; the file plugin
// pads a short read with zeros, so every write must be whole periods and at
// most this size.
const MaxWrite = 4096

// PeriodBytes is one capture period of recorder/capture's Source at 16 kHz
// mono S16 (2048 frames, 128 ms: the most miniaudio reads at once), the
// chunk to feed it. The file plugin reads the FIFO once for each read of the
// application, of the application's period, and a FIFO read returns what is
// there: a write that is not whole periods of the reader makes short reads,
// which the plugin pads with zeros (extra silence, and a device that runs
// ahead of the clock). The reader also blocks in that read until the next
// write, so the writes pace it as a real device's period wake-ups do.
// arecord's defaults read 2000 frames (4000 bytes): feed it that.
const PeriodBytes = 4096

// InFlightBytes is what recorder/capture may hold between the microphone
// and the writer at 16 kHz mono: ALSA's buffer (4 periods) and one
// hand-over (4 periods), 1.02 s. A kill or a power cut may lose it beside
// the age chunk not yet full (recorder/FORMAT.md, "Durability").
const InFlightBytes = 8 * PeriodBytes

// Feeder is a FIFO-backed ALSA capture device named "default".
type Feeder struct {
	Dir      string
	FIFO     string
	ConfPath string
	conf     []byte
}

// New makes the FIFO and the asound.conf in a test temp folder.
func New(t testing.TB) *Feeder {
	t.Helper()
	f, err := NewIn(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// NewIn makes the FIFO and the asound.conf in dir (for a TestMain, which
// has no testing.TB).
func NewIn(dir string) (*Feeder, error) {
	f := &Feeder{Dir: dir, FIFO: filepath.Join(dir, "mic.fifo"), ConfPath: filepath.Join(dir, "asound.conf")}
	if err := syscall.Mkfifo(f.FIFO, 0o600); err != nil {
		return nil, fmt.Errorf("alsatest: mkfifo: %w", err)
	}
	f.conf = fmt.Appendf(nil, `pcm.!default {
    type file
    slave { pcm { type null } }
    file "/dev/null"
    infile %q
    format "raw"
}
`, f.FIFO)
	if err := os.WriteFile(f.ConfPath, f.conf, 0o644); err != nil {
		return nil, fmt.Errorf("alsatest: write config: %w", err)
	}
	return f, nil
}

// Env is the variable to give a capturing child process.
func (f *Feeder) Env() string { return "ALSA_CONFIG_PATH=" + f.ConfPath }

// Setenv points this process's alsa-lib at the feeder's config. It must run
// before alsa-lib first initialises in this process.
func (f *Feeder) Setenv(t testing.TB) {
	t.Helper()
	t.Setenv("ALSA_CONFIG_PATH", f.ConfPath)
}

// RemoveConfig deletes the asound.conf: the next open of "default" fails the
// way an unplugged USB microphone does.
func (f *Feeder) RemoveConfig(t testing.TB) {
	t.Helper()
	if err := os.Remove(f.ConfPath); err != nil {
		t.Fatalf("alsatest: remove config: %v", err)
	}
}

// RestoreConfig writes the asound.conf (again).
func (f *Feeder) RestoreConfig(t testing.TB) {
	t.Helper()
	if err := os.WriteFile(f.ConfPath, f.conf, 0o644); err != nil {
		t.Fatalf("alsatest: write config: %v", err)
	}
}

// Feed is one writer session on the FIFO.
type Feed struct {
	cancel  context.CancelFunc
	done    chan struct{}
	written atomic.Int64
	started atomic.Int64 // unix nanos of the first write
	fed     chan struct{}
	fedOnce sync.Once
	err     error
}

// Feed opens the FIFO for writing (this blocks until the capture device opens
// it for reading) and writes pcm in chunks of chunk bytes, paced at
// bytesPerSecond, then closes it (the device sees end of input). chunk must
// be a multiple of the reader's period in bytes (PeriodBytes for capture)
// and at most MaxWrite.
func (f *Feeder) Feed(pcm []byte, chunk, bytesPerSecond int) *Feed {
	return f.start(pcm, chunk, bytesPerSecond, false)
}

// FeedAndHold is Feed that keeps the FIFO open after the last chunk and
// goes on writing digital silence at the same pace (a quiet microphone)
// until Stop. Written counts only pcm.
func (f *Feeder) FeedAndHold(pcm []byte, chunk, bytesPerSecond int) *Feed {
	return f.start(pcm, chunk, bytesPerSecond, true)
}

func (f *Feeder) start(pcm []byte, chunk, bps int, hold bool) *Feed {
	ctx, cancel := context.WithCancel(context.Background())
	fd := &Feed{cancel: cancel, done: make(chan struct{}), fed: make(chan struct{})}
	go func() {
		defer close(fd.done)
		fd.err = f.feed(ctx, fd, pcm, chunk, bps, hold)
	}()
	return fd
}

func (f *Feeder) feed(ctx context.Context, fd *Feed, pcm []byte, chunk, bps int, hold bool) error {
	defer fd.fedOnce.Do(func() { close(fd.fed) })
	if chunk <= 0 || chunk > MaxWrite {
		return fmt.Errorf("alsatest: chunk %d out of range (1..%d)", chunk, MaxWrite)
	}
	// Open non-blocking in a loop so that cancel works while no reader is
	// there yet; then switch the descriptor back to blocking writes.
	var w *os.File
	for {
		fdn, err := syscall.Open(f.FIFO, syscall.O_WRONLY|syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
		if err == nil {
			if err := syscall.SetNonblock(fdn, false); err != nil {
				syscall.Close(fdn)
				return err
			}
			w = os.NewFile(uintptr(fdn), f.FIFO)
			break
		}
		if !errors.Is(err, syscall.ENXIO) {
			return fmt.Errorf("alsatest: open fifo: %w", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(5 * time.Millisecond):
		}
	}
	defer w.Close()
	start := time.Now()
	fd.started.Store(start.UnixNano())
	for off := 0; off < len(pcm); off += chunk {
		end := min(off+chunk, len(pcm))
		if end-off < chunk {
			break // a short tail would be padded with zeros: drop it
		}
		// Pace: the chunk is written when the real clock reaches its start.
		due := start.Add(time.Duration(int64(off) * int64(time.Second) / int64(bps)))
		if d := time.Until(due); d > 0 {
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(d):
			}
		} else if ctx.Err() != nil {
			return nil
		}
		n, err := w.Write(pcm[off:end])
		fd.written.Add(int64(n))
		if err != nil {
			if errors.Is(err, syscall.EPIPE) {
				return nil // the device closed: nothing more to feed
			}
			return fmt.Errorf("alsatest: write fifo: %w", err)
		}
	}
	fd.fedOnce.Do(func() { close(fd.fed) })
	if !hold {
		return nil
	}
	// A held FIFO with no data would block the device's read forever (and
	// with it miniaudio's device uninit): go on like a quiet microphone.
	silence := make([]byte, chunk)
	for off := len(pcm) / chunk * chunk; ; off += chunk {
		due := start.Add(time.Duration(int64(off) * int64(time.Second) / int64(bps)))
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(time.Until(due)):
		}
		if _, err := w.Write(silence); err != nil {
			if errors.Is(err, syscall.EPIPE) {
				return nil
			}
			return fmt.Errorf("alsatest: write fifo: %w", err)
		}
	}
}

// Fed is closed once every chunk was written (or the feed ended).
func (fd *Feed) Fed() <-chan struct{} { return fd.fed }

// Written is how many bytes reached the FIFO so far.
func (fd *Feed) Written() int64 { return fd.written.Load() }

// Started is when the first chunk was written (zero before).
func (fd *Feed) Started() time.Time {
	n := fd.started.Load()
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n)
}

// Stop closes the writer early (the device sees end of input) and waits.
func (fd *Feed) Stop() error {
	fd.cancel()
	<-fd.done
	return fd.err
}

// Wait waits until every chunk was written and the FIFO closed.
func (fd *Feed) Wait() error {
	<-fd.done
	return fd.err
}

// Done is closed when the feed has ended.
func (fd *Feed) Done() <-chan struct{} { return fd.done }

var speechCache sync.Map // key -> []byte

// Speech returns raw S16LE PCM of text spoken by espeak-ng, converted by sox
// to rate and channels. Results are cached per process.
func Speech(t testing.TB, text string, rate, channels int) []byte {
	t.Helper()
	key := fmt.Sprintf("%d/%d/%s", rate, channels, text)
	if b, ok := speechCache.Load(key); ok {
		return b.([]byte)
	}
	espeak := testenv.Tool(t, "espeak-ng")
	sox := testenv.Tool(t, "sox")
	dir := t.TempDir()
	wav := filepath.Join(dir, "speech.wav")
	raw := filepath.Join(dir, "speech.raw")
	if out, err := exec.Command(espeak, "-w", wav, text).CombinedOutput(); err != nil {
		t.Fatalf("alsatest: espeak-ng: %v: %s", err, out)
	}
	if out, err := exec.Command(sox, wav, "-r", fmt.Sprint(rate), "-c", fmt.Sprint(channels), "-b", "16",
		"-e", "signed-integer", "-t", "raw", raw).CombinedOutput(); err != nil {
		t.Fatalf("alsatest: sox: %v: %s", err, out)
	}
	b, err := os.ReadFile(raw)
	if err != nil {
		t.Fatal(err)
	}
	speechCache.Store(key, b)
	return b
}

// SpeechFor returns at least d of speech (text repeated), cut to whole
// chunks of chunk bytes.
func SpeechFor(t testing.TB, d time.Duration, rate, channels, chunk int) []byte {
	t.Helper()
	one := Speech(t, "The quick brown fox jumps over the lazy dog. Counseling session audio test, one two three.", rate, channels)
	want := int(d.Seconds() * float64(rate*channels*2))
	out := make([]byte, 0, want+len(one))
	for len(out) < want {
		out = append(out, one...)
	}
	out = out[:want/chunk*chunk]
	return out
}
