package manifest

import (
	"math"
	"strings"
	"testing"
)

// TestBounds: sizes a device writes into a manifest are bounded by the
// format, so no reader allocates or adds what a hostile kiosk chooses.
func TestBounds(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(m *Manifest)
		want string // "" = valid
	}{
		{"sample", func(m *Manifest) {}, ""},
		{"a 10 min segment at 48 kHz stereo", func(m *Manifest) {
			m.Format.SampleRate, m.Format.Channels = 48000, 2
			m.Segments[0].Samples = 600 * 48000
			m.Segments[0].Bytes = 600*48000*4 + 116 + 2000*16 + 300
			m.Segments[1].Bytes = 1000
		}, ""},
		{"bytes 1<<36", func(m *Manifest) { m.Segments[0].Bytes = 1 << 36 }, "segments[0].bytes"},
		{"bytes max", func(m *Manifest) { m.Segments[0].Bytes = math.MaxInt64 }, "segments[0].bytes"},
		{"bytes too few for the samples", func(m *Manifest) { m.Segments[0].Bytes = 1000 }, "cannot hold"},
		{"samples 1<<62", func(m *Manifest) { m.Segments[0].Samples = 1 << 62 }, "segments[0].samples"},
		{"gap 1<<62", func(m *Manifest) { m.Gaps[0].Frames = 1 << 62 }, "gaps[0].frames"},
		{"gaps adding up past a day", func(m *Manifest) {
			g := m.Gaps[0]
			g.Frames = 16000 * 3600 * 13
			m.Gaps = []Gap{g, g}
		}, "gaps[1].frames"},
		{"too many segments", func(m *Manifest) {
			m.Segments = make([]Segment, MaxSegments+1)
		}, "more than"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := sample(t, nil)
			tc.edit(m)
			err := m.Validate()
			if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
				t.Fatalf("Validate() = %v, want %q", err, tc.want)
			}
		})
	}
}
