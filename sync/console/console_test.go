package console

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"filippo.io/age"

	"roomkiosk/internal/room"
	"roomkiosk/sync/archive"
)

func TestBuildSeries(t *testing.T) {
	at := time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
	line := func(i int, rs ...room.CheckResult) archive.LogLine {
		return archive.LogLine{At: at.Add(time.Duration(i) * time.Minute), Kind: "run", Results: rs}
	}
	lines := []archive.LogLine{
		line(0,
			room.CheckResult{Name: "temperature", Value: "23.7 °C", Threshold: "18-26 °C"},
			room.CheckResult{Name: "humidity", Value: "71 %RH", Threshold: "30-65 %RH"},
			room.CheckResult{Name: "light", Value: "312 lx", Threshold: "≥ 150 lx"},
			room.CheckResult{Name: "door", Value: "closed", Threshold: "closed"},
			room.CheckResult{Name: "microphone", Value: "noise -61 dBFS, peak -12 dBFS, 0 clipped", Threshold: "noise < -45 dBFS, speech peak > -30 dBFS, no clipping"},
			room.CheckResult{Name: "clock", Value: "+0.4 s", Threshold: "within 2s of the storage server"},
			room.CheckResult{Name: "backlog", Value: "3 waiting (2.7 MB), oldest 2m15s", Threshold: "oldest unsent under 1h0m0s, nothing quarantined"},
			room.CheckResult{Name: "storage", Value: "5120 MB free", Threshold: ">= 1400 MB free (2h0m0s of audio + margin)"},
			room.CheckResult{Name: "cpu_temperature", Value: "48.3 °C", Threshold: "< 80 °C"}),
		{At: at.Add(90 * time.Second), Kind: "fault", Check: "humidity", Value: "71 %RH"}, // not a measurement round
		line(2,
			room.CheckResult{Name: "temperature", Value: "sensor not answering", Threshold: "18-26 °C"}, // no number: no point
			room.CheckResult{Name: "backlog", Value: "0 waiting (0.0 MB)", Threshold: "oldest unsent under 1h0m0s, nothing quarantined"}),
	}
	got := map[string]*Series{}
	var ids []string
	for _, s := range BuildSeries(lines, nil) {
		got[s.ID] = s
		ids = append(ids, s.ID)
	}
	f := func(v float64) *float64 { return &v }
	for _, tc := range []struct {
		id     string
		values []float64
		lo, hi *float64
	}{
		{"temperature", []float64{23.7}, f(18), f(26)},
		{"humidity", []float64{71}, f(30), f(65)},
		{"light", []float64{312}, f(150), nil},
		{"microphone_noise", []float64{-61}, nil, f(-45)},
		{"microphone_peak", []float64{-12}, f(-30), nil},
		{"clock", []float64{0.4}, f(-2), f(2)},
		{"backlog", []float64{3, 0}, nil, nil},
		{"backlog_oldest", []float64{135, 0}, nil, f(3600)},
		{"storage", []float64{5120}, f(1400), nil},
		{"cpu_temperature", []float64{48.3}, nil, f(80)},
	} {
		s := got[tc.id]
		if s == nil {
			t.Errorf("no series %s (have %v)", tc.id, ids)
			continue
		}
		var vs []float64
		for _, p := range s.Points {
			vs = append(vs, p.V)
		}
		if len(vs) != len(tc.values) {
			t.Errorf("%s: values %v, want %v", tc.id, vs, tc.values)
			continue
		}
		for i := range vs {
			if vs[i] != tc.values[i] {
				t.Errorf("%s: values %v, want %v", tc.id, vs, tc.values)
			}
		}
		same := func(a, b *float64) bool { return (a == nil) == (b == nil) && (a == nil || *a == *b) }
		if !same(s.Lo, tc.lo) || !same(s.Hi, tc.hi) {
			t.Errorf("%s: thresholds %v..%v", tc.id, s.Lo, s.Hi)
		}
	}
	if _, ok := got["door"]; ok {
		t.Error("the door (not a number) was plotted")
	}
	if ids[0] != "temperature" || ids[1] != "humidity" || ids[2] != "light" {
		t.Errorf("order %v", ids)
	}
}

func TestRenderChartPoints(t *testing.T) {
	from := time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
	s := &Series{ID: "temperature", Unit: "°C", Lo: new(float64), Hi: new(float64)}
	*s.Lo, *s.Hi = 18, 26
	for i := range 300 {
		at := from.Add(time.Duration(i) * 5 * time.Minute)
		if i >= 150 {
			at = at.Add(6 * time.Hour) // a gap: the line breaks
		}
		s.Points = append(s.Points, Point{At: at, V: 20 + float64(i%7)})
	}
	svg := string(RenderChart(s, from, from.Add(48*time.Hour), chartLabels{Min: "min", Max: "max", NoData: "none"}))
	d := regexp.MustCompile(`class="series" d="([^"]*)"`).FindStringSubmatch(svg)
	if d == nil {
		t.Fatal("no series path")
	}
	if n := len(regexp.MustCompile(`[ML]`).FindAllString(d[1], -1)); n != 300 {
		t.Errorf("%d path points, want 300", n)
	}
	if n := strings.Count(d[1], "M"); n != 2 {
		t.Errorf("%d line starts, want 2 (one gap)", n)
	}
	if n := strings.Count(svg, `class="threshold"`); n != 2 {
		t.Errorf("%d threshold lines", n)
	}
	empty := string(RenderChart(&Series{ID: "x"}, from, from.Add(time.Hour), chartLabels{NoData: "none"}))
	if !strings.Contains(empty, "none") || strings.Contains(empty, `class="series"`) {
		t.Errorf("empty chart: %s", empty)
	}
}

func TestCatalogsMatch(t *testing.T) {
	ph := regexp.MustCompile(`\{[a-z]+\}`)
	for _, l := range languages {
		for k, v := range catalogs["en"] {
			w, ok := catalogs[l][k]
			if !ok {
				t.Errorf("%s lacks %s", l, k)
				continue
			}
			a, b := ph.FindAllString(v, -1), ph.FindAllString(w, -1)
			sort.Strings(a)
			sort.Strings(b)
			if strings.Join(a, ",") != strings.Join(b, ",") {
				t.Errorf("%s %s: placeholders %v, English %v", l, k, b, a)
			}
		}
		for k := range catalogs[l] {
			if _, ok := catalogs["en"][k]; !ok {
				t.Errorf("%s has %s, English does not", l, k)
			}
		}
	}
	if got := tr("zh", "fleet.tampered", "n", 2); got != "2 个会话被篡改" {
		t.Errorf("tr: %q", got)
	}
	if got := tr("zh", "action.revoke-all"); got != "revoke-all" {
		t.Errorf("unknown key: %q", got)
	}
}

// TestGuards runs the request guards without an archive behind them.
func TestGuards(t *testing.T) {
	id, _ := age.GenerateX25519Identity()
	s, err := New(Options{Archive: &archive.Archive{}, Identities: []age.Identity{id}, Token: "s3cret", AudioDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	do := func(method, target string, cookie *http.Cookie, hdr map[string]string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(method, target, nil)
		r.Host = "console.clinic.lan:8070"
		if cookie != nil {
			r.AddCookie(cookie)
		}
		for k, v := range hdr {
			r.Header.Set(k, v)
		}
		w := httptest.NewRecorder()
		s.ServeHTTP(w, r)
		return w
	}
	if w := do("GET", "/audit", nil, nil); w.Code != http.StatusUnauthorized || w.Header().Get("Cache-Control") != "no-store" {
		t.Errorf("no token: %d %q", w.Code, w.Header().Get("Cache-Control"))
	}
	if w := do("GET", "/?token=wrong", nil, nil); w.Code != http.StatusUnauthorized {
		t.Errorf("wrong token: %d", w.Code)
	}
	w := do("GET", "/sessions?token=s3cret&room=101", nil, nil)
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/sessions?room=101" {
		t.Fatalf("token: %d %q", w.Code, w.Header().Get("Location"))
	}
	c := w.Result().Cookies()[0]
	if !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Value == "s3cret" {
		t.Errorf("cookie %+v (its value must be a session secret, not the login token)", c)
	}
	// The login token works once; a forged cookie is nothing.
	if w := do("GET", "/?token=s3cret", nil, nil); w.Code != http.StatusUnauthorized {
		t.Errorf("login token used twice: %d", w.Code)
	}
	if w := do("GET", "/audit", &http.Cookie{Name: tokenCookie, Value: "s3cret"}, nil); w.Code != http.StatusUnauthorized {
		t.Errorf("the login token as a cookie: %d", w.Code)
	}
	// With the cookie, a POST still needs the form token.
	if w := do("POST", "/deletions/apply", c, map[string]string{"Content-Type": "application/x-www-form-urlencoded"}); w.Code != http.StatusForbidden {
		t.Errorf("post without form token: %d", w.Code)
	}
	for back, want := range map[string]string{
		"//evil.example/": "/", "/\\evil.example/": "/", "/%5Cevil.example/": "/", "https://evil.example/": "/",
		"javascript:alert(1)": "/", "/\\/evil": "/", "\\evil": "/", "/%0d%0aSet-Cookie:x": "/", "": "/",
		"/room/101?range=7d": "/room/101?range=7d", "/sessions": "/sessions",
	} {
		if w := do("GET", "/lang/zh?back="+url.QueryEscape(back), c, nil); w.Header().Get("Location") != want {
			t.Errorf("language switch with back=%q redirects to %q, want %q", back, w.Header().Get("Location"), want)
		}
	}
	// A loopback console answers only to a loopback name (DNS rebinding).
	lo, err := New(Options{Archive: &archive.Archive{}, Identities: []age.Identity{id}, Loopback: true, AudioDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer lo.Close()
	if lo.LoginToken() == "" {
		t.Fatal("no login token made")
	}
	for host, code := range map[string]int{"evil.example:8070": http.StatusMisdirectedRequest, "127.0.0.1:8070": http.StatusUnauthorized} {
		r := httptest.NewRequest("GET", "/", nil)
		r.Host = host
		w := httptest.NewRecorder()
		lo.ServeHTTP(w, r)
		if w.Code != code {
			t.Errorf("loopback console, Host %s, no cookie: %d, want %d", host, w.Code, code)
		}
	}
	for addr, want := range map[string]bool{"127.0.0.1:8070": true, "[::1]:8070": true, "localhost:1": true, "0.0.0.0:8070": false, "192.168.1.5:8070": false, ":8070": false} {
		if IsLoopback(addr) != want {
			t.Errorf("IsLoopback(%q) = %v", addr, !want)
		}
	}
}

// TestSeriesThresholdInForce reads run lines as the device's runner writes
// them (a check's threshold only where it changed, or on a day's first run
// line): every point is judged against the threshold in force when it was
// measured, and the chart marks each point outside it.
func TestSeriesThresholdInForce(t *testing.T) {
	at := time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
	run := func(i int, v, th string) archive.LogLine {
		return archive.LogLine{At: at.Add(time.Duration(i) * 30 * time.Minute), Kind: "run",
			Results: []room.CheckResult{{Name: "temperature", Value: v, Threshold: th}}}
	}
	for _, tc := range []struct {
		name    string
		lines   []archive.LogLine
		current []room.CheckResult
		out     []bool
		hi      float64
	}{
		{"named once", []archive.LogLine{run(0, "21.4 °C", "18-26 °C"), run(1, "23.9 °C", ""), run(2, "27.3 °C", ""), run(3, "21.4 °C", "")},
			nil, []bool{false, false, true, false}, 26},
		{"changed", []archive.LogLine{run(0, "25.0 °C", "18-26 °C"), run(1, "25.0 °C", "18-24 °C"), run(2, "23.0 °C", "")},
			nil, []bool{false, true, false}, 24},
		{"named late: earlier points take the first", []archive.LogLine{run(0, "27.0 °C", ""), run(1, "21.0 °C", "18-26 °C")},
			nil, []bool{true, false}, 26},
		{"never named: the status's", []archive.LogLine{run(0, "27.0 °C", ""), run(1, "21.0 °C", "")},
			[]room.CheckResult{{Name: "temperature", Threshold: "18-26 °C"}}, []bool{true, false}, 26},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ss := BuildSeries(tc.lines, tc.current)
			if len(ss) != 1 || len(ss[0].Points) != len(tc.out) {
				t.Fatalf("series %+v", ss)
			}
			s := ss[0]
			bad := 0
			for i, p := range s.Points {
				if p.Out() != tc.out[i] {
					t.Errorf("point %d (%g): out %v, want %v", i, p.V, p.Out(), tc.out[i])
				}
				if tc.out[i] {
					bad++
				}
			}
			if s.Hi == nil || *s.Hi != tc.hi || s.Lo == nil || *s.Lo != 18 {
				t.Errorf("latest thresholds %v %v, want 18 and %g", s.Lo, s.Hi, tc.hi)
			}
			svg := string(RenderChart(s, at.Add(-time.Hour), at.Add(3*time.Hour), chartLabels{}))
			if n := strings.Count(svg, `class="pt bad"`); n != bad {
				t.Errorf("%d points marked, want %d", n, bad)
			}
			if n := strings.Count(svg, `class="threshold"`); n != 2 {
				t.Errorf("%d threshold lines, want 2", n)
			}
		})
	}
}

// TestClockAheadWords: the room header states the offset with its sign in
// words, the clock check's convention (device minus server), in en and zh;
// within the Date header's half second it is in step.
func TestClockAheadWords(t *testing.T) {
	for _, tc := range []struct {
		lang string
		d    time.Duration
		want string
	}{
		{"en", 2300 * time.Millisecond, "Device clock ahead by 2.3 s"},
		{"en", -2300 * time.Millisecond, "Device clock behind by 2.3 s"},
		{"en", 500 * time.Millisecond, "Device clock in step with storage (within 0.5 s)"},
		{"en", -400 * time.Millisecond, "Device clock in step with storage (within 0.5 s)"},
		{"zh", 2300 * time.Millisecond, "设备时钟快 2.3 秒"},
		{"zh", -700 * time.Millisecond, "设备时钟慢 0.7 秒"},
	} {
		if got := (&page{Lang: tc.lang}).ClockAhead(tc.d); got != tc.want {
			t.Errorf("%s %v: %q, want %q", tc.lang, tc.d, got, tc.want)
		}
	}
}
