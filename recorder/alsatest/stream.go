package alsatest

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

// The fed-stream tests (kiosk/e2e, images/powercut) feed one long stream of
// speech and then locate every captured byte in it: what was recorded, what
// was lost, and that nothing came from anywhere else.

// SpeechStream returns d (whole seconds) of mono S16LE speech at rate from
// several sentences, at half scale (never clipping) with a deterministic
// ±2 LSB dither, so that any 128 samples of it occur once and a capture
// can be aligned against it by search (Spans).
func SpeechStream(t testing.TB, d time.Duration, rate int) []byte {
	t.Helper()
	var one []byte
	for _, s := range []string{
		"Thank you for coming in today. How have things been since our last meeting?",
		"We agreed to try speaking one at a time, and to listen before answering.",
		"It sounds like the evenings are the hardest part of the week for both of you.",
		"Let us take a moment and summarise what each of you heard the other say.",
	} {
		one = append(one, Speech(t, s, rate, 1)...)
	}
	n := int(d.Seconds()) * rate * 2
	out := make([]byte, 0, n+len(one))
	for len(out) < n {
		out = append(out, one...)
	}
	out = out[:n]
	rng := rand.New(rand.NewPCG(8, 2026))
	for i := 0; i+1 < len(out); i += 2 {
		v := int(int16(binary.LittleEndian.Uint16(out[i:])))/2 + rng.IntN(5) - 2
		binary.LittleEndian.PutUint16(out[i:], uint16(int16(v)))
	}
	return out
}

// Span is one run of captured PCM found in the fed stream.
type Span struct {
	At     int   // byte index in the captured PCM
	Offset int64 // stream offset
	Len    int
}

// alignBytes is how much captured audio Spans searches the stream for at
// once: 256 samples, unique in a SpeechStream.
const alignBytes = 512

// Spans splits captured PCM into runs of fed audio (a SpeechStream)
// separated by zero samples (device start-up, silence a pull put in for a
// recorded gap or a lost tail, a dithered sample that happens to be 0).
// Each run must come later in the stream than the one before; anything
// that is neither fed audio nor silence is an error.
func Spans(stream, pcm []byte) ([]Span, error) {
	var out []Span
	from := 0
	for i := 0; i < len(pcm); {
		for i+1 < len(pcm) && pcm[i] == 0 && pcm[i+1] == 0 {
			i += 2
		}
		if i >= len(pcm)-1 {
			break
		}
		if len(pcm)-i < alignBytes {
			// A short run at the very end: too short to locate alone; it
			// must continue the previous run.
			if len(out) > 0 {
				p := out[len(out)-1]
				off := p.Offset + int64(i-p.At)
				if off+int64(len(pcm)-i) <= int64(len(stream)) && bytes.Equal(pcm[i:], stream[off:off+int64(len(pcm)-i)]) {
					out = append(out, Span{At: i, Offset: off, Len: len(pcm) - i})
					break
				}
			}
			return out, fmt.Errorf("%d bytes at %d of %d are neither fed audio nor silence", len(pcm)-i, i, len(pcm))
		}
		j := bytes.Index(stream[from:], pcm[i:i+alignBytes])
		if j < 0 {
			return out, fmt.Errorf("captured audio at byte %d of %d is nowhere later in the fed stream", i, len(pcm))
		}
		off := from + j
		n := 0
		for i+n < len(pcm) && off+n < len(stream) && pcm[i+n] == stream[off+n] {
			n++
		}
		n &^= 1
		out = append(out, Span{At: i, Offset: int64(off), Len: n})
		i += n
		from = off + n
	}
	return out, nil
}
