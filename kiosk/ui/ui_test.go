package ui

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"roomkiosk/internal/room"
	"roomkiosk/internal/testenv"
	"roomkiosk/kiosk/internal/uitest"
)

var (
	fontsOnce sync.Once
	fonts     *Fonts
	fontsErr  error
)

func testFonts(t *testing.T) *Fonts {
	t.Helper()
	if _, err := os.Stat(DefaultCJKFont); err != nil {
		testenv.Missing(t, DefaultCJKFont+" (Debian package fonts-wqy-microhei)")
	}
	fontsOnce.Do(func() { fonts, fontsErr = LoadFonts(DefaultCJKFont) })
	if fontsErr != nil {
		t.Fatal(fontsErr)
	}
	return fonts
}

// allScenes builds every fixture in lang, plus the connecting and override
// scenes.
func allScenes(f *Fonts, lang string) map[string]*Scene {
	out := map[string]*Scene{}
	for _, c := range uitest.Cases(lang) {
		in := Input{Connected: true, Snap: c.Snap, Now: uitest.Now, Version: "1.2.3"}
		out[c.Name] = Build(f, in)
		if c.Name == "checklist-blocked" {
			in.Local.Override = true
			out["override"] = Build(f, in)
		}
		if c.Name == "consent" {
			in.Local = out[c.Name].Local
			in.Local.Scroll = 1000 // clamped to the last page
			out["consent-end"] = Build(f, in)
		}
	}
	out["connecting"] = Build(f, Input{Now: uitest.Now})
	return out
}

func TestCatalogsMatch(t *testing.T) {
	en, zh := catalogs["en"], catalogs["zh"]
	for k, v := range en {
		w, ok := zh[k]
		if !ok {
			t.Errorf("zh lacks %q", k)
			continue
		}
		if strings.TrimSpace(v) == "" || strings.TrimSpace(w) == "" {
			t.Errorf("%q is empty in a language", k)
		}
		if !reflect.DeepEqual(placeholders(v), placeholders(w)) {
			t.Errorf("%q: placeholders differ: en %v, zh %v", k, placeholders(v), placeholders(w))
		}
	}
	for k := range zh {
		if _, ok := en[k]; !ok {
			t.Errorf("en lacks %q", k)
		}
	}
}

func TestTranslate(t *testing.T) {
	tests := []struct {
		lang string
		m    Msg
		kv   []string
		want string
	}{
		{"en", "door.free", nil, "Free"},
		{"zh", "door.free", nil, "空闲"},
		{"fr", "door.free", nil, "Free"}, // unknown language: English
		{"en", "consent.title", []string{"n", "1", "total", "2"}, "Participant 1 of 2"},
		{"zh", "door.checks.bad", []string{"n", "3"}, "3 项检查需要处理"},
		{"en", "no.such.key", nil, "no.such.key"},
	}
	for _, tt := range tests {
		if got := T(tt.lang, tt.m, tt.kv...); got != tt.want {
			t.Errorf("T(%s, %s) = %q, want %q", tt.lang, tt.m, got, tt.want)
		}
	}
}

// TestEveryStringFitsItsBox lays out every scene in both languages, checks
// that every text line lies inside its box (measured again with the font
// faces), that catalog strings break only where their language allows (no
// Chinese or Latin word split across lines: sceneBreakProblems), and that
// together the scenes show every catalog string in both languages.
func TestEveryStringFitsItsBox(t *testing.T) {
	f := testFonts(t)
	for _, lang := range Languages {
		used := map[Msg]bool{}
		for name, sc := range allScenes(f, lang) {
			for _, o := range sc.Overflows {
				t.Errorf("%s/%s: %s", lang, name, o)
			}
			for _, p := range sceneBreakProblems(sc) {
				t.Errorf("%s/%s: %s", lang, name, p)
			}
			for _, e := range sc.Elements {
				if e.Kind != KindText {
					continue
				}
				face := f.face(e.Size, e.Bold)
				adv := face.advance(e.Text)
				ink := R(e.X, e.Y-e.Ascent, adv, e.Ascent+e.Descent)
				if !ink.Within(e.Box, 1) {
					if e.Clipped && ink.X >= e.Box.X-1 && ink.X+ink.W <= e.Box.X+e.Box.W+1 {
						continue // scrolled agreement lines: only the width is bounded
					}
					t.Errorf("%s/%s: %q at %.0fpx overflows its box: line %+v, box %+v", lang, name, e.Text, e.Size, ink, e.Box)
				}
				if !e.Box.Within(R(0, 0, Width, Height), 0.5) {
					t.Errorf("%s/%s: box of %q off screen: %+v", lang, name, e.Text, e.Box)
				}
			}
			for k := range sc.Used {
				used[k] = true
			}
		}
		for _, k := range Keys() {
			if !used[k] {
				t.Errorf("%s: catalog key %q is shown by no scene (add a fixture, or drop the key)", lang, k)
			}
		}
	}
}

func TestStableTargetIDs(t *testing.T) {
	f := testFonts(t)
	pin := []string{"pin-ok", "pin-back", "cancel"}
	for d := 0; d <= 9; d++ {
		pin = append(pin, fmt.Sprintf("pin-%d", d))
	}
	tests := []struct {
		scene, name string
		want, not   []string
	}{
		{"door", "door", []string{"start", "maintenance", "lang-en", "lang-zh"}, nil},
		{"door-out", "door", []string{"start", "maintenance", "lang-en", "lang-zh"}, nil},
		{"pin", "pin", pin, nil},
		{"end-pin", "end_pin", pin, nil},
		{"maintenance-pin", "maintenance_pin", pin, nil},
		{"checklist", "checklist", []string{"check-item-0", "check-item-1", "check-item-2", "check-continue", "cancel"}, []string{"check-override"}},
		{"checklist-blocked", "checklist", []string{"check-override", "check-continue"}, nil},
		{"override", "override", []string{"override-reason-1", "override-reason-2", "override-reason-3", "override-back"}, nil},
		{"participants", "participants", []string{"participants-1", "participants-2", "participants-3", "participants-4", "participants-5", "participants-6", "cancel"}, nil},
		{"record", "record_choice", []string{"record-yes", "record-no", "cancel"}, nil},
		{"consent", "consent", []string{"consent-yes", "consent-no", "lang-en", "lang-zh", "consent-scroll-up", "consent-scroll-down"}, []string{"cancel"}},
		{"session-recording", "in_session", []string{"withdraw", "end"}, nil},
		{"session-unrecorded", "in_session", []string{"end"}, []string{"withdraw"}},
		{"session-withdrawn", "in_session", []string{"end"}, []string{"withdraw"}},
		{"withdraw", "withdraw_choice", []string{"withdraw-keep", "withdraw-delete"}, nil},
		{"feedback", "feedback", []string{"feedback-1", "feedback-2", "feedback-3", "feedback-4", "feedback-5", "feedback-skip", "lang-en", "lang-zh"}, nil},
		{"maintenance", "maintenance", []string{"maintenance-back"}, nil},
		{"connecting", "connecting", nil, []string{"start"}},
	}
	for _, lang := range Languages {
		scenes := allScenes(f, lang)
		for _, tt := range tests {
			sc := scenes[tt.scene]
			if sc.Name != tt.name {
				t.Errorf("%s/%s: scene name %q, want %q", lang, tt.scene, sc.Name, tt.name)
			}
			for _, id := range tt.want {
				if _, ok := sc.Target(id); !ok {
					t.Errorf("%s/%s: no target %q", lang, tt.scene, id)
				}
			}
			for _, id := range tt.not {
				if _, ok := sc.Target(id); ok {
					t.Errorf("%s/%s: unexpected target %q", lang, tt.scene, id)
				}
			}
		}
	}
}

// TestTargetsAreTappable: every target is on screen, at least 44 px each
// way (a finger), and no two overlap, so a tap has one meaning.
func TestTargetsAreTappable(t *testing.T) {
	f := testFonts(t)
	for _, lang := range Languages {
		for name, sc := range allScenes(f, lang) {
			seen := map[string]bool{}
			for i, a := range sc.Targets {
				if seen[a.ID] {
					t.Errorf("%s/%s: id %q twice", lang, name, a.ID)
				}
				seen[a.ID] = true
				if !a.Rect.Within(R(0, 0, Width, Height), 0) {
					t.Errorf("%s/%s: %s off screen: %+v", lang, name, a.ID, a.Rect)
				}
				if a.Rect.W < 44 || a.Rect.H < 44 {
					t.Errorf("%s/%s: %s too small for a finger: %+v", lang, name, a.ID, a.Rect)
				}
				for _, b := range sc.Targets[i+1:] {
					if overlap(a.Rect, b.Rect) {
						t.Errorf("%s/%s: %s and %s overlap", lang, name, a.ID, b.ID)
					}
				}
				if a.Enabled && a.Intent == nil && a.Local == LocalNone {
					t.Errorf("%s/%s: %s does nothing", lang, name, a.ID)
				}
			}
		}
	}
}

func overlap(a, b Rect) bool {
	return a.X < b.X+b.W && b.X < a.X+a.W && a.Y < b.Y+b.H && b.Y < a.Y+a.H
}

func TestLanguageSwitchFollowsRoomLanguages(t *testing.T) {
	f := testFonts(t)
	snap := uitest.Cases("en")[0].Snap
	snap.Languages = []string{"en"}
	sc := Build(f, Input{Connected: true, Snap: snap, Now: uitest.Now})
	for _, id := range []string{"lang-en", "lang-zh"} {
		if _, ok := sc.Target(id); ok {
			t.Errorf("a one-language room shows %s", id)
		}
	}
}

func TestConsentSendsHashOfShownText(t *testing.T) {
	f := testFonts(t)
	tests := []struct {
		name     string
		lang     string
		texts    map[string]string
		wantLang string
		wantText string
	}{
		{"english", "en", map[string]string{"en": uitest.AgreementEN, "zh": uitest.AgreementZH}, "en", uitest.AgreementEN},
		{"chinese", "zh", map[string]string{"en": uitest.AgreementEN, "zh": uitest.AgreementZH}, "zh", uitest.AgreementZH},
		{"zh missing: english shown and sent", "zh", map[string]string{"en": uitest.AgreementEN}, "en", uitest.AgreementEN},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var snap room.Snapshot
			for _, c := range uitest.Cases(tt.lang) {
				if c.Name == "consent" {
					snap = c.Snap
				}
			}
			snap.Agreement.Texts = tt.texts
			sc := Build(f, Input{Connected: true, Snap: snap, Now: uitest.Now})
			for _, id := range []string{"consent-yes", "consent-no"} {
				tg, ok := sc.Target(id)
				if !ok {
					t.Fatalf("no %s", id)
				}
				in := tg.Intent
				if in.Kind != room.IntentConsent || in.Participant != snap.ConsentTurn || in.Yes != (id == "consent-yes") {
					t.Errorf("%s: intent %+v", id, in)
				}
				if in.Language != tt.wantLang || in.TextSHA256 != room.TextSHA256(tt.wantText) {
					t.Errorf("%s: language %q hash %s, want %q %s", id, in.Language, in.TextSHA256, tt.wantLang, room.TextSHA256(tt.wantText))
				}
			}
			// The first words of the text hashed are the first words shown.
			first := strings.Fields(Reflow(tt.wantText))[0]
			if !slices.ContainsFunc(sc.Texts(), func(s string) bool { return strings.HasPrefix(s, first) }) {
				t.Errorf("text shown does not start with %q: %q", first, sc.Texts())
			}
		})
	}
}

func TestAgreementScrolls(t *testing.T) {
	f := testFonts(t)
	var snap room.Snapshot
	for _, c := range uitest.Cases("en") {
		if c.Name == "consent" {
			snap = c.Snap
		}
	}
	in := Input{Connected: true, Snap: snap, Now: uitest.Now}
	first := Build(f, in)
	if up, _ := first.Target("consent-scroll-up"); up.Enabled {
		t.Error("scroll up enabled on the first page")
	}
	down, _ := first.Target("consent-scroll-down")
	if !down.Enabled {
		t.Fatal("scroll down disabled although the text is longer than the box")
	}
	in.Local = first.Local
	in.Local.Apply(down.Local, first.Page)
	second := Build(f, in)
	if slices.Equal(first.Texts(), second.Texts()) {
		t.Error("scrolling changed nothing")
	}
	// A new turn starts at the top again.
	in.Local = second.Local
	in.Snap.ConsentTurn = 1
	if third := Build(f, in); third.Local.Scroll != 0 {
		t.Errorf("scroll %d on a new turn, want 0", third.Local.Scroll)
	}
}

func TestPINLockout(t *testing.T) {
	f := testFonts(t)
	for _, c := range uitest.Cases("en") {
		if c.Name != "pin-locked" {
			continue
		}
		sc := Build(f, Input{Connected: true, Snap: c.Snap, Now: uitest.Now})
		if !sc.Locked {
			t.Error("not locked")
		}
		for _, id := range []string{"pin-1", "pin-0", "pin-ok"} {
			if tg, _ := sc.Target(id); tg.Enabled {
				t.Errorf("%s enabled during lockout", id)
			}
		}
		if tg, _ := sc.Target("cancel"); !tg.Enabled {
			t.Error("cancel disabled during lockout")
		}
		if !strings.Contains(strings.Join(sc.Texts(), " "), "4:31") {
			t.Errorf("remaining time not shown: %q", sc.Texts())
		}
		if d := sc.NextChange.Sub(uitest.Now); d <= 0 || d > time.Second {
			t.Errorf("next change in %v, want within a second", d)
		}
		after := Build(f, Input{Connected: true, Snap: c.Snap, Now: c.Snap.LockedUntil})
		if after.Locked {
			t.Error("still locked when the lockout has passed")
		}
	}
}

func TestDoorRebuildsOnlyWhenTheMinuteChanges(t *testing.T) {
	f := testFonts(t)
	snap := uitest.Cases("en")[0].Snap
	sc := Build(f, Input{Connected: true, Snap: snap, Now: uitest.Now})
	want := uitest.Now.Truncate(time.Minute).Add(time.Minute)
	if !sc.NextChange.Equal(want) {
		t.Errorf("next change %v, want %v", sc.NextChange, want)
	}
	if !slices.Contains(sc.Texts(), "14:07") {
		t.Errorf("time of day not shown: %q", sc.Texts())
	}
}

func TestPrivacyFollowsRecorder(t *testing.T) {
	f := testFonts(t)
	for _, c := range uitest.Cases("en") {
		if !strings.HasPrefix(c.Name, "session-") {
			continue
		}
		texts := strings.Join(Build(f, Input{Connected: true, Snap: c.Snap, Now: uitest.Now}).Texts(), "|")
		rec := strings.Contains(texts, "|Recording|") || strings.HasPrefix(texts, "Recording|")
		if rec != c.Snap.Recording {
			t.Errorf("%s: shows Recording=%v, recorder says %v: %s", c.Name, rec, c.Snap.Recording, texts)
		}
	}
}

func TestWrap(t *testing.T) {
	f := testFonts(t)
	tests := []struct {
		name string
		s    string
		w    float64
	}{
		{"latin", "Each person present must agree before recording starts.", 200},
		{"cjk", "录音开始前，在场的每一位来访者都必须同意。您可以随时点击停止录音。", 150},
		{"mixed", "录音同意书（版本 rec-2026-01）为保障服务质量", 120},
		{"long word", "Supercalifragilisticexpialidocious", 100},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lines := f.Wrap(tt.s, tt.w, 20, false)
			joined := strings.Join(lines, "")
			if strings.ReplaceAll(joined, " ", "") != strings.ReplaceAll(tt.s, " ", "") {
				t.Errorf("text changed: %q", lines)
			}
			for _, l := range lines {
				if adv := f.face(20, false).advance(l); adv > tt.w+0.5 {
					t.Errorf("line %q is %.1f wide, box %.0f", l, adv, tt.w)
				}
				if r := []rune(l); len(r) > 0 && closing(r[0]) {
					t.Errorf("line starts with closing punctuation: %q", l)
				}
			}
			if len(lines) < 2 {
				t.Errorf("expected wrapping, got %q", lines)
			}
		})
	}
}

func TestReflow(t *testing.T) {
	tests := []struct{ in, want string }{
		{"a b\nc d\n\ne f\n", "a b c d\n\ne f"},
		{"录音在本设备上即时加密，\n只有机构授权的管理员", "录音在本设备上即时加密，只有机构授权的管理员"},
		{"\n\n  x  \n\n\n\ny\n", "x\n\ny"},
	}
	for _, tt := range tests {
		if got := Reflow(tt.in); got != tt.want {
			t.Errorf("Reflow(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestLoadFontsNamesMissingFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "none.ttc")
	_, err := LoadFonts(p)
	if err == nil || !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), "fonts-wqy-microhei") {
		t.Fatalf("error %v should name %s and the Debian package", err, p)
	}
}

// fakeConn is an in-memory connection.
type fakeConn struct {
	ch     chan room.Snapshot
	mu     sync.Mutex
	sent   []room.Intent
	closed bool
}

func (c *fakeConn) Snapshots() <-chan room.Snapshot { return c.ch }
func (c *fakeConn) Send(_ context.Context, in room.Intent) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sent = append(c.sent, in)
	return nil
}
func (c *fakeConn) Close() { c.mu.Lock(); c.closed = true; c.mu.Unlock() }

func TestLinkReconnects(t *testing.T) {
	conns := make(chan *fakeConn, 4)
	fails := 2
	var mu sync.Mutex
	dial := func(ctx context.Context) (Conn, error) {
		mu.Lock()
		defer mu.Unlock()
		if fails > 0 {
			fails--
			return nil, errors.New("connection refused")
		}
		c := &fakeConn{ch: make(chan room.Snapshot, 1)}
		conns <- c
		return c, nil
	}
	changes := make(chan struct{}, 100)
	l := NewLink(dial, func() { changes <- struct{}{} })
	l.minWait, l.maxWait = time.Millisecond, 4*time.Millisecond
	if err := l.Send(context.Background(), room.Intent{Kind: room.IntentStart}); !errors.Is(err, ErrNotConnected) {
		t.Fatalf("send before connecting: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { l.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()

	wait := func(want func(room.Snapshot, bool) bool) {
		t.Helper()
		deadline := time.After(5 * time.Second)
		for {
			s, ok, _ := l.State()
			if want(s, ok) {
				return
			}
			select {
			case <-changes:
			case <-deadline:
				t.Fatalf("state not reached; have %+v connected=%v", s.Step, ok)
			}
		}
	}
	c1 := <-conns
	c1.ch <- room.Snapshot{Seq: 1, Step: room.StepConsent}
	wait(func(s room.Snapshot, ok bool) bool { return ok && s.Seq == 1 })
	if err := l.Send(context.Background(), room.Intent{Kind: room.IntentWithdraw}); err != nil {
		t.Fatal(err)
	}
	// The daemon restarts: the screen shows "connecting", then the same
	// scene from the new daemon's first snapshot.
	close(c1.ch)
	wait(func(s room.Snapshot, ok bool) bool { return !ok })
	c2 := <-conns
	c2.ch <- room.Snapshot{Seq: 2, Step: room.StepConsent}
	wait(func(s room.Snapshot, ok bool) bool { return ok && s.Seq == 2 })
	c1.mu.Lock()
	if !c1.closed || len(c1.sent) != 1 {
		t.Errorf("first connection: closed %v, sent %v", c1.closed, c1.sent)
	}
	c1.mu.Unlock()
}

func TestViewServerIsReadOnly(t *testing.T) {
	f := testFonts(t)
	vs := &ViewServer{}
	srv := httptest.NewServer(vs)
	defer srv.Close()
	snap := uitest.Cases("zh")[0].Snap
	in := Input{Connected: true, Snap: snap, Now: uitest.Now}
	sc := Build(f, in)
	vs.Publish(NewView(sc, in, R(0, 0, 1600, 960), 2, 0, 0, 1, 0))

	res, err := http.Get(srv.URL + "/ui")
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		Scene    string `json:"scene"`
		Language string `json:"language"`
		Targets  []struct {
			ID   string         `json:"id"`
			Rect map[string]int `json:"rect"`
		} `json:"targets"`
	}
	if err := json.NewDecoder(res.Body).Decode(&v); err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if v.Scene != "door" || v.Language != "zh" || len(v.Targets) == 0 {
		t.Fatalf("view %+v", v)
	}
	start, _ := sc.Target("start")
	for _, tg := range v.Targets {
		if tg.ID == "start" && tg.Rect["x"] != int(start.Rect.X*2+0.5) {
			t.Errorf("start rect %v not scaled to window pixels (logical %+v)", tg.Rect, start.Rect)
		}
	}
	for _, m := range []string{http.MethodPost, http.MethodPut, http.MethodDelete} {
		req, _ := http.NewRequest(m, srv.URL+"/ui", strings.NewReader(`{"id":"start"}`))
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("%s /ui: %d, want 405", m, res.StatusCode)
		}
	}
}
