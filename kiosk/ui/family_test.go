package ui

import (
	"slices"
	"strings"
	"testing"

	"roomkiosk/internal/room"
	"roomkiosk/kiosk/internal/uitest"
)

func fixture(t *testing.T, lang, name string) room.Snapshot {
	t.Helper()
	for _, c := range uitest.Cases(lang) {
		if c.Name == name {
			return c.Snap
		}
	}
	t.Fatalf("no fixture %q", name)
	return room.Snapshot{}
}

// TestFamilyParticipants: the counselor sets the children, then taps the
// adults; the intent carries both counts, and 0 adults is offered only
// with a child (the core then says it cannot be recorded).
func TestFamilyParticipants(t *testing.T) {
	f := testFonts(t)
	in := Input{Connected: true, Snap: fixture(t, "en", "participants-family"), Now: uitest.Now}
	sc := Build(f, in)
	if tg, _ := sc.Target("participants-0"); tg.Enabled {
		t.Fatal("0 adults and 0 children offered")
	}
	if tg, _ := sc.Target("participants-2"); !tg.Enabled || tg.Intent.Count != 2 || tg.Intent.Children != 0 {
		t.Fatalf("2 adults, no children: %+v", tg.Intent)
	}
	if less, _ := sc.Target("children-less"); less.Enabled {
		t.Fatal("fewer than 0 children offered")
	}
	more, _ := sc.Target("children-more")
	in.Local = sc.Local
	in.Local.Apply(more.Local, 0)
	sc = Build(f, in)
	if tg, _ := sc.Target("participants-2"); !tg.Enabled || tg.Intent.Count != 3 || tg.Intent.Children != 1 {
		t.Fatalf("2 adults, 1 child: %+v", tg.Intent)
	}
	if tg, _ := sc.Target("participants-0"); !tg.Enabled || tg.Intent.Count != 1 || tg.Intent.Children != 1 {
		t.Fatalf("a child alone: %+v enabled %v", tg.Intent, tg.Enabled)
	}
	if tg, _ := sc.Target("participants-6"); tg.Enabled {
		t.Fatal("6 adults and a child offered: more than the maximum")
	}
	if !slices.ContainsFunc(sc.Texts(), func(s string) bool { return strings.Contains(s, "under 14") }) {
		t.Errorf("the minor age is not shown: %q", sc.Texts())
	}
	// After the session the count starts again from none.
	in.Local = sc.Local
	in.Snap.Step = room.StepDoor
	if sc = Build(f, in); sc.Local.Children != 0 {
		t.Fatalf("children %d kept after the participants screen", sc.Local.Children)
	}
}

// TestFamilyConsentScreens: the guardian and the child each see their own
// text, and the intent names the role and the hash of that text.
func TestFamilyConsentScreens(t *testing.T) {
	f := testFonts(t)
	for _, lang := range Languages {
		for _, tt := range []struct {
			fixture, role, text, yes string
		}{
			{"consent-family-adult", room.RoleAdult, map[string]string{"en": uitest.AgreementEN, "zh": uitest.AgreementZH}[lang], T(lang, "consent.yes")},
			{"consent-guardian", room.RoleGuardian(1), map[string]string{"en": uitest.GuardianEN, "zh": uitest.GuardianZH}[lang], T(lang, "consent.guardian.yes")},
			{"consent-assent", room.RoleAssent(1), map[string]string{"en": uitest.AssentEN, "zh": uitest.AssentZH}[lang], T(lang, "assent.yes")},
		} {
			snap := fixture(t, lang, tt.fixture)
			sc := Build(f, Input{Connected: true, Snap: snap, Now: uitest.Now})
			for _, id := range []string{"consent-yes", "consent-no"} {
				tg, _ := sc.Target(id)
				if in := tg.Intent; in == nil || in.Role != tt.role || in.TextSHA256 != room.TextSHA256(tt.text) || in.Language != lang || in.Participant != snap.ConsentTurn {
					t.Errorf("%s/%s %s: intent %+v", lang, tt.fixture, id, tg.Intent)
				}
			}
			if yes, _ := sc.Target("consent-yes"); yes.Enabled && !slices.Contains(sc.Texts(), tt.yes) {
				t.Errorf("%s/%s: no %q button: %q", lang, tt.fixture, tt.yes, sc.Texts())
			}
			first := strings.Fields(Reflow(tt.text))[0]
			if !slices.ContainsFunc(sc.Texts(), func(s string) bool { return strings.HasPrefix(s, first) }) {
				t.Errorf("%s/%s: the text shown does not start with %q", lang, tt.fixture, first)
			}
		}
	}
}

// TestHeldChoiceAsksTheGuardian: a held recording's keep-or-delete screen
// (after a restart, opened from the maintenance screen; the core publishes
// no session then, only the held recording's children count) says the
// same as the session's own withdraw screen: the guardian's wording for a
// family session, the ordinary one otherwise.
func TestHeldChoiceAsksTheGuardian(t *testing.T) {
	f := testFonts(t)
	for _, lang := range Languages {
		for _, children := range []int{0, 1, 2} {
			own := fixture(t, lang, "withdraw-family")
			own.Children = children
			held := fixture(t, lang, "maintenance-held")
			held.Step, held.Children = room.StepHeldChoice, children
			want := Build(f, Input{Connected: true, Snap: own, Now: uitest.Now})
			got := Build(f, Input{Connected: true, Snap: held, Now: uitest.Now})
			if family := children > 0; got.Used["withdraw.sub.family"] != family || got.Used["withdraw.sub"] == family {
				t.Errorf("%s, %d children: held choice used %v", lang, children, got.Used)
			}
			if !slices.Equal(got.Texts(), want.Texts()) {
				t.Errorf("%s, %d children: held choice says %q, the session's own %q", lang, children, got.Texts(), want.Texts())
			}
		}
	}
}
