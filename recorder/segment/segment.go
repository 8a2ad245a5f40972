// Package segment is the on-disk format of one encrypted audio segment: an age
// stream whose plaintext is a WAV file (streaming sizes) with a small
// self-describing chunk, then raw S16LE PCM. See recorder/FORMAT.md.
//
// It is pure Go (no cgo) so that roomctl, built with CGO_ENABLED=0, can
// decrypt and decode what the kiosk recorded.
package segment

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// Ext is the segment's plaintext extension: a decrypted segment is a .wav.
const Ext = "wav"

// HeaderSize is the fixed size of the plaintext header in bytes. It is a
// multiple of 4, so PCM frames stay aligned for mono and stereo alike.
const HeaderSize = 116

// Version is the version of the rksg chunk written by this package.
const Version = 1

// Bits is the only sample width recorded: signed 16-bit little endian.
const Bits = 16

const (
	sessionIDLen  = 40 // NUL-padded field in the rksg chunk
	rksgChunkSize = 64
	unknownSize   = 0xFFFFFFFF // streaming WAV: sizes unknown when written
)

// Header is the plaintext header of a segment.
type Header struct {
	SampleRate int       // frames per second: 16000 or 48000
	Channels   int       // 1 or 2
	Index      int       // 1-based segment number within the session
	StartFrame int64     // frames recorded in the session before this segment (gaps not counted)
	Started    time.Time // wall clock of the segment's first frame (UTC, nanoseconds)
	SessionID  string    // e.g. 20061102T150405Z-abc123
}

// FrameBytes is the size of one frame (all channels) in bytes.
func (h Header) FrameBytes() int { return h.Channels * Bits / 8 }

// Validate checks the fields a reader relies on.
func (h Header) Validate() error {
	switch {
	case h.SampleRate < 8000 || h.SampleRate > 192000:
		return fmt.Errorf("segment header: sample rate %d out of range", h.SampleRate)
	case h.Channels != 1 && h.Channels != 2:
		return fmt.Errorf("segment header: %d channels not supported", h.Channels)
	case h.Index < 1 || h.Index > 999999:
		return fmt.Errorf("segment header: index %d out of range (1..999999)", h.Index)
	case h.StartFrame < 0:
		return fmt.Errorf("segment header: negative start frame %d", h.StartFrame)
	case len(h.SessionID) == 0 || len(h.SessionID) > sessionIDLen:
		return fmt.Errorf("segment header: session id length %d out of range (1..%d)", len(h.SessionID), sessionIDLen)
	case strings.IndexByte(h.SessionID, 0) >= 0:
		return errors.New("segment header: session id holds a NUL byte")
	}
	return nil
}

// MarshalBinary returns the HeaderSize bytes that start a segment's plaintext.
func (h Header) MarshalBinary() ([]byte, error) {
	if err := h.Validate(); err != nil {
		return nil, err
	}
	b := make([]byte, 0, HeaderSize)
	le := binary.LittleEndian
	b = append(b, "RIFF"...)
	b = le.AppendUint32(b, unknownSize)
	b = append(b, "WAVE"...)
	// fmt chunk: plain PCM.
	b = append(b, "fmt "...)
	b = le.AppendUint32(b, 16)
	b = le.AppendUint16(b, 1)
	b = le.AppendUint16(b, uint16(h.Channels))
	b = le.AppendUint32(b, uint32(h.SampleRate))
	b = le.AppendUint32(b, uint32(h.SampleRate*h.FrameBytes()))
	b = le.AppendUint16(b, uint16(h.FrameBytes()))
	b = le.AppendUint16(b, Bits)
	// rksg chunk: players skip unknown chunks; this one makes a lone segment
	// self-describing (which session, which place in it).
	b = append(b, "rksg"...)
	b = le.AppendUint32(b, rksgChunkSize)
	b = le.AppendUint16(b, Version)
	b = le.AppendUint16(b, 0) // flags, reserved
	b = le.AppendUint32(b, uint32(h.Index))
	b = le.AppendUint64(b, uint64(h.StartFrame))
	b = le.AppendUint64(b, uint64(h.Started.UnixNano()))
	var id [sessionIDLen]byte
	copy(id[:], h.SessionID)
	b = append(b, id[:]...)
	// data chunk: size unknown (streaming); the PCM runs to the end.
	b = append(b, "data"...)
	b = le.AppendUint32(b, unknownSize)
	if len(b) != HeaderSize {
		panic("segment: header size mismatch")
	}
	return b, nil
}

// ErrHeader is wrapped by every header parse error.
var ErrHeader = errors.New("not a roomkiosk segment header")

// ParseHeader parses the first HeaderSize bytes of a segment's plaintext.
func ParseHeader(b []byte) (Header, error) {
	if len(b) < HeaderSize {
		return Header{}, fmt.Errorf("%w: %d bytes, want %d", ErrHeader, len(b), HeaderSize)
	}
	le := binary.LittleEndian
	expect := func(off int, tag string) error {
		if string(b[off:off+len(tag)]) != tag {
			return fmt.Errorf("%w: want %q at offset %d", ErrHeader, tag, off)
		}
		return nil
	}
	for _, e := range []struct {
		off int
		tag string
	}{{0, "RIFF"}, {8, "WAVE"}, {12, "fmt "}, {36, "rksg"}, {108, "data"}} {
		if err := expect(e.off, e.tag); err != nil {
			return Header{}, err
		}
	}
	if le.Uint32(b[16:]) != 16 || le.Uint16(b[20:]) != 1 {
		return Header{}, fmt.Errorf("%w: fmt chunk is not 16-byte PCM", ErrHeader)
	}
	if le.Uint32(b[40:]) != rksgChunkSize {
		return Header{}, fmt.Errorf("%w: rksg chunk size %d", ErrHeader, le.Uint32(b[40:]))
	}
	if v := le.Uint16(b[44:]); v != Version {
		return Header{}, fmt.Errorf("%w: rksg version %d not supported (this reader knows %d)", ErrHeader, v, Version)
	}
	h := Header{
		Channels:   int(le.Uint16(b[22:])),
		SampleRate: int(le.Uint32(b[24:])),
		Index:      int(le.Uint32(b[48:])),
		StartFrame: int64(le.Uint64(b[52:])),
		Started:    time.Unix(0, int64(le.Uint64(b[60:]))).UTC(),
		SessionID:  string(bytes.TrimRight(b[68:68+sessionIDLen], "\x00")),
	}
	if bits := le.Uint16(b[34:]); bits != Bits {
		return Header{}, fmt.Errorf("%w: %d bits per sample, want %d", ErrHeader, bits, Bits)
	}
	if err := h.Validate(); err != nil {
		return Header{}, fmt.Errorf("%w: %v", ErrHeader, err)
	}
	if le.Uint16(b[32:]) != uint16(h.FrameBytes()) || le.Uint32(b[28:]) != uint32(h.SampleRate*h.FrameBytes()) {
		return Header{}, fmt.Errorf("%w: block align or byte rate disagree with the format", ErrHeader)
	}
	return h, nil
}

var _ io.Reader = (*bytes.Reader)(nil)
