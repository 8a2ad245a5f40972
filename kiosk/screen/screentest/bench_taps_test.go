//go:build bench

package screentest

import (
	"fmt"
	"slices"
	"strconv"
	"testing"
	"time"

	"roomkiosk/internal/testenv"
	"roomkiosk/kiosk/ui"
)

// tapFeedback presses on target id, waits until the press is on screen,
// releases, and returns the time from the release until /ui reports a new
// frame presented: how long the finger waits to see that the tap did
// something (issue 13 item 7: every tap within 100 ms, PIN OK included).
func tapFeedback(t *testing.T, s *Screen, id string) time.Duration {
	t.Helper()
	for try := 0; try < 5; try++ {
		tg := s.Target(t, id)
		v0, err := s.View()
		if err != nil {
			t.Fatal(err)
		}
		x, y := v0.Window.X+tg.Rect.X+tg.Rect.W/2, v0.Window.Y+tg.Rect.Y+tg.Rect.H/2
		s.xdotool(t, "mousemove", strconv.Itoa(int(x)), strconv.Itoa(int(y)), "sleep", "0.1", "mousedown", "1")
		// The pressed highlight is painted and presented; then nothing
		// moves until the release.
		pressed := time.Now()
		var f0 uint64
		for stable := 0; stable < 10 && time.Since(pressed) < 2*time.Second; {
			v, err := s.View()
			if err == nil && v.Frames == f0 {
				stable++
			} else if err == nil {
				f0, stable = v.Frames, 0
			}
			time.Sleep(10 * time.Millisecond)
		}
		s.xdotool(t, "mouseup", "1")
		up := time.Now()
		for time.Since(up) < 5*time.Second {
			v, err := s.View()
			if err == nil && v.Frames > f0 {
				if v.Taps == v0.Taps {
					break // the screen saw no tap (a press it missed): again
				}
				return time.Since(up)
			}
			time.Sleep(2 * time.Millisecond)
		}
		t.Logf("tap on %s not seen or not shown; again", id)
		time.Sleep(300 * time.Millisecond)
	}
	t.Fatalf("no feedback for a tap on %s", id)
	return 0
}

// TestBenchTapFeedbackByKind: per kind of target, the time from the release
// of a tap to the first changed frame on the X screen, median and max, with
// the real screen binary, the real control socket and the real session core
// (the PIN checked against an argon2id hash, as `roomctl pin-hash` makes).
func TestBenchTapFeedbackByKind(t *testing.T) {
	d := StartDaemon(t, DaemonConfig(t), "")
	x := StartX(t)
	s := StartScreen(t, BuildScreen(t), x, d.Socket)
	s.WaitScene(t, "door")
	time.Sleep(time.Second)
	lat := map[string][]time.Duration{}
	add := func(kind, id string) { lat[kind] = append(lat[kind], tapFeedback(t, s, id)) }
	settle := func(what string, ok func(ui.View) bool) {
		s.WaitFor(t, what, 10*time.Second, ok)
		time.Sleep(150 * time.Millisecond)
	}

	tapFeedback(t, s, "lang-zh") // warm caches (fonts, glyphs): not counted
	settle("zh", func(v ui.View) bool { return v.Language == "zh" })
	for i := range 6 {
		lang := []string{"en", "zh"}[i%2]
		add("language switch", "lang-"+lang)
		settle(lang, func(v ui.View) bool { return v.Language == lang })
	}
	for range 6 {
		add("navigation (Start, Cancel)", "start")
		settle("pin pad", func(v ui.View) bool { return v.Scene == "pin" })
		for i, dg := range PIN {
			add("PIN digit", "pin-"+string(dg))
			settle("digit", func(v ui.View) bool { return v.PINDigits == i+1 })
		}
		add("PIN OK (hash checked)", "pin-ok")
		settle("checklist", func(v ui.View) bool { return v.Scene == "checklist" })
		for range 2 {
			before, _ := s.View()
			add("checklist tick", "check-item-0")
			settle("tick", func(v ui.View) bool { return v.Seq > before.Seq })
		}
		add("navigation (Start, Cancel)", "cancel")
		settle("door", func(v ui.View) bool { return v.Scene == "door" })
	}
	toConsent(t, s)
	for i := range 6 {
		id := []string{"consent-scroll-down", "consent-scroll-up"}[i%2]
		before, _ := s.View()
		add("agreement page (on the screen alone)", id)
		settle("page", func(v ui.View) bool { return v.Frames > before.Frames })
	}

	kinds := make([]string, 0, len(lat))
	for k := range lat {
		kinds = append(kinds, k)
	}
	slices.Sort(kinds)
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	for _, k := range kinds {
		l := lat[k]
		slices.Sort(l)
		med, worst := l[len(l)/2], l[len(l)-1]
		testenv.Report(t, testenv.Figure{
			Name: "screen tap to first change: " + k, Value: ms(med), Unit: "ms",
			Target: "< 100 ms, max included", Met: ms(worst) < 100,
			Note: fmt.Sprintf("median of %d taps from release to /ui reporting a new frame presented; min %v, max %v; load average %s",
				len(l), l[0].Round(time.Millisecond), worst.Round(time.Millisecond), loadavg()),
		})
	}
}
