package console

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"roomkiosk/internal/room"
	"roomkiosk/sync/archive"
)

// TestHostileValues: readings a broken or stolen kiosk may log (1e17 °C,
// thresholds of 1e300, values float64 cannot step through) never reach a
// chart, and a chart handed such values anyway draws instead of panicking
// (the 1e17 °C log line made the room page panic in niceTicks).
func TestHostileValues(t *testing.T) {
	from := time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
	lb := chartLabels{Min: "min", Max: "max", NoData: "none"}
	line := func(i int, value, threshold string) archive.LogLine {
		return archive.LogLine{At: from.Add(time.Duration(i) * time.Minute), Kind: "run",
			Results: []room.CheckResult{{Name: "temperature", State: room.CheckGood, Value: value, Threshold: threshold}}}
	}
	for _, tc := range []struct {
		name   string
		lines  []archive.LogLine
		points int
	}{
		{"1e17 alone", []archive.LogLine{line(0, "100000000000000000 °C", "18-26 °C"), line(1, "-100000000000000000 °C", "18-26 °C")}, 0},
		{"1e17 among genuine", []archive.LogLine{line(0, "21.5 °C", "18-26 °C"), line(1, "100000000000000000 °C", "18-26 °C"), line(2, "22 °C", "18-26 °C")}, 2},
		{"threshold 1e300", []archive.LogLine{line(0, "21 °C", "1e300-1e301 °C")}, 1},
		{"huge threshold digits", []archive.LogLine{line(0, "21 °C", strings.Repeat("9", 400)+"-"+strings.Repeat("9", 401)+" °C")}, 1},
		{"many names", func() []archive.LogLine {
			var ls []archive.LogLine
			for i := range 5000 {
				l := line(i, "1 x", "")
				l.Results[0].Name = fmt.Sprintf("check%d", i)
				ls = append(ls, l)
			}
			return ls
		}(), -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			series := BuildSeries(tc.lines, nil)
			if len(series) > maxSeries {
				t.Fatalf("%d series", len(series))
			}
			for _, s := range series {
				for _, p := range s.Points {
					if !plottable(p.V) {
						t.Fatalf("plotted %g", p.V)
					}
				}
				if s.ID == "temperature" && tc.points >= 0 && len(s.Points) != tc.points {
					t.Fatalf("%d points, want %d", len(s.Points), tc.points)
				}
				if (s.Lo != nil && !plottable(*s.Lo)) || (s.Hi != nil && !plottable(*s.Hi)) {
					t.Fatalf("threshold %v %v", s.Lo, s.Hi)
				}
				_ = RenderChart(s, from, from.Add(24*time.Hour), lb)
			}
		})
	}
	// Straight to the chart, past BuildSeries.
	for _, v := range []float64{1e17, -1e17, 1e308, math.MaxFloat64, math.Inf(1), math.NaN(), 5e-324} {
		s := &Series{ID: "x", Points: []Point{{At: from, V: v}, {At: from.Add(time.Minute), V: v}}}
		if svg := string(RenderChart(s, from, from.Add(time.Hour), lb)); !strings.HasSuffix(svg, "</svg>") {
			t.Fatalf("%g: %s", v, svg)
		}
	}
}

// FuzzRenderChart draws any two values and thresholds: never a panic.
func FuzzRenderChart(f *testing.F) {
	f.Add(1e17, 1e17, 18.0, 26.0)
	f.Add(20.0, 21.0, 1e300, -1e300)
	f.Add(math.MaxFloat64, -math.MaxFloat64, 0.0, 0.0)
	f.Fuzz(func(t *testing.T, a, b, lo, hi float64) {
		from := time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
		s := &Series{ID: "x", Lo: &lo, Hi: &hi, Points: []Point{{At: from, V: a}, {At: from.Add(time.Minute), V: b}}}
		_ = RenderChart(s, from, from.Add(time.Hour), chartLabels{})
	})
}
