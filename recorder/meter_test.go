package recorder

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"roomkiosk/internal/room"
	"testing"
)

func TestMeter(t *testing.T) {
	f := Format{SampleRate: 16000, Channels: 1}
	tests := []struct {
		name      string
		sample    func(i int) int16
		rms, peak float64
		clipped   uint64
	}{
		{"silence", func(int) int16 { return 0 }, FloorDBFS, FloorDBFS, 0},
		{"half-scale square", func(i int) int16 {
			if i%2 == 0 {
				return 16384
			}
			return -16384
		}, -6.02, -6.02, 0},
		{"clipping", func(i int) int16 {
			if i%100 == 0 {
				return -32768
			}
			return 0
		}, -20, 0, 16},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := NewMeter(f, -45)
			b := make([]byte, 1600*2)
			for i := range 1600 {
				binary.LittleEndian.PutUint16(b[2*i:], uint16(tt.sample(i)))
			}
			// Odd split: block boundaries must not depend on write sizes.
			m.Write(b[:1000])
			m.Write(b[1000:])
			lv := m.Level()
			if m.Blocks() != 1 || math.Abs(lv.RMSdBFS-tt.rms) > 0.05 || math.Abs(lv.PeakdBFS-tt.peak) > 0.05 || m.Clipped() != tt.clipped {
				t.Fatalf("blocks %d level %+v clipped %d", m.Blocks(), lv, m.Clipped())
			}
		})
	}
}

// TestMeterMatchesReference checks the unrolled integer loop against the
// obvious per-sample float computation, for every 100 ms block, with write
// sizes that split blocks and 64-bit loads at odd places and samples at both
// full-scale ends.
func TestMeterMatchesReference(t *testing.T) {
	f := Format{SampleRate: 16000, Channels: 1}
	const block = 1600
	r := rand.New(rand.NewPCG(1, 2))
	samples := make([]int16, 5*block)
	for i := range samples {
		switch {
		case i%997 == 0:
			samples[i] = 32767
		case i%1499 == 0:
			samples[i] = -32768
		case i/block == 3: // one quiet block
			samples[i] = int16(r.IntN(7) - 3)
		default:
			samples[i] = int16(r.IntN(40000) - 20000)
		}
	}
	pcm := make([]byte, 2*len(samples))
	for i, s := range samples {
		binary.LittleEndian.PutUint16(pcm[2*i:], uint16(s))
	}
	var clipped uint64
	want := make([]room.Level, 0, len(samples)/block)
	for b := 0; b < len(samples)/block; b++ {
		var sq, peak float64
		for _, s := range samples[b*block : (b+1)*block] {
			sq += float64(s) * float64(s)
			peak = max(peak, math.Abs(float64(s)))
			if s == 32767 || s == -32768 {
				clipped++
			}
		}
		want = append(want, room.Level{RMSdBFS: DBFS(math.Sqrt(sq / block)), PeakdBFS: DBFS(peak)})
	}
	for _, step := range []int{2, 6, 14, 3200, 3202, 32000} {
		m := NewMeter(f, -45)
		for off := 0; off < len(pcm); off += step {
			before := m.Blocks()
			m.Write(pcm[off:min(off+step, len(pcm))])
			// Level is the last completed block's.
			if n := m.Blocks(); n != before {
				got, w := m.Level(), want[n-1]
				if math.Abs(got.RMSdBFS-w.RMSdBFS) > 1e-9 || got.PeakdBFS != w.PeakdBFS {
					t.Fatalf("step %d block %d: level %+v, want %+v", step, n, got, w)
				}
			}
		}
		if m.Blocks() != 5 || m.Clipped() != clipped {
			t.Fatalf("step %d: %d blocks, %d clipped, want 5 and %d", step, m.Blocks(), m.Clipped(), clipped)
		}
	}
}

// BenchmarkMeter: the meter reads every sample; at 16 kHz mono it should be a
// small fraction of age's encryption cost per byte.
func BenchmarkMeter(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	pcm := make([]byte, 32000)
	for i := 0; i < len(pcm); i += 2 {
		binary.LittleEndian.PutUint16(pcm[i:], uint16(int16(r.IntN(20000)-10000)))
	}
	m := NewMeter(Format{SampleRate: 16000, Channels: 1}, -45)
	b.SetBytes(int64(len(pcm)))
	for b.Loop() {
		m.Write(pcm)
	}
}
