package ui

import (
	"fmt"
	"strconv"
	"time"
)

// gap says how long nothing was recorded before a resumed recording
// (Snapshot.ResumedGap), for "Recording resumed after an interruption".
func (b *builder) gap() string {
	g := b.in.Snap.ResumedGap
	if g <= 0 {
		return ""
	}
	// A gap under half a second still is one: never "0 s".
	d := max(g.Round(time.Second), time.Second)
	m, s := int(d/time.Minute), int(d%time.Minute/time.Second)
	if m >= 60 {
		return b.t("dur.hmin", "h", strconv.Itoa(m/60), "m", fmt.Sprintf("%02d", m%60))
	}
	return b.t("dur.msec", "m", strconv.Itoa(m), "s", fmt.Sprintf("%02d", s))
}
