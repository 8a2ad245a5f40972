package layout

import (
	"strings"
	"testing"
	"time"
	"unicode"
)

// FuzzParse: any key either parses into one that builds back to exactly
// itself, with no component that could escape a folder or reach a
// terminal, or is refused.
func FuzzParse(f *testing.F) {
	at := time.Date(2026, 11, 2, 15, 4, 5, 0, time.UTC)
	for _, k := range []string{ManifestKey("101", at, "20261102T150405Z-abc123"), SegmentKey("101", at, "20261102T150405Z-abc123", "seg-000001.wav.age"),
		DeletionKey("r", "20261102T150405Z-abc123"), StatusKey("101"), LogSnapshotKey("101", at, 5), ProbeKey("1", "d"),
		AuditKey(at, "pull", "ABCDEFGH"), TombstoneKey("101", "20261102T150405Z-abc123"), "rooms/../x", "rooms/1/\x1b"} {
		f.Add(k)
	}
	f.Fuzz(func(t *testing.T, key string) {
		k, err := Parse(key)
		if err != nil {
			return
		}
		if s := k.String(); s != key {
			t.Fatalf("Parse(%q).String() = %q", key, s)
		}
		for _, part := range strings.Split(key, "/") {
			if part == "" || part == "." || part == ".." {
				t.Fatalf("%q parsed with component %q", key, part)
			}
		}
		if strings.IndexFunc(key, func(r rune) bool { return unicode.IsControl(r) || r > unicode.MaxASCII }) >= 0 {
			t.Fatalf("%q parsed with a control or non-ASCII character", key)
		}
	})
}

// FuzzParseStatus: a status either parses with every enum valid and every
// text bounded, or is refused; it never panics.
func FuzzParseStatus(f *testing.F) {
	b, _ := Status{RoomID: "101", Door: "free", Recorder: "idle"}.Marshal()
	f.Add(b)
	f.Add([]byte(`{"schema":1,"room_id":"101","door":"\u001b[2J"}`))
	f.Add([]byte(`{"schema":1,"room_id":"101","checks":[{"name":"door","state":"bad"}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		st, err := ParseStatus(b)
		if err != nil {
			return
		}
		if err := st.validate(); err != nil {
			t.Fatalf("parsed status fails validation: %v", err)
		}
		if len(st.Checks) > maxChecks || !printable(st.Version) {
			t.Fatalf("unbounded status accepted: %+v", st)
		}
	})
}

// FuzzParseSummary: a parsed summary always names a valid room and session.
func FuzzParseSummary(f *testing.F) {
	f.Add([]byte(`{"room_id":"101","session_id":"20261102T150405Z-abc123","started":"2026-11-02T15:04:05Z"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := ParseSummary(b)
		if err != nil {
			return
		}
		if ValidRoomID(s.RoomID) != nil || !ValidSessionID(s.ID) {
			t.Fatalf("invalid ids accepted: %+v", s)
		}
	})
}
