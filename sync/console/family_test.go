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
		{"family", 1, family, []string{`id="children"`, "with children (1)", `<td class="role">guardian of child 1</td>`, `<td class="role">child 1 (assent)</td>`, "guardian-1", "assent-1"}},
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

// TestRoleInWords: the session page says each consent role in words, in
// English and Chinese, through the catalog; a role code the record does not
// define (a device wrote it, so it is hostile) is shown as it is, escaped,
// marked unknown and bounded, never read as a role.
func TestRoleInWords(t *testing.T) {
	pages, err := parsePages()
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 3, 12, 14, 0, 0, 0, time.UTC)
	long := strings.Repeat("x", 5000)
	for _, tt := range []struct {
		lang, role string
		want       string // the role's cell, as the page has it
	}{
		{"en", room.RoleAdult, "adult"},
		{"en", "", "adult"}, // a version 1 record
		{"en", room.RoleGuardian(1), "guardian of child 1"},
		{"en", room.RoleAssent(2), "child 2 (assent)"},
		{"zh", room.RoleAdult, "成人"},
		{"zh", room.RoleGuardian(1), "儿童 1 的监护人"},
		{"zh", room.RoleAssent(2), "儿童 2（本人同意）"},
		{"en", "<script>alert(1)</script>", "unknown role: &lt;script&gt;alert(1)&lt;/script&gt;"},
		{"en", "guardian-of-child-7", "unknown role: guardian-of-child-7"}, // more children than a session has
		{"en", "guardian-of-child-01", "unknown role: guardian-of-child-01"},
		{"en", "{code}{n}", "unknown role: {code}{n}"}, // braces are not expanded again
		{"zh", "Adult", "未知角色：Adult"},
		{"en", long, "unknown role: " + long[:maxRoleShown] + "…"},
	} {
		c := &room.ConsentRecord{Version: room.ConsentRecordVersion, AgreementID: "rec-1", Language: "en", Adults: 1, Children: 1,
			Decisions: []room.Decision{{Participant: 1, Consented: true, Language: "en", At: at, Role: tt.role, AgreementID: "rec-1"}}}
		row := archive.Session{Room: "101", Session: "20260312T140000Z-abcdef", Started: at, State: "recorded", Participants: 2, Children: 1}
		v := sessionView{page: &page{Lang: tt.lang, Now: at}, Row: rowOf(row), Consent: c}
		var b bytes.Buffer
		if err := pages["session"].ExecuteTemplate(&b, "layout", v); err != nil {
			t.Fatal(err)
		}
		cell := `<td class="role">` + tt.want + `</td>`
		if !strings.Contains(b.String(), cell) {
			i := strings.Index(b.String(), `<td class="role">`)
			t.Errorf("%s %.40q: want %s, the page has %.200s", tt.lang, tt.role, cell, b.String()[max(i, 0):])
		}
		if strings.Contains(b.String(), "<script>") {
			t.Errorf("%s %.40q: a device's role code reached the page unescaped", tt.lang, tt.role)
		}
	}
}
