package ui

import (
	"testing"

	"roomkiosk/internal/room"
)

// TestOverrideSendsReasonCodes (issue 13 item 4): the override screen offers
// exactly the fixed reason codes, each labelled in both languages, and a tap
// sends the code, never a label (which the daemon would refuse).
func TestOverrideSendsReasonCodes(t *testing.T) {
	f := testFonts(t)
	for _, lang := range Languages {
		sc := allScenes(f, lang)["override"]
		var sent []string
		for _, tg := range sc.Targets {
			if tg.Intent != nil && tg.Intent.Kind == room.IntentCheckOverride {
				if !room.ValidOverrideReason(tg.Intent.Reason) {
					t.Errorf("%s: %s sends reason %q, not a code", lang, tg.ID, tg.Intent.Reason)
				}
				sent = append(sent, tg.Intent.Reason)
			}
		}
		want := room.OverrideReasons()
		if len(sent) != len(want) {
			t.Fatalf("%s: reasons offered %q, want %q", lang, sent, want)
		}
		for i := range want {
			if sent[i] != want[i] {
				t.Errorf("%s: reason %d is %q, want %q", lang, i+1, sent[i], want[i])
			}
			m := Msg("override.reason." + want[i])
			if !Has(m) || !sc.Used[m] {
				t.Errorf("%s: code %q has no label shown (%s)", lang, want[i], m)
			}
		}
	}
}
