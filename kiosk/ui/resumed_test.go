package ui

import (
	"slices"
	"testing"
	"time"

	"roomkiosk/internal/room"
	"roomkiosk/kiosk/internal/uitest"
)

// The counselor's in-session screen says the recording resumed and how long
// nothing was recorded, in both languages; a gap under a second still shows.
func TestResumedGapShown(t *testing.T) {
	f := testFonts(t)
	tests := []struct {
		lang string
		gap  time.Duration
		want string
	}{
		{"en", 270 * time.Millisecond, "Recording resumed after an interruption (0 min 01 s not recorded)"},
		{"en", 74 * time.Second, "Recording resumed after an interruption (1 min 14 s not recorded)"},
		{"en", 2*time.Hour + 3*time.Minute, "Recording resumed after an interruption (2 h 03 min not recorded)"},
		{"zh", 74 * time.Second, "中断后录音已恢复（1 分 14 秒 未录音）"},
	}
	for _, tt := range tests {
		var snap room.Snapshot
		for _, c := range uitest.Cases(tt.lang) {
			if c.Name == "session-resumed" {
				snap = c.Snap
			}
		}
		snap.ResumedGap = tt.gap
		texts := Build(f, Input{Connected: true, Snap: snap, Now: uitest.Now}).Texts()
		if !slices.Contains(texts, tt.want) {
			t.Errorf("%s, gap %v: %q not among %q", tt.lang, tt.gap, tt.want, texts)
		}
	}
}
