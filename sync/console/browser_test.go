package console_test

import (
	"bufio"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"roomkiosk/internal/testenv"
	"roomkiosk/sync/admin"
	"roomkiosk/sync/archive"
)

// startConsole runs the real `roomctl console` on a free loopback port and
// returns its base URL and the login URL it printed (one-time token).
func startConsole(t *testing.T, bin string, f *fixture, extra ...string) (base, login string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, append([]string{"console", "-i", f.keyFile, "--listen", "127.0.0.1:0"}, extra...)...)
	cmd.Env = f.env
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 10 * time.Second
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		cmd.Wait()
		if t.Failed() && stderr.Len() > 0 {
			t.Logf("roomctl console stderr:\n%s", stderr.String())
		}
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("roomctl console printed no address: %v; stderr: %s", err, stderr.String())
	}
	m := regexp.MustCompile(`on ((http://127\.0\.0\.1:[0-9]+/)\?token=[A-Z2-7]+)\n`).FindStringSubmatch(line)
	if m == nil {
		t.Fatalf("roomctl console: %q", line)
	}
	go io.Copy(io.Discard, stdout)
	// Nothing answers without the login.
	if resp, _ := get(t, m[2]+"audit", nil); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("console before login: %d, want 401", resp.StatusCode)
	}
	return m[2], m[1]
}

// consoleCookie is the session cookie of the one login, sent by get.
var consoleCookie *http.Cookie

// loginHTTP logs in with plain HTTP (no browser), for get.
func loginHTTP(t *testing.T, login string) {
	t.Helper()
	cl := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := cl.Get(login)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	for _, c := range resp.Cookies() {
		if c.HttpOnly && c.SameSite == http.SameSiteStrictMode {
			consoleCookie = c
		}
	}
	if resp.StatusCode != http.StatusSeeOther || consoleCookie == nil {
		t.Fatalf("login: %d %v", resp.StatusCode, resp.Cookies())
	}
}

// browser drives a fresh headless Chromium (Debian's) through chromedp.
type browser struct {
	t    *testing.T
	ctx  context.Context
	dir  string // screenshots
	shot int
}

func newBrowser(t *testing.T) *browser {
	t.Helper()
	path := testenv.Tool(t, "chromium")
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("mute-audio", true),
		chromedp.Flag("autoplay-policy", "no-user-gesture-required"),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1400, 1000),
	}
	actx, acancel := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); acancel() })
	// The first run starts the browser; it lives as long as ctx.
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	dir := filepath.Join(testenv.ModuleRoot(t), "test-artifacts", strings.ReplaceAll(t.Name(), "/", "_"))
	os.RemoveAll(dir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return &browser{t: t, ctx: ctx, dir: dir}
}

func (b *browser) do(steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 2*time.Minute)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.dump()
		b.t.Fatalf("browser: %v", err)
	}
}

// dump keeps the page as it is when a step failed, for the artifacts.
func (b *browser) dump() {
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	if html, err := chromedp.Run(ctx, chromedp.OuterHTML(chromedp.CSS("html"))); err == nil {
		os.WriteFile(filepath.Join(b.dir, "failed.html"), []byte(html), 0o644)
	}
	if png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)); err == nil {
		os.WriteFile(filepath.Join(b.dir, "failed.png"), png, 0o644)
	}
}

func run[T any](b *browser, a chromedp.Action[T]) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 2*time.Minute)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		b.dump()
		b.t.Fatalf("browser: %v", err)
	}
	return v
}

// login opens the URL roomctl printed, as an admin would, and hands the
// session cookie the browser got to get (plain HTTP requests).
func (b *browser) login(url string) {
	b.t.Helper()
	b.open(url)
	ctx, cancel := context.WithTimeout(b.ctx, time.Minute)
	defer cancel()
	res, err := chromedp.Call(ctx, network.GetCookies, network.GetCookiesParams{})
	if err != nil {
		b.t.Fatal(err)
	}
	got := res.Cookies
	for _, c := range got {
		if c.Name == "roomctl_console" {
			if !c.HTTPOnly || c.SameSite != network.CookieSameSiteStrict {
				b.t.Fatalf("session cookie %+v: want HttpOnly, SameSite=Strict", c)
			}
			consoleCookie = &http.Cookie{Name: c.Name, Value: c.Value}
		}
	}
	if consoleCookie == nil {
		b.t.Fatal("no session cookie after the login URL")
	}
}

func (b *browser) location() string {
	b.t.Helper()
	return run(b, chromedp.Location())
}

func (b *browser) open(url string) {
	b.t.Helper()
	b.do(chromedp.Navigate(url), chromedp.WaitReady(chromedp.CSS("footer")))
}

func (b *browser) attr(sel, name string) string {
	b.t.Helper()
	return run(b, chromedp.AttributeValue(chromedp.CSS(sel), name)).Value
}

func (b *browser) text(sel string) string {
	b.t.Helper()
	return run(b, chromedp.Text(chromedp.CSS(sel)))
}

func (b *browser) count(sel string) int {
	b.t.Helper()
	return run(b, chromedp.Evaluate[int](fmt.Sprintf(`document.querySelectorAll(%q).length`, sel)))
}

// screenshot keeps the whole page as test-artifacts/<test>/NN-name.png.
func (b *browser) screenshot(name string) string {
	b.t.Helper()
	// The page's body: as tall as its content, whatever the window.
	png := run(b, chromedp.Screenshot(chromedp.CSS("body")))
	b.shot++
	p := filepath.Join(b.dir, fmt.Sprintf("%02d-%s.png", b.shot, name))
	if err := os.WriteFile(p, png, 0o644); err != nil {
		b.t.Fatal(err)
	}
	return p
}

// TestConsoleBrowser runs `roomctl console` against a real MinIO holding three
// rooms that the real uploader filled, and checks each page in a real
// browser: the fleet's true state, a plot's points against the log lines,
// playback against `roomctl pull`, the tamper flag, and deletions with
// their confirmation and audit.
func TestConsoleBrowser(t *testing.T) {
	bin := roomctl(t)
	b := newBrowser(t) // before MinIO: a missing chromium fails (CI) or skips at once
	now := time.Now().UTC()
	f := buildFleet(t, now)
	tamperedKey := f.tamper(t, "103", f.rooms["103"].recorded)
	// Room 104 provisioned by the real roomctl (and mc), its kiosk never
	// installed; room 105 provisioned, then revoked: the audit records
	// roomctl writes are all the archive has of them.
	for _, args := range [][]string{
		{"provision", "104", "--apply", "--credentials-out", filepath.Join(t.TempDir(), "dev-104.toml")},
		{"provision", "105", "--apply", "--credentials-out", filepath.Join(t.TempDir(), "dev-105.toml")},
		{"revoke", "105"},
	} {
		cmd := exec.Command(bin, args...)
		cmd.Env = append(f.env, "ROOMCTL_MC="+testenv.Tool(t, "mc"))
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("roomctl %v: %v\n%s", args, err, out)
		}
	}
	base, login := startConsole(t, bin, f)

	t.Run("Fleet", func(t *testing.T) {
		b.t = t
		b.login(login) // lands on the fleet
		if u := b.location(); u != base {
			t.Errorf("after the login: %s, want %s", u, base)
		}
		for _, id := range []string{"101", "102", "103"} {
			rf := f.rooms[id]
			tile := "#tile-" + id
			door, stale := string(rf.door), "false"
			if rf.noStatus {
				door, stale = "unknown", "true"
			}
			if got := b.attr(tile, "data-door"); got != door {
				t.Errorf("room %s: door %q, want %q", id, got, door)
			}
			if got := b.attr(tile, "data-stale"); got != stale {
				t.Errorf("room %s: stale %q, want %s", id, got, stale)
			}
			if got, want := b.attr(tile, "data-recording"), strconv.FormatBool(rf.recording); got != want {
				t.Errorf("room %s: recording %q, want %s", id, got, want)
			}
			if got, want := b.attr(tile, "data-failing"), strings.Join(rf.failing, ","); got != want {
				t.Errorf("room %s: failing %q, want %q", id, got, want)
			}
		}
		if !strings.Contains(b.text("#tile-103"), "STALE") {
			t.Errorf("stale room not marked: %q", b.text("#tile-103"))
		}
		if !strings.Contains(b.text("#tile-102"), "Recording") || !strings.Contains(b.text("#tile-102"), "Humidity") {
			t.Errorf("room 102 tile: %q", b.text("#tile-102"))
		}
		if b.count(".tile") != 5 {
			t.Errorf("%d tiles, want 5", b.count(".tile"))
		}
		// The provisioned rooms no kiosk reported from.
		for id, revoked := range map[string]string{"104": "false", "105": "true"} {
			tile := "#tile-" + id
			if b.attr(tile, "data-never-seen") != "true" || b.attr(tile, "data-revoked") != revoked || b.attr(tile, "data-stale") != "false" {
				t.Errorf("room %s: never seen %q, revoked %q (want true, %s)", id, b.attr(tile, "data-never-seen"), b.attr(tile, "data-revoked"), revoked)
			}
			if !strings.Contains(b.text(tile), "NEVER SEEN") {
				t.Errorf("room %s tile: %q", id, b.text(tile))
			}
		}
		if !strings.Contains(b.text("#tile-105"), "REVOKED") || strings.Contains(b.text("#tile-104"), "REVOKED") {
			t.Errorf("revocation shown wrongly: 104 %q, 105 %q", b.text("#tile-104"), b.text("#tile-105"))
		}
		for _, id := range []string{"101", "102", "103"} {
			if b.attr("#tile-"+id, "data-never-seen") != "false" {
				t.Errorf("room %s that reported is marked never seen", id)
			}
		}
		// Plurals: five rooms, one tampered session.
		if s := b.text("#fleet-summary"); !strings.Contains(s, "5 rooms ·") || !strings.Contains(s, "· 1 stale · 2 never seen") || !strings.Contains(s, "1 tampered session") || strings.Contains(s, "sessions") || strings.Contains(s, "(s)") {
			t.Errorf("fleet summary: %q", s)
		}
		b.screenshot("fleet")
	})

	t.Run("RoomPlots", func(t *testing.T) {
		b.t = t
		lines := f.rooms["101"].runLines(t)
		// The log is the runner's own: a threshold on a day's first run
		// line only (the limits never changed), not on every line.
		named := 0
		for _, l := range lines {
			if l.threshold != "" {
				named++
			}
		}
		if named == 0 || named > 14 || len(lines) < 500 {
			t.Fatalf("%d of the %d run lines name the temperature threshold: not the runner's format", named, len(lines))
		}
		if lines[1].v != "27.3 °C" { // newest first
			t.Fatalf("room 101's last temperatures: %v, %v, %v", lines[2].v, lines[1].v, lines[0].v)
		}
		for _, rg := range []string{"24h", "7d", "30d"} {
			b.open(base + "room/101?range=" + rg)
			from, _ := strconv.ParseInt(b.attr("#charts", "data-from"), 10, 64)
			to, _ := strconv.ParseInt(b.attr("#charts", "data-to"), 10, 64)
			want := 0
			for _, l := range lines {
				if n := l.at.UnixNano(); n >= from && n < to {
					want++
				}
			}
			d := b.attr("#plot-temperature path.series", "d")
			got := len(regexp.MustCompile(`[ML]`).FindAllString(d, -1))
			if got != want || want == 0 {
				t.Errorf("range %s: temperature plot has %d points, the log %d lines in range", rg, got, want)
			}
			if th := b.count("#plot-temperature line.threshold"); th != 2 {
				t.Errorf("range %s: %d threshold lines on the temperature plot, want 2 (18 and 26 °C)", rg, th)
			}
			if got := run(b, chromedp.Evaluate[string](`Array.from(document.querySelectorAll("#plot-temperature line.threshold")).map(e => e.dataset.threshold).join(",")`)); got != "18,26" {
				t.Errorf("range %s: temperature thresholds at %q, want 18,26", rg, got)
			}
			// The sim board went 21.4 -> 23.9 -> 27.3 -> 21.4 °C in the
			// last rounds: the one point above 26 °C is marked, and no other.
			if n := b.count("#plot-temperature circle.bad"); n != 1 {
				t.Errorf("range %s: %d temperature points marked out of range, want 1 (27.3 °C)", rg, n)
			} else if v := b.attr("#plot-temperature circle.bad", "data-v"); v != "27.3" {
				t.Errorf("range %s: the marked point is %s °C, want 27.3", rg, v)
			}
			for _, id := range []string{"humidity", "light", "microphone_noise", "microphone_peak", "clock", "backlog"} {
				if b.count("#plot-"+id+" path.series") != 1 {
					t.Errorf("range %s: no %s plot", rg, id)
				}
			}
			if rg == "7d" {
				if !strings.Contains(b.text("#events"), "Humidity") {
					t.Errorf("fault timeline lacks the humidity fault: %q", b.text("#events"))
				}
				b.screenshot("room-101-7d")
			}
		}
		// The clock: one sign on the whole page, from the same
		// measurement: the header's words and the clock check's value.
		b.open(base + "room/101")
		head, val := b.text("#clock"), b.text(`#checks tr[data-check="clock"] td:nth-child(3)`)
		ms, _ := strconv.Atoi(b.attr("#clock", "data-ahead-ms"))
		num := strings.TrimPrefix(strings.Fields(val)[0], "+")
		want := map[bool]string{true: "ahead", false: "behind"}[ms > 0]
		switch {
		case ms >= -500 && ms <= 500: // within the Date header's resolution
			if head != "Device clock in step with storage (within 0.5 s)" || !strings.HasSuffix(val, "(device in step)") {
				t.Errorf("clock %d ms: header %q, check %q", ms, head, val)
			}
		case head != "Device clock "+want+" by "+strings.TrimPrefix(num, "-")+" s" || !strings.HasSuffix(val, "(device "+want+")") || (ms > 0) == strings.HasPrefix(num, "-"):
			t.Errorf("clock %d ms: header %q, check %q: not one sign", ms, head, val)
		}
		if b.text(`#checks tr[data-check="reported_problem"] td:first-child`) != "Reported problem" {
			t.Errorf("reported_problem shown as %q", b.text(`#checks tr[data-check="reported_problem"] td:first-child`))
		}
		b.open(base + "room/102")
		if !strings.Contains(b.attr(`#checks tr[data-check="humidity"]`, "class"), "st-abnormal") {
			t.Errorf("room 102: humidity not shown abnormal")
		}
		b.screenshot("room-102-24h")
	})

	t.Run("Play", func(t *testing.T) {
		b.t = t
		rf := f.rooms["101"]
		// roomctl pull's WAV, for comparison.
		wav := filepath.Join(t.TempDir(), "pulled.wav")
		cmd := exec.Command(bin, "pull", rf.recorded, "-i", f.keyFile, "-o", wav)
		cmd.Env = f.env
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("roomctl pull: %v\n%s", err, out)
		}
		want, err := os.ReadFile(wav)
		if err != nil {
			t.Fatal(err)
		}
		fh, _ := os.Open(wav)
		w, err := archive.ReadWAV(fh)
		fh.Close()
		if err != nil {
			t.Fatal(err)
		}
		wantDur := float64(len(w.PCM)) / float64(w.SampleRate*w.Channels*2)

		b.open(base + "session/101/" + rf.recorded)
		if got := b.text("#consent"); !strings.Contains(got, "rec-2026-01") {
			t.Errorf("consent record not decrypted: %q", got)
		}
		if b.count("#decisions tr") != 3 {
			t.Errorf("want two decisions in the consent table")
		}
		before := auditCount(t, f, "pull", rf.recorded)
		b.do(chromedp.Click(chromedp.CSS("#play")), chromedp.WaitVisible(chromedp.CSS("#audio")))
		// Wait for the browser to read the WAV's header.
		var dur float64
		for deadline := time.Now().Add(time.Minute); ; {
			dur = run(b, chromedp.Evaluate[float64](`(function(){var a=document.getElementById('audio'); return a.readyState>=1 ? a.duration : -1})()`))
			if dur >= 0 || time.Now().After(deadline) {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		if diff := dur - wantDur; diff > 0.001 || diff < -0.001 {
			t.Errorf("audio element duration %.4f s, the pulled WAV %.4f s", dur, wantDur)
		}
		if got := auditCount(t, f, "pull", rf.recorded); got != before+1 {
			t.Errorf("play audited %d times, want once", got-before)
		}
		b.screenshot("session-playing")

		// The bytes served, whole and in ranges, equal roomctl pull's WAV.
		src := b.attr("#audio", "src")
		audioURL := strings.TrimSuffix(base, "/") + src
		resp, got := get(t, audioURL, nil)
		if resp.StatusCode != 200 || sha256.Sum256(got) != sha256.Sum256(want) {
			t.Fatalf("served %d bytes (status %d), pull wrote %d: they differ", len(got), resp.StatusCode, len(want))
		}
		if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
			t.Errorf("audio Cache-Control %q, want no-store", cc)
		}
		resp, part := get(t, audioURL, map[string]string{"Range": "bytes=1000-4999"})
		if resp.StatusCode != http.StatusPartialContent || string(part) != string(want[1000:5000]) ||
			resp.Header.Get("Content-Range") != fmt.Sprintf("bytes 1000-4999/%d", len(want)) {
			t.Errorf("range request: status %d, %d bytes, Content-Range %q", resp.StatusCode, len(part), resp.Header.Get("Content-Range"))
		}

		// Download: the same WAV as an attachment, audited as a pull.
		before = auditCount(t, f, "pull", rf.recorded)
		page := base + "session/101/" + rf.recorded
		req, _ := http.NewRequest(http.MethodPost, page+"/download", strings.NewReader("csrf="+csrfOf(t, page)))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.AddCookie(consoleCookie)
		dl, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(dl.Body)
		dl.Body.Close()
		if err != nil || dl.StatusCode != 200 || !strings.HasPrefix(dl.Header.Get("Content-Disposition"), "attachment") ||
			dl.Header.Get("Cache-Control") != "no-store" || sha256.Sum256(body) != sha256.Sum256(want) {
			t.Errorf("download: status %d, %d bytes, %q, %q (%v)", dl.StatusCode, len(body), dl.Header.Get("Content-Disposition"), dl.Header.Get("Cache-Control"), err)
		}
		if got := auditCount(t, f, "pull", rf.recorded); got != before+1 {
			t.Errorf("download audited %d times, want once", got-before)
		}
	})

	t.Run("Sessions", func(t *testing.T) {
		b.t = t
		rf := f.rooms["102"]
		b.open(base + "sessions?room=102&since=&state=declined")
		if n := b.count("#sessions-table tr[data-session]"); n != 1 {
			t.Fatalf("declined sessions of room 102: %d rows, want 1", n)
		}
		row := `#sessions-table tr[data-session="` + rf.declined + `"]`
		if got := b.attr(row, "data-state"); got != "declined" || !strings.Contains(b.text(row), "4/5") {
			t.Errorf("declined session row: state %q, %q", got, b.text(row))
		}
		b.do(chromedp.Click(chromedp.CSS(row+" a.sid")), chromedp.WaitReady(chromedp.CSS("#facts")))
		if b.count("#play") != 0 || b.count("#consent") != 0 || b.text("#feedback") != "4/5" {
			t.Errorf("a declined session's page offers play or a consent record, or lacks its feedback")
		}
		b.open(base + "sessions?since=")
		if n := b.count("#sessions-table tr[data-session]"); n != 5 {
			t.Errorf("all sessions: %d rows, want 5", n)
		}
		b.screenshot("sessions")
	})

	t.Run("Tampered", func(t *testing.T) {
		b.t = t
		rf := f.rooms["103"]
		b.open(base + "sessions?room=103")
		if got := b.attr(`tr[data-session="`+rf.recorded+`"]`, "data-tampered"); got != "true" {
			t.Errorf("sessions list: tampered %q", got)
		}
		b.open(base)
		if got := b.attr("#tile-103", "data-tampered"); got != "1" {
			t.Errorf("fleet tile 103 tamper count %q, want 1", got)
		}
		b.open(base + "session/103/" + rf.recorded)
		if b.count("#tamper") != 1 {
			t.Errorf("session page shows no tamper warning")
		} else if w := b.text("#tamper"); !strings.Contains(w, path.Base(tamperedKey)) {
			t.Errorf("the tamper warning does not name %s: %q", path.Base(tamperedKey), w)
		}
		if b.count("#play") != 0 || b.count("#audio") != 0 {
			t.Errorf("a tampered session offers to play by default")
		}
		b.screenshot("session-tampered")
		// A plain play request (as the untampered page would send) is
		// refused by the reader, and the refusal audited.
		before := auditCount(t, f, "pull", rf.recorded)
		req, _ := http.NewRequest(http.MethodPost, base+"session/103/"+rf.recorded+"/play",
			strings.NewReader("csrf="+csrfOf(t, base+"session/103/"+rf.recorded)))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.AddCookie(consoleCookie)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadGateway || resp.Request.URL.Query().Get("play") != "" {
			t.Errorf("default play of a tampered session: status %d, %s", resp.StatusCode, resp.Request.URL)
		}
		if n := auditCount(t, f, "pull", rf.recorded); n != before+1 {
			t.Errorf("refused play audited %d times, want once", n-before)
		}
		// Explicitly, the original plays, and the audit says it was tampered.
		b.do(chromedp.Click(chromedp.CSS("#original")), chromedp.Click(chromedp.CSS("#play-original")), chromedp.WaitVisible(chromedp.CSS("#audio")))
		recs, err := admin.ReadAudit(f.ctx, f.cl, bucket)
		if err != nil {
			t.Fatal(err)
		}
		if last := recs[len(recs)-1]; last.Session != rf.recorded || last.Result != "ok" || !strings.Contains(last.Detail, "TAMPERED") {
			t.Errorf("original play audited as %+v", last)
		}
	})

	t.Run("Deletion", func(t *testing.T) {
		b.t = t
		rf := f.rooms["102"]
		rowOf := func(id string) string { return `#deletions tr[data-key="rooms/102/deletions/` + id + `.json"]` }
		requests := func() int {
			reqs, err := f.ar.DeletionRequests(f.ctx)
			if err != nil {
				t.Fatal(err)
			}
			return len(reqs)
		}
		b.open(base + "deletions")
		if got := b.attr(rowOf(rf.withdrawn), "class"); got != "valid" {
			t.Fatalf("withdrawn-with-delete request: class %q, want valid (verified)", got)
		}
		if got := b.attr(rowOf(rf.deleted), "class"); got != "suspicious" {
			t.Fatalf("request for a session never withdrawn: class %q, want suspicious", got)
		}
		b.screenshot("deletions")
		b.do(chromedp.Click(chromedp.CSS("#apply")), chromedp.WaitVisible(chromedp.CSS("#confirm-form")))
		if n := b.count("#removes > li"); n != 1 {
			t.Errorf("the confirmation lists %d requests, want the 1 verified", n)
		}
		b.screenshot("deletions-confirm")
		// Without the confirmation (the browser's own check taken away,
		// as a careless script would): refused, nothing deleted.
		b.do(chromedp.RemoveAttribute(chromedp.CSS("#confirm"), "required"),
			chromedp.Click(chromedp.CSS("#apply-confirmed")), chromedp.WaitVisible(chromedp.CSS("#error")))
		if n := requests(); n != 2 {
			t.Fatalf("after an unconfirmed apply: %d requests, want the 2 untouched", n)
		}
		if n := auditCount(t, f, "delete-session", rf.withdrawn); n != 0 {
			t.Fatalf("an unconfirmed apply was audited %d times", n)
		}
		// Confirmed: the verified one applied and audited, the suspicious
		// one left in place.
		b.do(chromedp.Click(chromedp.CSS("#confirm")), chromedp.Click(chromedp.CSS("#apply-confirmed")),
			chromedp.WaitVisible(chromedp.CSS("#outcomes")))
		b.screenshot("deletions-applied")
		if n := requests(); n != 1 {
			t.Errorf("after the apply: %d requests left, want the suspicious 1", n)
		}
		if n := auditCount(t, f, "delete-session", rf.withdrawn); n != 1 {
			t.Errorf("the verified deletion audited %d times, want once", n)
		}
		// The suspicious one, reviewed and confirmed by name.
		b.open(base + "deletions")
		b.do(chromedp.Click(chromedp.CSS(rowOf(rf.deleted)+" a.review")), chromedp.WaitVisible(chromedp.CSS("#confirm-form")))
		if n := b.count("#removes li.key"); n == 0 {
			t.Errorf("the suspicious session's confirmation lists nothing to remove")
		}
		b.do(chromedp.Click(chromedp.CSS("#confirm")), chromedp.Click(chromedp.CSS("#apply-confirmed")),
			chromedp.WaitVisible(chromedp.CSS("#outcomes")))
		if n := requests(); n != 0 {
			t.Errorf("after the reviewed apply: %d requests left", n)
		}
		recs, err := admin.ReadAudit(f.ctx, f.cl, bucket)
		if err != nil {
			t.Fatal(err)
		}
		applied := 0
		for _, r := range recs {
			if r.Action == "delete-session" && r.Session == rf.deleted && strings.HasPrefix(r.Result, "ok") && len(r.Objects) > 1 {
				applied++
			}
		}
		if applied != 1 {
			t.Errorf("the reviewed deletion audited as applied %d times, want once", applied)
		}
		rows, err := f.ar.Sessions(f.ctx, archive.Filter{Room: "102"})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			if (r.Session == rf.deleted || r.Session == rf.withdrawn) && r.State != archive.StateDeleted {
				t.Errorf("session %s after the apply: %q", r.Session, r.State)
			}
		}
		b.open(base + "audit")
		if b.count(`#audit tr[data-action="delete-session"][data-session="`+rf.withdrawn+`"]`) != 1 ||
			b.count(`#audit tr[data-action="pull"][data-session="`+f.rooms["101"].recorded+`"]`) < 1 {
			t.Errorf("audit page lacks the deletion or the play")
		}
		b.screenshot("audit")
	})

	t.Run("Chinese", func(t *testing.T) {
		b.t = t
		b.open(base)
		b.do(chromedp.Click(chromedp.CSS("#lang-zh")), chromedp.WaitReady(chromedp.CSS("footer")))
		if h := b.text("h1"); h != "全部房间" {
			t.Errorf("title in Chinese: %q", h)
		}
		if !strings.Contains(b.text("#tile-102"), "咨询中") {
			t.Errorf("tile 102 in Chinese: %q", b.text("#tile-102"))
		}
		b.screenshot("fleet-zh")
		b.open(base + "room/101?range=7d")
		b.screenshot("room-101-7d-zh")
		b.do(chromedp.Click(chromedp.CSS("#lang-en")), chromedp.WaitReady(chromedp.CSS("footer")))
	})

	t.Run("Guards", func(t *testing.T) {
		// Every page that carries session data is no-store.
		// The identity never leaves the process.
		for _, p := range []string{"", "room/101", "sessions", "session/101/" + f.rooms["101"].recorded, "deletions", "audit"} {
			resp, body := get(t, base+p, nil)
			if resp.StatusCode != 200 || resp.Header.Get("Cache-Control") != "no-store" {
				t.Errorf("/%s: status %d, Cache-Control %q", p, resp.StatusCode, resp.Header.Get("Cache-Control"))
			}
			if strings.Contains(strings.ToUpper(string(body)), "AGE-SECRET-KEY") || strings.Contains(string(body), f.keyFile) {
				t.Errorf("/%s shows the identity or its file", p)
			}
		}
		// A state-changing request without the form token, or from another
		// site, is refused and changes nothing.
		before := auditCount(t, f, "pull", f.rooms["101"].recorded)
		for name, hdr := range map[string]map[string]string{
			"no token":   {"Content-Type": "application/x-www-form-urlencoded"},
			"cross site": {"Content-Type": "application/x-www-form-urlencoded", "Sec-Fetch-Site": "cross-site"},
		} {
			body := ""
			if name == "cross site" {
				body = "csrf=" + csrfOf(t, base+"session/101/"+f.rooms["101"].recorded)
			}
			req, _ := http.NewRequest(http.MethodPost, base+"session/101/"+f.rooms["101"].recorded+"/play", strings.NewReader(body))
			for k, v := range hdr {
				req.Header.Set(k, v)
			}
			req.AddCookie(consoleCookie)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusForbidden {
				t.Errorf("%s: status %d, want 403", name, resp.StatusCode)
			}
		}
		// Without the session cookie (another local process): 401, even
		// with the page's form token.
		req, _ := http.NewRequest(http.MethodPost, base+"session/101/"+f.rooms["101"].recorded+"/play",
			strings.NewReader("csrf="+csrfOf(t, base+"session/101/"+f.rooms["101"].recorded)))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("play without the session cookie: %v %v", resp, err)
		}
		for _, p := range []string{"", "audit", "session/101/" + f.rooms["101"].recorded} {
			req, _ := http.NewRequest(http.MethodGet, base+p, nil)
			if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("/%s without the session cookie: %v %v", p, resp, err)
			}
		}
		// The login URL works once.
		if resp, _ := get(t, base+"?token=AAAA", nil); resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("a second login: %d", resp.StatusCode)
		}
		// The language switch goes back only to a page of this console.
		for _, back := range []string{"/\\evil.example/", "//evil.example/", "https://evil.example/"} {
			cl := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
			req, _ := http.NewRequest(http.MethodGet, base+"lang/en?back="+url.QueryEscape(back), nil)
			req.AddCookie(consoleCookie)
			resp, err := cl.Do(req)
			if err != nil || resp.Header.Get("Location") != "/" {
				t.Errorf("back=%s: %v %v", back, resp, err)
			}
		}
		if got := auditCount(t, f, "pull", f.rooms["101"].recorded); got != before {
			t.Errorf("refused requests pulled %d times", got-before)
		}
		// DNS rebinding: another host name for the loopback console.
		if resp, _ := get(t, base, map[string]string{"Host": "evil.example:8070"}); resp.StatusCode != http.StatusMisdirectedRequest {
			t.Errorf("foreign Host answered %d", resp.StatusCode)
		}
	})
}

var csrfRe = regexp.MustCompile(`name="csrf" value="([0-9a-f]+)"`)

func csrfOf(t *testing.T, url string) string {
	t.Helper()
	_, b := get(t, url, nil)
	m := csrfRe.FindSubmatch(b)
	if m == nil {
		t.Fatalf("no form token on %s", url)
	}
	return string(m[1])
}

// auditCount counts the audit records of action on session.
func auditCount(t *testing.T, f *fixture, action, session string) int {
	t.Helper()
	recs, err := admin.ReadAudit(f.ctx, f.cl, bucket)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, r := range recs {
		if r.Action == action && r.Session == session {
			n++
		}
	}
	return n
}
