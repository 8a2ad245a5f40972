package archive

import (
	"bytes"
	"testing"

	"roomkiosk/recorder/manifest"
)

// FuzzPlan: whatever manifest a device uploads, if it parses, planning its
// pull neither panics nor overflows; the total it gives is the sum of the
// segments' sizes.
func FuzzPlan(f *testing.F) {
	f.Add([]byte(`{"version":1,"session_id":"20261102T150405Z-abc123","room_id":"101","device_id":"101","format":{"codec":"pcm_s16le","sample_rate":16000,"channels":1,"bits":16},"started":"2026-11-02T15:04:05Z","ended":"2026-11-02T15:05:05Z","duration_ns":1,"segments":[{"name":"seg-000001.wav.age","index":1,"samples":16000,"bytes":40000,"sha256":"0000000000000000000000000000000000000000000000000000000000000000"}],"gaps":[{"after_segment":1,"frames":9223372036854775807,"duration_ns":1,"reason":"mic_lost"}],"interrupted":false,"withdrawn":false,"personal":""}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := manifest.Parse(b)
		if err != nil {
			return
		}
		total, err := plan(m)
		if err != nil {
			return
		}
		var sum int64
		for _, s := range m.Segments {
			sum += s.Bytes
		}
		if total != sum || total < 0 {
			t.Fatalf("plan total %d, segments sum %d", total, sum)
		}
	})
}

// FuzzFrameWriter: however decrypted PCM is cut into writes, only whole
// frames reach the WAV, in order.
func FuzzFrameWriter(f *testing.F) {
	f.Add([]byte{1, 2, 3, 4, 5, 6, 7}, uint8(3), true)
	f.Fuzz(func(t *testing.T, pcm []byte, cut uint8, stereo bool) {
		fb := 2
		if stereo {
			fb = 4
		}
		var out bytes.Buffer
		fw := &frameWriter{w: &out, fb: fb}
		step := int(cut%16) + 1
		for p := pcm; len(p) > 0; {
			n := min(step, len(p))
			if _, err := fw.Write(p[:n]); err != nil {
				t.Fatal(err)
			}
			p = p[n:]
		}
		whole := len(pcm) / fb * fb
		got := out.Bytes()
		if string(got) != string(pcm[:whole]) || fw.frames != int64(whole/fb) {
			t.Fatalf("wrote %d bytes (%d frames), want %d", len(got), fw.frames, whole)
		}
	})
}
