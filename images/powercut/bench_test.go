//go:build bench

package powercut

import (
	"os"
	"strconv"
	"testing"
	"time"

	"roomkiosk/internal/testenv"
)

// TestBenchPowerCut cuts the booted appliance's power 10 times
// (ROOMKIOSK_POWERCUT_CUTS overrides) at a random moment of a recording;
// each next boot recovers and uploads the session cut before and records
// the next one; a last boot uploads the last. Figures: sessions recovered,
// audio lost per cut (median, max) against one age chunk.
func TestBenchPowerCut(t *testing.T) {
	cuts := 10
	if s := os.Getenv("ROOMKIOSK_POWERCUT_CUTS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			t.Fatalf("ROOMKIOSK_POWERCUT_CUTS=%q: want a positive number", s)
		}
		cuts = n
	}
	start := time.Now()
	h := setup(t, "pcb-101")
	var rc []recordCut
	prev := 0
	for i := 0; i < cuts; i++ {
		c := h.recordAndCut(prev)
		rc = append(rc, c)
		prev = c.boot
	}
	v := h.boot("final")
	v.checkCanaries(prev)
	v.waitLine(`powercut: done`, bootLimit)
	v.waitPowerOff(2 * time.Minute)

	rows := h.adm.Sessions(t, h.room)
	byID := map[string]int{}
	for i, r := range rows {
		byID[r.Session] = i
	}
	var lost []float64
	recovered, overruns := 0, int64(0)
	for _, c := range rc {
		i, ok := byID[c.id]
		if !ok {
			t.Errorf("session %s (boot %d) is not in the archive", c.id, c.boot)
			continue
		}
		r := rows[i]
		if r.State != "interrupted" {
			t.Errorf("session %s: state %s, want interrupted", c.id, r.State)
			continue
		}
		// check pulls first (roomctl verifies and decrypts, or the test
		// fails): past it the session is recovered; what follows is the
		// alignment against the fed speech.
		a, err := h.check(c.id, r)
		recovered++
		if err != nil {
			t.Errorf("session %s (boot %d, %d segments, %d partial): recovered, but its audio does not align with the fed speech: %v",
				c.id, c.boot, r.Segments, r.Partial, err)
			continue
		}
		overruns += a.holes / frameBytes
		l := lossOf(c.cut, a)
		lost = append(lost, l)
		t.Logf("cut %d: session %s, %.2f s recovered (%d partial segments), lost %.0f ms at the cut; capture overruns inside %v",
			c.boot, c.id, framesMS(float64(a.frames))/1000, r.Partial, framesMS(l), a.holeList)
	}
	testenv.Report(t, testenv.Figure{
		Name: "power cut sessions recovered", Value: float64(recovered), Unit: "sessions",
		Baseline: "power cuts of the booted appliance (QEMU SIGKILL)", BaseVal: float64(cuts), Ratio: float64(recovered) / float64(cuts),
		Target: "= 1 (all recovered)", Met: recovered == cuts,
		Note: "recovered = listed as interrupted and pulled (verified, decrypted) by roomctl; amd64 test image under qemu-system-x86_64 -accel tcg, disk cache=none; snd-aloop fed by aplay; uploaded through user networking, pulled with roomctl",
	})
	if len(lost) > 0 {
		testenv.Report(t, figureLost("power cut audio lost per cut median", median(lost), len(lost)))
		testenv.Report(t, figureLost("power cut audio lost per cut max", slicesMax(lost), len(lost)))
	}
	t.Logf("power-cut bench: %d cuts, %d boots, %v in all; capture overruns inside the sessions %.0f ms in all; power on to the guest client: %v s",
		cuts, h.boots, time.Since(start).Round(time.Second), framesMS(float64(overruns)), h.bootSecs)
	if recovered != cuts {
		t.Errorf("recovered %d of %d", recovered, cuts)
	}
	for _, l := range lost {
		if l > chunkFrames+0.3*rate {
			t.Errorf("a cut lost %.0f ms, more than one age chunk", framesMS(l))
		}
		if l < -0.3*rate {
			t.Errorf("a session holds %.0f ms more than the daemon had captured at its cut", -framesMS(l))
		}
	}
}

func slicesMax(xs []float64) float64 {
	m := xs[0]
	for _, x := range xs[1:] {
		m = max(m, x)
	}
	return m
}
