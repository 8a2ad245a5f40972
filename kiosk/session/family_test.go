package session_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"roomkiosk/internal/room"
	"roomkiosk/kiosk/session"
	"roomkiosk/kiosk/session/sessiontest"
)

// The guardian agreement and the child's assent of the family tests.
var (
	guardianTexts = map[string]string{
		"en": "Guardian agreement v1. I am this child's parent or legal guardian and I agree that the session is recorded.",
		"zh": "监护人同意书 v1。我是这名儿童的父母或法定监护人，我同意录音。",
	}
	assentTexts = map[string]string{
		"en": "Is it OK if we record what we say today? You can say no. You can stop it any time.",
		"zh": "我们可以录下今天说的话吗？你可以说不。你随时可以叫停。",
	}
)

// familyConfig is testConfig with the guardian and assent texts.
func familyConfig() session.Config {
	cfg := testConfig()
	cfg.Consent = session.ConsentConfig{
		MinorAge: 14,
		Guardian: session.AgreementConfig{ID: "guardian-1", Texts: guardianTexts},
		Assent:   session.AgreementConfig{ID: "assent-1", Texts: assentTexts},
	}
	return cfg
}

// roleTexts returns the texts a role answers.
func roleTexts(role string) map[string]string {
	switch k, _, _ := room.ParseRole(role); k {
	case "guardian":
		return guardianTexts
	case "assent":
		return assentTexts
	}
	return texts
}

// roleConsent is the screen's consent intent for turn p answered by role,
// in English.
func roleConsent(p int, role string, yes bool) room.Intent {
	return room.Intent{Kind: room.IntentConsent, Participant: p, Yes: yes, Language: "en", Role: role,
		TextSHA256: room.TextSHA256(roleTexts(role)["en"])}
}

// familyTurns answers every turn of a session with these counts with yes,
// except the turns in no.
func familyTurns(adults, children int, no ...int) []room.Intent {
	var out []room.Intent
	for p := 1; p <= room.ConsentTurns(adults, children); p++ {
		role, _ := room.TurnRole(adults, children, p)
		out = append(out, roleConsent(p, role, !slices.Contains(no, p)))
		if slices.Contains(no, p) {
			break
		}
	}
	return out
}

func toFamilyConsent(adults, children int) []room.Intent {
	return cat(toParticipants, room.Intent{Kind: room.IntentParticipants, Count: adults + children, Children: children},
		room.Intent{Kind: room.IntentRecord, Yes: true})
}

func TestTurnRoles(t *testing.T) {
	var got []string
	for p := 1; p <= room.ConsentTurns(2, 2); p++ {
		r, _ := room.TurnRole(2, 2, p)
		got = append(got, r)
		if k, _, ok := room.ParseRole(r); !ok || k == "" {
			t.Errorf("ParseRole(%q) fails", r)
		}
	}
	want := []string{"adult", "adult", "guardian-of-child-1", "child-1-assent", "guardian-of-child-2", "child-2-assent"}
	if !slices.Equal(got, want) {
		t.Fatalf("turn roles %v, want %v", got, want)
	}
	for _, bad := range []string{"", "child", "guardian-of-child-0", "child-01-assent", "child-x-assent", "guardian-of-child-7", "Adult"} {
		if _, _, ok := room.ParseRole(bad); ok {
			t.Errorf("ParseRole(%q) accepted", bad)
		}
	}
	if r, _ := room.TurnRole(2, 2, 7); r != "" {
		t.Errorf("turn 7 of 6 has role %q", r)
	}
}

// TestFamilySession walks the consent rule for children: every adult, then
// for each child a guardian's agreement and the child's own assent.
func TestFamilySession(t *testing.T) {
	tests := []struct {
		name             string
		adults, children int
		no               []int // turns that say no
		recorded         bool
		notice           string
	}{
		{"2 adults 1 child all yes", 2, 1, nil, true, ""},
		{"1 adult 2 children all yes", 1, 2, nil, true, ""},
		{"child says no", 2, 1, []int{4}, false, room.NoticeNotRecordedDeclined},
		{"guardian says no", 2, 1, []int{3}, false, room.NoticeNotRecordedDeclined},
		{"second child says no after the first said yes", 1, 2, []int{5}, false, room.NoticeNotRecordedDeclined},
		{"adult says no", 2, 1, []int{2}, false, room.NoticeNotRecordedDeclined},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, familyConfig(), true)
			h.must(toFamilyConsent(tt.adults, tt.children)...)
			s := h.snap()
			if s.Children != tt.children || s.Participants != tt.adults+tt.children || s.ConsentRole != room.RoleAdult ||
				s.ConsentTurns != room.ConsentTurns(tt.adults, tt.children) || s.MinorAge != 14 || s.Assent == nil || s.Guardian == nil {
				t.Fatalf("consent screen snapshot: children %d participants %d role %q turns %d minor %d", s.Children, s.Participants, s.ConsentRole, s.ConsentTurns, s.MinorAge)
			}
			for _, in := range familyTurns(tt.adults, tt.children, tt.no...) {
				if s := h.snap(); s.ConsentRole != in.Role {
					t.Fatalf("turn %d: the screen asks %q, want %q", in.Participant, s.ConsentRole, in.Role)
				}
				if len(startCalls(h.rec.Calls())) != 0 {
					t.Fatalf("recording started before turn %d", in.Participant)
				}
				h.must(in)
			}
			s = h.snap()
			starts := startCalls(h.rec.Calls())
			if s.Recorded != tt.recorded || len(starts) != map[bool]int{true: 1}[tt.recorded] || s.Notice != tt.notice || s.Step != room.StepInSession {
				t.Fatalf("recorded %v starts %d notice %q step %s", s.Recorded, len(starts), s.Notice, s.Step)
			}
			if tt.recorded {
				c := starts[0].Info.Consent
				if c.Version != room.ConsentRecordVersion || c.Adults != tt.adults || c.Children != tt.children || len(c.Decisions) != room.ConsentTurns(tt.adults, tt.children) {
					t.Fatalf("consent record %+v", c)
				}
				for i, d := range c.Decisions {
					role, _ := room.TurnRole(tt.adults, tt.children, i+1)
					ids := map[string]string{"adult": "rec-1", "guardian": "guardian-1", "assent": "assent-1"}
					k, _, _ := room.ParseRole(role)
					if d.Role != role || d.AgreementID != ids[k] || d.TextSHA256 != room.TextSHA256(roleTexts(role)["en"]) || !d.Consented || d.At.IsZero() || d.Language != "en" {
						t.Errorf("decision %d: %+v (want role %s)", i+1, d, role)
					}
				}
			}
			leave(t, h)
			sum := h.up.Calls()[len(h.up.Calls())-1].Summary
			if sum.Children != tt.children || sum.Participants != tt.adults+tt.children || sum.Recorded != tt.recorded {
				t.Errorf("summary %+v", sum)
			}
		})
	}
}

// TestFamilyRefusals: what the participants and consent steps refuse.
func TestFamilyRefusals(t *testing.T) {
	t.Run("children without texts", func(t *testing.T) {
		h := newHarness(t, testConfig(), true)
		h.must(toParticipants...)
		err := h.send(room.Intent{Kind: room.IntentParticipants, Count: 2, Children: 1})
		if !isRefused(err, room.ErrInvalid) || !strings.Contains(err.Error(), "consent.guardian") {
			t.Fatalf("children in a room without texts: %v", err)
		}
	})
	for _, tt := range []struct {
		name            string
		count, children int
	}{{"more children than participants", 2, 3}, {"negative children", 2, -1}, {"too many", 7, 1}} {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, familyConfig(), true)
			h.must(toParticipants...)
			if err := h.send(room.Intent{Kind: room.IntentParticipants, Count: tt.count, Children: tt.children}); !isRefused(err, room.ErrInvalid) {
				t.Fatalf("%d of %d: %v", tt.children, tt.count, err)
			}
		})
	}
	t.Run("the adult text on a child's turn", func(t *testing.T) {
		h := newHarness(t, familyConfig(), true)
		h.must(toFamilyConsent(1, 1)...)
		h.must(roleConsent(1, room.RoleAdult, true))
		for _, in := range []room.Intent{
			consent(2, true),                           // the recording agreement, not the guardian's
			roleConsent(2, room.RoleAssent(1), true),   // the child's text on the guardian's turn
			roleConsent(2, room.RoleAdult, true),       // the screen asked another role
			roleConsent(3, room.RoleGuardian(1), true), // out of turn
		} {
			if err := h.send(in); !isRefused(err, room.ErrInvalid) {
				t.Errorf("%+v accepted: %v", in, err)
			}
		}
		in := roleConsent(2, room.RoleGuardian(1), true)
		in.Role = "" // an older screen says no role: the text decides
		h.must(in)
		if s := h.snap(); s.ConsentRole != room.RoleAssent(1) || s.ConsentTurn != 3 {
			t.Fatalf("after the guardian: role %q turn %d", s.ConsentRole, s.ConsentTurn)
		}
		// The assent, like every agreement, needs every page seen.
		in = roleConsent(3, room.RoleAssent(1), true)
		in.Pages, in.PagesSeen = 2, 1
		if err := h.send(in); !isRefused(err, room.ErrInvalid) {
			t.Fatalf("assent with a page unseen: %v", err)
		}
	})
}

// TestChildWithoutAdult: children alone cannot be recorded; the session
// goes on unrecorded and the room is told why.
func TestChildWithoutAdult(t *testing.T) {
	h := newHarness(t, familyConfig(), true)
	h.must(toParticipants...)
	h.must(room.Intent{Kind: room.IntentParticipants, Count: 2, Children: 2})
	s := h.snap()
	if s.Step != room.StepInSession || s.Recorded || s.WantRecording || s.Notice != room.NoticeNotRecordedNoGuardian || s.Message == "" {
		t.Fatalf("step %s recorded %v want %v notice %q", s.Step, s.Recorded, s.WantRecording, s.Notice)
	}
	if err := h.send(room.Intent{Kind: room.IntentRecord, Yes: true}); !isRefused(err, room.ErrWrongStep) {
		t.Fatalf("record asked with no adult: %v", err)
	}
	leave(t, h)
	if len(startCalls(h.rec.Calls())) != 0 {
		t.Fatal("recorded")
	}
}

// TestFamilyWithdraw: a withdrawal (by a child as by anyone) stops the
// recording in the same event and asks keep or delete.
func TestFamilyWithdraw(t *testing.T) {
	for _, choice := range []room.IntentKind{room.IntentWithdrawKeep, room.IntentWithdrawDelete} {
		h := newHarness(t, familyConfig(), true)
		h.must(toFamilyConsent(2, 1)...)
		h.must(familyTurns(2, 1)...)
		if !h.snap().Recording {
			t.Fatal("not recording")
		}
		h.must(kind(room.IntentWithdraw))
		calls := h.rec.Calls()
		if last := calls[len(calls)-1]; last.Op != "stop" || !last.Withdrawn {
			t.Fatalf("after the withdrawal the recorder's last call is %+v", last)
		}
		if s := h.snap(); s.Step != room.StepWithdrawChoice || s.Recording || s.Children != 1 {
			t.Fatalf("after the withdrawal: %s recording %v children %d", s.Step, s.Recording, s.Children)
		}
		h.must(kind(choice))
		leave(t, h)
	}
}

// TestFamilyRestartAtEveryTurn: the daemon dies at each consent turn of a
// family session and comes back at that turn with the decisions and roles
// kept; the journal says children and roles and nothing personal.
func TestFamilyRestartAtEveryTurn(t *testing.T) {
	cfg := familyConfig()
	const adults, children = 2, 1
	all := familyTurns(adults, children)
	for turn := 1; turn <= len(all)+1; turn++ {
		store := &sessiontest.Journal{}
		a := boot(t, cfg, store, t0)
		a.must(toFamilyConsent(adults, children)...)
		a.must(all[:turn-1]...)
		before := a.snap()
		j := string(store.Bytes())
		if !strings.Contains(j, `"children": 1`) || !strings.Contains(j, `"version": 2`) {
			t.Fatalf("turn %d: journal %s", turn, j)
		}
		a.crash()
		b := boot(t, cfg, store, t0.Add(90*time.Second))
		s := b.snap()
		if turn <= len(all) {
			if s.Step != room.StepConsent || s.ConsentTurn != turn || s.ConsentRole != before.ConsentRole || !slices.Equal(s.Decisions, before.Decisions) || s.Children != children {
				t.Fatalf("turn %d after the restart: step %s turn %d role %q decisions %+v", turn, s.Step, s.ConsentTurn, s.ConsentRole, s.Decisions)
			}
			b.must(all[turn-1:]...)
		} else if starts := startCalls(b.rec.Calls()); len(starts) != 1 || !starts[0].Info.Resume || starts[0].Info.Consent.Children != children {
			t.Fatalf("recording after the restart: %+v", starts)
		}
		s = b.snap()
		if !s.Recorded || !s.Recording {
			t.Fatalf("turn %d: not recording after the last turn", turn)
		}
		if d := s.Decisions; len(d) != len(all) || d[2].Role != room.RoleGuardian(1) || d[3].Role != room.RoleAssent(1) {
			t.Fatalf("turn %d: decisions %+v", turn, d)
		}
		leave(t, b.harness)
		b.stop()
	}
}

// TestFamilyConfig: the [consent] section's checks.
func TestFamilyConfig(t *testing.T) {
	tests := []struct {
		name   string
		change func(*session.ConsentConfig)
		want   string
	}{
		{"ok", func(*session.ConsentConfig) {}, ""},
		{"minor age out of range", func(c *session.ConsentConfig) { c.MinorAge = 40 }, "consent.minor_age"},
		{"assent missing", func(c *session.ConsentConfig) { c.Assent = session.AgreementConfig{} }, "consent.assent"},
		{"guardian text missing in zh", func(c *session.ConsentConfig) {
			c.Guardian.Texts = map[string]string{"en": "x"}
		}, "consent.guardian.texts.zh"},
		{"same id as the agreement", func(c *session.ConsentConfig) { c.Assent.ID = "rec-1" }, "must differ"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := familyConfig()
			tt.change(&cfg.Consent)
			_, err := session.New(cfg, depsForNew())
			if (err == nil) != (tt.want == "") || err != nil && !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err %v, want %q", err, tt.want)
			}
		})
	}
}

// TestHeldFamilyChoiceAfterRestart: a family session is withdrawn and the
// daemon dies at the keep-or-delete choice; it comes back after the resume
// window, so the recording is held and its client chooses from the
// maintenance screen. That choice is worded for the guardian as the
// session's own was (the snapshot's Children, which the screen words by),
// from the recorder's held list; an adult session held beside it is not.
func TestHeldFamilyChoiceAfterRestart(t *testing.T) {
	cfg := familyConfig()
	store := &sessiontest.Journal{}
	a := boot(t, cfg, store, t0)
	a.must(toFamilyConsent(2, 1)...)
	a.must(familyTurns(2, 1)...)
	a.must(kind(room.IntentWithdraw))
	before := a.snap()
	if before.Step != room.StepWithdrawChoice || before.Children != 1 {
		t.Fatalf("before the restart: step %s children %d", before.Step, before.Children)
	}
	a.crash()

	const adultOnly = "20260126T090000Z-aaaaaa" // the day before, within the deadline: chosen first
	a.rec.Hold(adultOnly)
	b := bootWith(t, cfg, store, t0.Add(cfg.Flow.ResumeWindow.Duration+5*time.Minute), a.rec)
	if s := b.snap(); s.Step != room.StepDoor || s.SessionID != "" || s.Children != 0 {
		t.Fatalf("after the restart: step %s session %q children %d, want the door", s.Step, s.SessionID, s.Children)
	}
	for _, want := range []struct {
		id       string
		children int
	}{{adultOnly, 0}, {before.SessionID, before.Children}} {
		b.must(toMaintenance...)
		if s := b.snap(); s.Step != room.StepMaintenance || s.Children != 0 {
			t.Fatalf("maintenance screen: step %s children %d (a count belongs to the choice screen only)", s.Step, s.Children)
		}
		b.must(kind(room.IntentHeldAsk))
		if s := b.snap(); s.Step != room.StepHeldChoice || s.Children != want.children {
			t.Fatalf("held choice of %s: step %s children %d, want %d", want.id, s.Step, s.Children, want.children)
		}
		b.must(kind(room.IntentWithdrawDelete))
		if s := b.snap(); s.Step != room.StepDoor || s.Children != 0 {
			t.Fatalf("after the choice of %s: step %s children %d", want.id, s.Step, s.Children)
		}
		if slices.Contains(b.rec.HeldIDs(), want.id) {
			t.Fatalf("%s still held after its client deleted it", want.id)
		}
	}
}
