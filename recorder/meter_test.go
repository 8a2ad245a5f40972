package recorder

import (
	"encoding/binary"
	"math"
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
