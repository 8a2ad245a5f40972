package recorder

import (
	"encoding/binary"
	"math"
	"time"

	"roomkiosk/kiosk/session"
)

// FloorDBFS is the level reported for digital silence.
const FloorDBFS = -120.0

// DBFS converts a linear amplitude (full scale 32768) to dBFS.
func DBFS(amp float64) float64 {
	if amp <= 0 {
		return FloorDBFS
	}
	return max(20*math.Log10(amp/32768), FloorDBFS)
}

// Meter measures RMS and peak over 100 ms blocks, counts clipped samples and
// tracks how long the input has been silent. It does not allocate.
type Meter struct {
	block     int // samples (all channels) per 100 ms
	rate      int
	threshold float64 // silence below this RMS in dBFS

	n        int
	sumSq    int64
	max, min int32

	blocks      uint64
	clipped     uint64
	last        session.Level
	minRMS      float64 // quietest block since Reset
	maxPeak     float64 // loudest peak since Reset
	silentFrame int64   // consecutive frames in silent blocks
	frameSize   int
}

// NewMeter makes a meter for format f with a silence threshold in dBFS.
func NewMeter(f Format, silenceDBFS float64) *Meter {
	m := &Meter{block: f.SampleRate / 10 * f.Channels, rate: f.SampleRate, threshold: silenceDBFS, frameSize: f.Channels}
	m.Reset()
	return m
}

// Reset forgets the min/max since the last Reset (not the clipped count).
func (m *Meter) Reset() {
	m.minRMS = math.Inf(1)
	m.maxPeak = FloorDBFS
	m.n, m.sumSq, m.max, m.min = 0, 0, 0, 0
}

// Write feeds S16LE PCM. A trailing odd byte is ignored (callers feed whole
// frames).
func (m *Meter) Write(pcm []byte) {
	for len(pcm) >= 2 {
		// Up to the end of the current block, in one tight loop: sum of
		// squares, min and max (branch-free); clipping is looked for
		// only in a block that reached full scale.
		n := min((m.block-m.n)*2, len(pcm)&^1)
		blk := pcm[:n]
		var sum int64
		mx, mn := m.max, m.min
		for i := 0; i+1 < len(blk); i += 2 {
			s := int32(int16(uint16(blk[i]) | uint16(blk[i+1])<<8))
			sum += int64(s * s)
			mx = max(mx, s)
			mn = min(mn, s)
		}
		if mx == 32767 || mn == -32768 {
			for i := 0; i+1 < len(blk); i += 2 {
				if s := int16(binary.LittleEndian.Uint16(blk[i:])); s == 32767 || s == -32768 {
					m.clipped++
				}
			}
		}
		m.sumSq += sum
		m.max, m.min = mx, mn
		m.n += n / 2
		pcm = pcm[n:]
		if m.n == m.block {
			m.finishBlock()
		}
	}
}

func (m *Meter) finishBlock() {
	rms := DBFS(math.Sqrt(float64(m.sumSq) / float64(m.n)))
	peak := DBFS(float64(max(m.max, -m.min)))
	m.last = session.Level{RMSdBFS: rms, PeakdBFS: peak}
	if rms < m.minRMS {
		m.minRMS = rms
	}
	m.maxPeak = max(m.maxPeak, peak)
	if rms < m.threshold {
		m.silentFrame += int64(m.n / m.frameSize)
	} else {
		m.silentFrame = 0
	}
	m.blocks++
	m.n, m.sumSq, m.max, m.min = 0, 0, 0, 0
}

// Level is the last complete block's RMS and peak.
func (m *Meter) Level() session.Level { return m.last }

// Blocks counts complete 100 ms blocks.
func (m *Meter) Blocks() uint64 { return m.blocks }

// Clipped counts samples at full scale.
func (m *Meter) Clipped() uint64 { return m.clipped }

// SilentFor is how long the input has been below the silence threshold.
func (m *Meter) SilentFor() time.Duration {
	return time.Duration(m.silentFrame) * time.Second / time.Duration(m.rate)
}

// MinRMS and MaxPeak are the quietest block RMS and loudest peak seen.
func (m *Meter) MinRMS() float64  { return m.minRMS }
func (m *Meter) MaxPeak() float64 { return m.maxPeak }
