package console

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"roomkiosk/internal/room"
	"roomkiosk/sync/archive"
)

// TestSessionPageShowsRoles: the session page of a family session (issue
// 24) says "with children" and lists each decision with its role and
// agreement; a version 1 record (no roles) reads as adults on the
// session's agreement.
func TestSessionPageShowsRoles(t *testing.T) {
	pages, err := parsePages()
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 3, 12, 14, 0, 0, 0, time.UTC)
	family := &room.ConsentRecord{Version: room.ConsentRecordVersion, AgreementID: "rec-1", Language: "en", Adults: 1, Children: 1,
		TextSHA256: strings.Repeat("ab", 32),
		Decisions: []room.Decision{
			{Participant: 1, Consented: true, Language: "en", At: at, Role: room.RoleAdult, AgreementID: "rec-1"},
			{Participant: 2, Consented: true, Language: "en", At: at, Role: room.RoleGuardian(1), AgreementID: "guardian-1"},
			{Participant: 3, Consented: true, Language: "en", At: at, Role: room.RoleAssent(1), AgreementID: "assent-1"},
		}}
	old := &room.ConsentRecord{AgreementID: "rec-0", Language: "zh", Decisions: []room.Decision{{Participant: 1, Consented: true, Language: "zh", At: at}}}
	for _, tt := range []struct {
		name     string
		children int
		c        *room.ConsentRecord
		want     []string
	}{
		{"family", 1, family, []string{`id="children"`, "with children (1)", "guardian-of-child-1", "child-1-assent", "guardian-1", "assent-1"}},
		{"version 1", 0, old, []string{`<td class="role">adult</td>`, "rec-0"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			row := archive.Session{Room: "101", Session: "20260312T140000Z-abcdef", Started: at, State: "recorded", Participants: tt.c.Adults + tt.children, Children: tt.children}
			v := sessionView{page: &page{Lang: "en", Now: at}, Row: rowOf(row), Consent: tt.c}
			var b bytes.Buffer
			if err := pages["session"].ExecuteTemplate(&b, "layout", v); err != nil {
				t.Fatal(err)
			}
			for _, w := range tt.want {
				if !strings.Contains(b.String(), w) {
					t.Errorf("the page lacks %q", w)
				}
			}
			if tt.children == 0 && strings.Contains(b.String(), `id="children"`) {
				t.Error("a session without children says it had some")
			}
		})
	}
}
