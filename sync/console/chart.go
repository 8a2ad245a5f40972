package console

import (
	"fmt"
	"html/template"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Chart geometry, in SVG user units (the SVG scales to its box).
const (
	chartW, chartH                           = 760, 210
	padLeft, padRight, padTop, padBottom int = 60, 16, 12, 26
)

// chartLabels are the words a chart needs, in the page's language.
type chartLabels struct {
	Min, Max, NoData string
}

// RenderChart draws s over [from, to) as an inline SVG: the measurements
// as one line (broken where the log has a gap), a dot for each when there
// are few, the good band and the threshold lines. The path holds exactly
// one M or L command per point, so the number of points can be read back
// from the page (the browser test does).
func RenderChart(s *Series, from, to time.Time, lb chartLabels) template.HTML {
	var b strings.Builder
	pw, ph := float64(chartW-padLeft-padRight), float64(chartH-padTop-padBottom)
	fmt.Fprintf(&b, `<svg class="chart" viewBox="0 0 %d %d" role="img" data-series="%s" data-points="%d" xmlns="http://www.w3.org/2000/svg">`,
		chartW, chartH, template.HTMLEscapeString(s.ID), len(s.Points))
	fmt.Fprintf(&b, `<title>%s (%s)</title>`, template.HTMLEscapeString(s.ID), template.HTMLEscapeString(s.Unit))
	fmt.Fprintf(&b, `<rect class="frame" x="%d" y="%d" width="%g" height="%g"/>`, padLeft, padTop, pw, ph)

	// Y range: the data and the thresholds, padded.
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, p := range s.Points {
		lo, hi = math.Min(lo, p.V), math.Max(hi, p.V)
	}
	for _, t := range []*float64{s.Lo, s.Hi} {
		if t != nil {
			lo, hi = math.Min(lo, *t), math.Max(hi, *t)
		}
	}
	if math.IsInf(lo, 0) || !plottable(lo) || !plottable(hi) {
		// BuildSeries keeps values within maxPlotted; a Series made
		// elsewhere is drawn on a unit range rather than trusted.
		lo, hi = 0, 1
	}
	if span := math.Max(1e-9, math.Abs(hi)*1e-9); hi-lo < span {
		lo, hi = lo-math.Max(1, math.Abs(lo)*0.01), hi+math.Max(1, math.Abs(hi)*0.01)
	}
	padY := (hi - lo) * 0.08
	lo, hi = lo-padY, hi+padY
	ticks, step := niceTicks(lo, hi, 5)
	lo, hi = math.Min(lo, ticks[0]), math.Max(hi, ticks[len(ticks)-1])
	x := func(t time.Time) float64 {
		return float64(padLeft) + pw*float64(t.Sub(from))/float64(to.Sub(from))
	}
	y := func(v float64) float64 { return float64(padTop) + ph*(hi-v)/(hi-lo) }

	// The good band, then the thresholds over it.
	if s.Lo != nil || s.Hi != nil {
		top, bot := float64(padTop), float64(padTop)+ph
		if s.Hi != nil {
			top = y(*s.Hi)
		}
		if s.Lo != nil {
			bot = y(*s.Lo)
		}
		fmt.Fprintf(&b, `<rect class="band" x="%d" y="%.1f" width="%g" height="%.1f"/>`, padLeft, top, pw, math.Max(0, bot-top))
	}
	for _, tk := range ticks {
		fmt.Fprintf(&b, `<line class="grid" x1="%d" x2="%g" y1="%.1f" y2="%.1f"/>`, padLeft, float64(padLeft)+pw, y(tk), y(tk))
		fmt.Fprintf(&b, `<text class="ytick" x="%d" y="%.1f">%s</text>`, padLeft-6, y(tk)+4, fmtTick(tk, step))
	}
	for _, th := range []struct {
		v     *float64
		label string
	}{{s.Lo, lb.Min}, {s.Hi, lb.Max}} {
		if th.v == nil {
			continue
		}
		fmt.Fprintf(&b, `<line class="threshold" data-threshold="%g" x1="%d" x2="%g" y1="%.1f" y2="%.1f"/>`, *th.v, padLeft, float64(padLeft)+pw, y(*th.v), y(*th.v))
		fmt.Fprintf(&b, `<text class="thlabel" x="%g" y="%.1f">%s %s</text>`, float64(padLeft)+pw-4, y(*th.v)-3,
			template.HTMLEscapeString(th.label), template.HTMLEscapeString(strconv.FormatFloat(*th.v, 'g', 4, 64)))
	}
	for _, tt := range timeTicks(from, to) {
		fmt.Fprintf(&b, `<line class="grid" x1="%.1f" x2="%.1f" y1="%d" y2="%g"/>`, x(tt.at), x(tt.at), padTop, float64(padTop)+ph)
		fmt.Fprintf(&b, `<text class="xtick" x="%.1f" y="%d">%s</text>`, x(tt.at), chartH-8, tt.label)
	}
	fmt.Fprintf(&b, `<text class="unit" x="6" y="%d">%s</text>`, padTop+10, template.HTMLEscapeString(s.Unit))

	if len(s.Points) == 0 {
		fmt.Fprintf(&b, `<text class="nodata" x="%g" y="%g">%s</text></svg>`, float64(padLeft)+pw/2, float64(padTop)+ph/2, template.HTMLEscapeString(lb.NoData))
		return template.HTML(b.String())
	}
	// A gap in the log (a device switched off) breaks the line: more than
	// three times the usual interval between two measurements.
	gap := 3 * medianStep(s.Points)
	b.WriteString(`<path class="series" d="`)
	for i, p := range s.Points {
		cmd := "L"
		if i == 0 || (gap > 0 && p.At.Sub(s.Points[i-1].At) > gap) {
			cmd = "M"
		}
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%s%.1f,%.1f", cmd, x(p.At), y(p.V))
	}
	b.WriteString(`"/>`)
	if len(s.Points) <= 200 {
		for _, p := range s.Points {
			if !p.Out() {
				fmt.Fprintf(&b, `<circle class="pt" cx="%.1f" cy="%.1f" r="2.2"/>`, x(p.At), y(p.V))
			}
		}
	}
	// Every point outside the thresholds in force when it was measured is
	// marked, however many points the plot has, with its value.
	for _, p := range s.Points {
		if p.Out() {
			fmt.Fprintf(&b, `<circle class="pt bad" data-at="%d" data-v="%g" cx="%.1f" cy="%.1f" r="4"><title>%s %s</title></circle>`,
				p.At.UnixNano(), p.V, x(p.At), y(p.V), template.HTMLEscapeString(strconv.FormatFloat(p.V, 'g', -1, 64)), template.HTMLEscapeString(s.Unit))
		}
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

func medianStep(ps []Point) time.Duration {
	if len(ps) < 2 {
		return 0
	}
	d := make([]time.Duration, 0, len(ps)-1)
	for i := 1; i < len(ps); i++ {
		d = append(d, ps[i].At.Sub(ps[i-1].At))
	}
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	return d[len(d)/2]
}

// niceTicks returns about n round tick values covering [lo, hi].
func niceTicks(lo, hi float64, n int) ([]float64, float64) {
	raw := (hi - lo) / float64(n)
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step := mag
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if m*mag >= raw {
			step = m * mag
			break
		}
	}
	var out []float64
	if step > 0 && !math.IsInf(step, 0) && !math.IsNaN(step) {
		for v := math.Floor(lo/step) * step; v <= hi+step*0.5; v += step {
			out = append(out, v)
			if len(out) > 20 {
				break
			}
		}
	}
	if len(out) == 0 {
		// A range float64 cannot step through: its ends, never nothing
		// (callers index the first and last tick).
		return []float64{lo, hi}, math.Max(hi-lo, 1)
	}
	return out, step
}

func fmtTick(v, step float64) string {
	dec := 0
	if step < 1 {
		dec = int(math.Ceil(-math.Log10(step)))
	}
	if math.Abs(v) < step/1e6 {
		v = 0
	}
	return strconv.FormatFloat(v, 'f', dec, 64)
}

type timeTick struct {
	at    time.Time
	label string
}

// timeTicks labels the x axis in UTC: hours for a day, days for longer.
func timeTicks(from, to time.Time) []timeTick {
	span := to.Sub(from)
	var every time.Duration
	var layout string
	switch {
	case span <= 36*time.Hour:
		every, layout = 3*time.Hour, "15:04"
	case span <= 10*24*time.Hour:
		every, layout = 24*time.Hour, "01-02"
	default:
		every, layout = 5*24*time.Hour, "01-02"
	}
	var out []timeTick
	for t := from.UTC().Truncate(every).Add(every); t.Before(to); t = t.Add(every) {
		out = append(out, timeTick{t, t.UTC().Format(layout)})
	}
	return out
}
