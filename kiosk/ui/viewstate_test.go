package ui

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"roomkiosk/kiosk/internal/uitest"
)

// TestViewSaysWhereTheFlowStands (issue 13 item 8): /ui tells a driver how
// many PIN digits are entered (never which), whose consent turn it is (n of
// m) and the session id, as well as the agreement's pages.
func TestViewSaysWhereTheFlowStands(t *testing.T) {
	f := testFonts(t)
	vs := &ViewServer{}
	srv := httptest.NewServer(vs)
	defer srv.Close()
	get := func(name string) map[string]any {
		t.Helper()
		for _, c := range uitest.Cases("en") {
			if c.Name != name {
				continue
			}
			in := Input{Connected: true, Snap: c.Snap, Now: uitest.Now}
			vs.Publish(NewView(Build(f, in), in, R(0, 0, Width, Height), 1, 0, 0, 1, 0))
			res, err := http.Get(srv.URL + "/ui")
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			var v map[string]any
			if err := json.NewDecoder(res.Body).Decode(&v); err != nil {
				t.Fatal(err)
			}
			return v
		}
		t.Fatalf("no fixture %s", name)
		return nil
	}
	pin := get("pin")
	if pin["pin_digits"] != 3.0 || pin["scene"] != "pin" {
		t.Errorf("pin: pin_digits %v, want 3", pin["pin_digits"])
	}
	raw, _ := json.Marshal(pin)
	for _, d := range []string{"\"digits\"", "1234"} {
		if strings.Contains(string(raw), d) {
			t.Errorf("/ui holds %s: %s", d, raw)
		}
	}
	if v := get("pin-checking"); v["pin_checking"] != true || !slices.Contains(v["texts"].([]any), any("Checking…")) {
		t.Errorf("pin-checking: %v %v", v["pin_checking"], v["texts"])
	}
	c := get("consent")
	if c["consent_turn"] != 2.0 || c["consent_of"] != 2.0 || c["session_id"] != "20260312T135130Z-3fa9c1" {
		t.Errorf("consent: turn %v of %v, session %v; want 2 of 2, 20260312T135130Z-3fa9c1", c["consent_turn"], c["consent_of"], c["session_id"])
	}
	long := get("consent-long")
	if long["pages"].(float64) < 3 || long["pages_seen"] != 1.0 || long["consent_turn"] != 1.0 {
		t.Errorf("consent-long: pages %v seen %v turn %v", long["pages"], long["pages_seen"], long["consent_turn"])
	}
	door := get("door")
	if _, ok := door["consent_turn"]; ok || door["pin_digits"] != 0.0 {
		t.Errorf("door: %v", door)
	}
	if s := get("session-recording"); s["session_id"] != "20260312T135130Z-3fa9c1" {
		t.Errorf("in session: session_id %v", s["session_id"])
	}
}

// TestPINCheckingShowsAndLocksThePad (issue 13 item 7): while the daemon
// checks the PIN the pad says "Checking…", OK stays lit as pressed and no
// key takes input; the picture differs from the pad before OK.
func TestPINCheckingShowsAndLocksThePad(t *testing.T) {
	f := testFonts(t)
	for _, lang := range Languages {
		scenes := allScenes(f, lang)
		sc, before := scenes["pin-checking"], scenes["pin"]
		if !sc.Used["pin.checking"] {
			t.Errorf("%s: no checking message: %q", lang, sc.Texts())
		}
		for _, tg := range sc.Targets {
			if tg.Enabled && tg.ID != "cancel" {
				t.Errorf("%s: %s takes input while the PIN is checked", lang, tg.ID)
			}
		}
		if sc.SamePicture(before) {
			t.Errorf("%s: checking looks like the pad before OK", lang)
		}
	}
}
