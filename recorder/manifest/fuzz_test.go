package manifest

import (
	"math"
	"testing"
)

// FuzzParseBounded: a manifest that parses has sizes a reader can add up and
// allocate for: no overflow, every segment within a segment's bounds.
func FuzzParseBounded(f *testing.F) {
	f.Add([]byte(`{"version":1,"session_id":"20261102T150405Z-abc123","room_id":"101","device_id":"101","format":{"codec":"pcm_s16le","sample_rate":16000,"channels":1,"bits":16},"started":"2026-11-02T15:04:05Z","ended":"2026-11-02T15:05:05Z","duration_ns":1,"segments":[{"name":"seg-000001.wav.age","index":1,"samples":16000,"bytes":40000,"sha256":"` + hex64 + `"}],"gaps":[{"after_segment":1,"frames":10,"duration_ns":1,"reason":"mic_lost"}],"interrupted":false,"withdrawn":false,"personal":""}`))
	f.Add([]byte(`{"version":1,"segments":[{"bytes":68719476736}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Parse(b)
		if err != nil {
			return
		}
		var total, gaps int64
		for _, s := range m.Segments {
			if s.Bytes <= 0 || s.Bytes > maxSegmentBytes(MaxSegmentFrames(m.Format), 4) || s.Samples > MaxSegmentFrames(m.Format) {
				t.Fatalf("segment out of bounds accepted: %+v", s)
			}
			if total > math.MaxInt64-s.Bytes {
				t.Fatal("sizes overflow")
			}
			total += s.Bytes
		}
		for _, g := range m.Gaps {
			gaps += g.Frames
			if gaps < 0 || gaps > int64(MaxSessionLength.Seconds())*int64(m.Format.SampleRate) {
				t.Fatalf("gaps out of bounds accepted: %d", gaps)
			}
		}
	})
}

// FuzzParseDeletion: a parsed deletion request names a valid session and
// room, and never panics.
func FuzzParseDeletion(f *testing.F) {
	f.Add([]byte(`{"session_id":"20261102T150405Z-abc123","room_id":"101","requested_at":"2026-11-02T15:04:05Z","reason":"withdrawn"}`))
	f.Add([]byte(`{"version":7}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := ParseDeletion(b)
		if err != nil {
			return
		}
		if !ValidSessionID(d.SessionID) || !idRe.MatchString(d.RoomID) || d.Version > DeletionVersion {
			t.Fatalf("invalid request accepted: %+v", d)
		}
	})
}

const hex64 = "0000000000000000000000000000000000000000000000000000000000000000"
