package ui

import (
	"fmt"
	"strconv"
	"time"
)

// gap says how long nothing was recorded before a resumed recording
// (Snapshot.ResumedGap), for "Recording resumed after an interruption".
func (b *builder) gap() string {
	d := b.in.Snap.ResumedGap.Round(time.Second)
	if d <= 0 {
		return ""
	}
	m, s := int(d/time.Minute), int(d%time.Minute/time.Second)
	if m >= 60 {
		return b.t("dur.hmin", "h", strconv.Itoa(m/60), "m", fmt.Sprintf("%02d", m%60))
	}
	return b.t("dur.msec", "m", strconv.Itoa(m), "s", fmt.Sprintf("%02d", s))
}
