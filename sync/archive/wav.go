package archive

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
)

// wavHeaderSize is the canonical 44-byte RIFF/WAVE PCM header.
const wavHeaderSize = 44

// maxWAVData is the largest data chunk a standard WAV can describe.
const maxWAVData = 0xFFFFFFFF - 36

var errTooLong = errors.New("the session is too long for one WAV file (4 GiB)")

// wavWriter writes a standard PCM WAV to a file: a placeholder header, the
// PCM as it comes, then the real sizes once the length is known.
type wavWriter struct {
	f          *os.File
	w          *bufio.Writer
	rate, ch   int
	frameBytes int
	data       int64
}

func newWAVWriter(f *os.File, rate, channels int) (*wavWriter, error) {
	ww := &wavWriter{f: f, w: bufio.NewWriterSize(f, 1<<20), rate: rate, ch: channels, frameBytes: channels * 2}
	if _, err := ww.w.Write(make([]byte, wavHeaderSize)); err != nil {
		return nil, err
	}
	return ww, nil
}

func (ww *wavWriter) Write(p []byte) (int, error) {
	if ww.data+int64(len(p)) > maxWAVData {
		return 0, errTooLong
	}
	n, err := ww.w.Write(p)
	ww.data += int64(n)
	return n, err
}

var zeros = make([]byte, 64<<10)

// silence writes frames of digital silence.
func (ww *wavWriter) silence(frames int64) error {
	if frames < 0 || frames > (maxWAVData-ww.data)/int64(ww.frameBytes) {
		// Checked before multiplying: a hostile gap length must not wrap.
		return errTooLong
	}
	n := frames * int64(ww.frameBytes)
	for n > 0 {
		k := min(n, int64(len(zeros)))
		if _, err := ww.Write(zeros[:k]); err != nil {
			return err
		}
		n -= k
	}
	return nil
}

func (ww *wavWriter) frames() int64 { return ww.data / int64(ww.frameBytes) }

// finish writes the real header (the durable commit syncs the file).
func (ww *wavWriter) finish() error {
	if err := ww.w.Flush(); err != nil {
		return err
	}
	h := make([]byte, 0, wavHeaderSize)
	le := binary.LittleEndian
	h = append(h, "RIFF"...)
	h = le.AppendUint32(h, uint32(36+ww.data))
	h = append(h, "WAVEfmt "...)
	h = le.AppendUint32(h, 16)
	h = le.AppendUint16(h, 1) // PCM
	h = le.AppendUint16(h, uint16(ww.ch))
	h = le.AppendUint32(h, uint32(ww.rate))
	h = le.AppendUint32(h, uint32(ww.rate*ww.frameBytes))
	h = le.AppendUint16(h, uint16(ww.frameBytes))
	h = le.AppendUint16(h, 16)
	h = append(h, "data"...)
	h = le.AppendUint32(h, uint32(ww.data))
	if _, err := ww.f.WriteAt(h, 0); err != nil {
		return fmt.Errorf("write wav header: %w", err)
	}
	return nil
}

// WAVInfo is what ReadWAV found: the format and the PCM.
type WAVInfo struct {
	SampleRate, Channels, Bits int
	PCM                        []byte
}

// ReadWAV parses a canonical PCM WAV (as pull writes it). Tests and tools
// use it to compare samples.
func ReadWAV(r io.Reader) (WAVInfo, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return WAVInfo{}, err
	}
	if len(b) < wavHeaderSize || string(b[0:4]) != "RIFF" || string(b[8:16]) != "WAVEfmt " || string(b[36:40]) != "data" {
		return WAVInfo{}, errors.New("read wav: not a canonical PCM WAV")
	}
	le := binary.LittleEndian
	size := int(le.Uint32(b[40:]))
	if int(le.Uint32(b[4:])) != 36+size || wavHeaderSize+size != len(b) {
		return WAVInfo{}, fmt.Errorf("read wav: sizes in the header (riff %d, data %d) disagree with the file (%d bytes)", le.Uint32(b[4:]), size, len(b))
	}
	return WAVInfo{
		Channels:   int(le.Uint16(b[22:])),
		SampleRate: int(le.Uint32(b[24:])),
		Bits:       int(le.Uint16(b[34:])),
		PCM:        b[wavHeaderSize:],
	}, nil
}
