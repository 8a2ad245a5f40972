package console

import (
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"roomkiosk/internal/room"
	"roomkiosk/sync/archive"
)

// A Series is one numeric measure of a check over time, from the "run"
// lines of the maintenance log (one point per line that holds the check
// with a number in its value). The device's check runner writes a check's
// threshold on a run line only where it changed and on the first run line
// of each day file, so each point is judged against the threshold in force
// when it was measured; Lo and Hi are the latest.
type Series struct {
	ID     string // temperature, humidity, microphone_noise, ...
	Check  string // the check it comes from
	Unit   string
	Points []Point
	Lo, Hi *float64 // thresholds: good is Lo <= v (<= Hi); nil when none
}

// Point is one measurement, with the thresholds in force when it was taken.
type Point struct {
	At     time.Time
	V      float64
	Lo, Hi *float64
}

// Out says whether the point is outside its thresholds.
func (p Point) Out() bool { return (p.Lo != nil && p.V < *p.Lo) || (p.Hi != nil && p.V > *p.Hi) }

// measure says how to read one series from a check's value and threshold.
type measure struct {
	id, check, unit string
	value           func(v string) (float64, bool)
	threshold       func(th string) (lo, hi *float64)
}

var (
	numRe       = regexp.MustCompile(`[-+]?[0-9]+(?:\.[0-9]+)?`)
	rangeRe     = regexp.MustCompile(`^\s*([-+]?[0-9.]+)\s*-\s*([-+]?[0-9.]+)`)
	atLeastRe   = regexp.MustCompile(`(?:≥|>=|>)\s*([-+]?[0-9.]+)`)
	belowRe     = regexp.MustCompile(`(?:<|≤|<=)\s*([-+]?[0-9.]+)`)
	withinRe    = regexp.MustCompile(`within\s+([0-9][0-9a-zµ.]*)`)
	underRe     = regexp.MustCompile(`under\s+([0-9][0-9a-zµ.]*)`)
	noiseRe     = regexp.MustCompile(`noise\s+([-+]?[0-9.]+)`)
	peakRe      = regexp.MustCompile(`peak\s+([-+]?[0-9.]+)`)
	noiseThRe   = regexp.MustCompile(`noise\s*<\s*([-+]?[0-9.]+)`)
	peakThRe    = regexp.MustCompile(`peak\s*>\s*([-+]?[0-9.]+)`)
	waitingRe   = regexp.MustCompile(`^([0-9]+) waiting`)
	oldestRe    = regexp.MustCompile(`oldest\s+([0-9][0-9a-zµ.]*)`)
	unitAfterRe = regexp.MustCompile(`^[-+]?[0-9]+(?:\.[0-9]+)?\s*([^\s,(]+)`)
)

func f64(s string) (float64, bool) {
	v, err := strconv.ParseFloat(s, 64)
	return v, err == nil
}

func ptr(v float64) *float64 { return &v }

// leadingNumber reads a value that starts with its number ("23.7 °C",
// "+0.4 s", "812 MB free"); a value that does not ("no reading", "open")
// is no measurement.
func leadingNumber(v string) (float64, bool) {
	v = strings.TrimSpace(v)
	loc := numRe.FindStringIndex(v)
	if loc == nil || loc[0] != 0 {
		return 0, false
	}
	return f64(v[loc[0]:loc[1]])
}

// genericThreshold reads "18-26 °C", "≥ 150 lx", ">= 900 MB free",
// "< 80 °C".
func genericThreshold(th string) (lo, hi *float64) {
	if m := rangeRe.FindStringSubmatch(th); m != nil {
		a, ok1 := f64(m[1])
		b, ok2 := f64(m[2])
		if ok1 && ok2 {
			return ptr(a), ptr(b)
		}
	}
	if m := atLeastRe.FindStringSubmatch(th); m != nil {
		if a, ok := f64(m[1]); ok {
			lo = ptr(a)
		}
	}
	if m := belowRe.FindStringSubmatch(th); m != nil {
		if a, ok := f64(m[1]); ok {
			hi = ptr(a)
		}
	}
	return lo, hi
}

func durationSeconds(s string) (float64, bool) {
	d, err := time.ParseDuration(strings.TrimRight(s, ".,"))
	if err != nil {
		return 0, false
	}
	return d.Seconds(), true
}

// measures are the series the console knows how to read; any other check
// whose value starts with a number is plotted with genericThreshold.
var measures = []measure{
	{id: "microphone_noise", check: "microphone", unit: "dBFS",
		value: func(v string) (float64, bool) {
			if m := noiseRe.FindStringSubmatch(v); m != nil {
				return f64(m[1])
			}
			return 0, false
		},
		threshold: func(th string) (lo, hi *float64) {
			if m := noiseThRe.FindStringSubmatch(th); m != nil {
				if a, ok := f64(m[1]); ok {
					return nil, ptr(a)
				}
			}
			return nil, nil
		}},
	{id: "microphone_peak", check: "microphone", unit: "dBFS",
		value: func(v string) (float64, bool) {
			if m := peakRe.FindStringSubmatch(v); m != nil {
				return f64(m[1])
			}
			return 0, false
		},
		threshold: func(th string) (lo, hi *float64) {
			if m := peakThRe.FindStringSubmatch(th); m != nil {
				if a, ok := f64(m[1]); ok {
					return ptr(a), nil
				}
			}
			return nil, nil
		}},
	{id: "clock", check: "clock", unit: "s", value: leadingNumber,
		threshold: func(th string) (lo, hi *float64) {
			if m := withinRe.FindStringSubmatch(th); m != nil {
				if s, ok := durationSeconds(m[1]); ok {
					return ptr(-s), ptr(s)
				}
			}
			return nil, nil
		}},
	{id: "backlog", check: "backlog", unit: "objects",
		value: func(v string) (float64, bool) {
			if m := waitingRe.FindStringSubmatch(v); m != nil {
				return f64(m[1])
			}
			return 0, false
		},
		threshold: func(string) (lo, hi *float64) { return nil, nil }},
	{id: "backlog_oldest", check: "backlog", unit: "s",
		value: func(v string) (float64, bool) {
			if waitingRe.FindStringSubmatch(v) == nil {
				return 0, false
			}
			if m := oldestRe.FindStringSubmatch(v); m != nil {
				return durationSeconds(m[1])
			}
			return 0, true // nothing waiting: nothing old
		},
		threshold: func(th string) (lo, hi *float64) {
			if m := underRe.FindStringSubmatch(th); m != nil {
				if s, ok := durationSeconds(m[1]); ok {
					return nil, ptr(s)
				}
			}
			return nil, nil
		}},
}

// order puts the series the issue names first, the rest by name.
var order = map[string]int{"temperature": 1, "humidity": 2, "light": 3, "microphone_noise": 4, "microphone_peak": 5,
	"clock": 6, "backlog": 7, "backlog_oldest": 8, "storage": 9, "cpu_temperature": 10, "memory": 11}

// BuildSeries turns log lines into one Series per numeric measure. A
// check's threshold is the last one a line named; points before the first
// one named take that first one (the device logs a threshold on the first
// run line of a day, and it changes only with the device's config), and a
// check no line names a threshold for takes the one in current (the room's
// status), so a log written before devices kept thresholds still plots
// them.
func BuildSeries(lines []archive.LogLine, current []room.CheckResult) []*Series {
	byID := map[string]*Series{}
	special := map[string][]measure{}
	for _, m := range measures {
		special[m.check] = append(special[m.check], m)
	}
	inForce := map[string]string{} // check -> threshold text
	firstTh := map[string]string{}
	add := func(id, check, value string, at time.Time, read func(string) (float64, bool), th func(string) (lo, hi *float64)) {
		v, ok := read(value)
		if !ok || !plottable(v) {
			return // a 1e17 °C reading is a broken or hostile device, not a point
		}
		s := byID[id]
		if s == nil {
			if len(byID) >= maxSeriesRead {
				return
			}
			s = &Series{ID: id, Check: check}
			byID[id] = s
		}
		p := Point{At: at, V: v}
		if t, ok := inForce[check]; ok {
			p.Lo, p.Hi = boundedTh(th(t))
		}
		s.Points = append(s.Points, p)
		if s.Unit == "" {
			if m := unitAfterRe.FindStringSubmatch(strings.TrimSpace(value)); m != nil {
				s.Unit = m[1]
			}
		}
	}
	thOf := map[string]func(string) (lo, hi *float64){}
	for _, l := range lines {
		if l.Kind != "run" {
			continue
		}
		for _, r := range l.Results {
			if r.Threshold != "" {
				inForce[r.Name] = r.Threshold
				if firstTh[r.Name] == "" {
					firstTh[r.Name] = r.Threshold
				}
			}
			if ms, ok := special[r.Name]; ok {
				for _, m := range ms {
					add(m.id, m.check, r.Value, l.At, m.value, m.threshold)
					thOf[m.id] = m.threshold
					if s := byID[m.id]; s != nil {
						s.Unit = m.unit
					}
				}
				continue
			}
			add(r.Name, r.Name, r.Value, l.At, leadingNumber, genericThreshold)
			thOf[r.Name] = genericThreshold
		}
	}
	for _, s := range byID {
		// The first threshold named, else the status's, for the points
		// measured before any line named one.
		first := firstTh[s.Check]
		if first == "" {
			for _, r := range current {
				if r.Name == s.Check {
					first = r.Threshold
				}
			}
		}
		for i := range s.Points {
			if s.Points[i].Lo == nil && s.Points[i].Hi == nil && first != "" {
				s.Points[i].Lo, s.Points[i].Hi = boundedTh(thOf[s.ID](first))
			}
		}
		if n := len(s.Points); n > 0 {
			s.Lo, s.Hi = s.Points[n-1].Lo, s.Points[n-1].Hi
		}
	}
	out := make([]*Series, 0, len(byID))
	for _, s := range byID {
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool {
		oi, oj := order[out[i].ID], order[out[j].ID]
		if oi == 0 {
			oi = 100
		}
		if oj == 0 {
			oj = 100
		}
		if oi != oj {
			return oi < oj
		}
		return out[i].ID < out[j].ID
	})
	if len(out) > maxSeries {
		// A log names its checks; a broken or hostile device could name
		// thousands. The known ones sort first and are kept.
		out = out[:maxSeries]
	}
	return out
}

// maxSeries bounds the plots on a room page; maxSeriesRead the series
// gathered before the known ones are chosen (a hostile log may name
// thousands of checks).
const (
	maxSeries     = 32
	maxSeriesRead = 256
)

// maxPlotted bounds the magnitude of a value plotted or printed: no check
// of a room measures anything near it (storage is in MB, the clock in
// seconds), and float64 keeps every step of a chart's ticks distinct
// there. Anything beyond, NaN or infinite is left out.
const maxPlotted = 1e9

func plottable(v float64) bool { return !math.IsNaN(v) && math.Abs(v) <= maxPlotted }

// boundedTh drops a threshold beyond maxPlotted.
func boundedTh(lo, hi *float64) (*float64, *float64) {
	if lo != nil && !plottable(*lo) {
		lo = nil
	}
	if hi != nil && !plottable(*hi) {
		hi = nil
	}
	return lo, hi
}
