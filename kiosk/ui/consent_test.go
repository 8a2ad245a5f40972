package ui

import (
	"testing"

	"roomkiosk/kiosk/internal/uitest"
)

// TestAgreeNeedsEveryPageSeen (issue 13 item 7): on an agreement of several
// pages "I agree" stays disabled until the last page has been on screen, in
// the language shown; scrolling back keeps it enabled; another language
// starts again; the intent says how many pages there were and were seen.
func TestAgreeNeedsEveryPageSeen(t *testing.T) {
	f := testFonts(t)
	// The adult's agreement and the child's assent (issue 24) alike.
	for _, fixture := range []string{"consent-long", "consent-assent-long"} {
		for _, lang := range Languages {
			t.Run(fixture+"/"+lang, func(t *testing.T) {
				var in Input
				for _, c := range uitest.Cases(lang) {
					if c.Name == fixture {
						in = Input{Connected: true, Snap: c.Snap, Now: uitest.Now}
					}
				}
				sc := Build(f, in)
				if sc.Pages < 3 {
					t.Fatalf("the long agreement has %d pages, want at least 3", sc.Pages)
				}
				pages := sc.Pages
				for page := 1; page <= pages; page++ {
					yes, _ := sc.Target("consent-yes")
					no, _ := sc.Target("consent-no")
					if sc.PagesSeen != page || yes.Intent.PagesSeen != page || yes.Intent.Pages != pages || no.Intent.PagesSeen != page {
						t.Fatalf("page %d: scene says %d/%d seen, intents %+v %+v", page, sc.PagesSeen, sc.Pages, yes.Intent, no.Intent)
					}
					if yes.Enabled != (page == pages) {
						t.Fatalf("page %d of %d: I agree enabled = %v", page, pages, yes.Enabled)
					}
					if !no.Enabled {
						t.Fatalf("page %d: I do not agree disabled; declining needs no reading", page)
					}
					down, _ := sc.Target("consent-scroll-down")
					in.Local = sc.Local
					in.Local.Apply(down.Local, sc.Page)
					sc = Build(f, in)
				}
				// Back to the top: still read.
				in.Local = sc.Local
				in.Local.Apply(LocalScrollUp, 1000)
				sc = Build(f, in)
				if yes, _ := sc.Target("consent-yes"); !yes.Enabled || sc.Local.Scroll != 0 || yes.Intent.PagesSeen != pages {
					t.Fatalf("back on page 1 after reading all: enabled=%v scroll=%d seen=%d", yes.Enabled, sc.Local.Scroll, yes.Intent.PagesSeen)
				}
				// The other language: its pages have not been seen.
				other := "zh"
				if lang == "zh" {
					other = "en"
				}
				in.Local = sc.Local
				in.Snap.Language = other
				sc = Build(f, in)
				if yes, _ := sc.Target("consent-yes"); yes.Enabled || sc.PagesSeen != 1 {
					t.Fatalf("after switching to %s: enabled=%v seen=%d", other, yes.Enabled, sc.PagesSeen)
				}
			})
		}
	}
}

// TestShortAgreementAgreeAtOnce: an agreement that fits one page needs no
// scrolling.
func TestShortAgreementAgreeAtOnce(t *testing.T) {
	f := testFonts(t)
	for _, c := range uitest.Cases("en") {
		if c.Name != "consent" {
			continue
		}
		c.Snap.Agreement.Texts = map[string]string{"en": "Short agreement.", "zh": "简短的同意书。"}
		sc := Build(f, Input{Connected: true, Snap: c.Snap, Now: uitest.Now})
		if yes, _ := sc.Target("consent-yes"); !yes.Enabled || yes.Intent.Pages != 1 || yes.Intent.PagesSeen != 1 {
			t.Fatalf("one-page agreement: %+v enabled=%v", yes.Intent, yes.Enabled)
		}
	}
}
