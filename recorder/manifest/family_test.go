package manifest

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
	"time"

	"filippo.io/age"
	"filippo.io/age/armor"

	"roomkiosk/internal/room"
)

// TestConsentRecordVersions (issue 24): a family session's consent record
// (version 2: counts, roles, agreement per decision) goes through sealing
// whole, and a record from before roles (no version, no roles) still opens
// and reads as version 1.
func TestConsentRecordVersions(t *testing.T) {
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 2, 15, 4, 5, 0, time.UTC)
	family := room.ConsentRecord{Version: room.ConsentRecordVersion, AgreementID: "rec-1", TextSHA256: strings.Repeat("ab", 32), Language: "en",
		Adults: 2, Children: 1, Decisions: []room.Decision{
			{Participant: 1, Consented: true, Language: "en", TextSHA256: strings.Repeat("ab", 32), At: at, Role: room.RoleAdult, AgreementID: "rec-1"},
			{Participant: 2, Consented: true, Language: "zh", TextSHA256: strings.Repeat("ac", 32), At: at, Role: room.RoleAdult, AgreementID: "rec-1"},
			{Participant: 3, Consented: true, Language: "en", TextSHA256: strings.Repeat("cd", 32), At: at, Role: room.RoleGuardian(1), AgreementID: "guardian-1", Pages: 1, PagesSeen: 1},
			{Participant: 4, Consented: true, Language: "en", TextSHA256: strings.Repeat("ef", 32), At: at, Role: room.RoleAssent(1), AgreementID: "assent-1", Pages: 2, PagesSeen: 2},
		}}
	m := sample(t, nil)
	if m.Personal, err = SealPersonal(Personal{Consent: family}, id.Recipient()); err != nil {
		t.Fatal(err)
	}
	p, err := m.OpenPersonal(id)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(p.Consent, family) {
		t.Fatalf("opened %+v\nsealed %+v", p.Consent, family)
	}

	// What a core from before roles sealed: the same JSON it wrote then.
	old := m
	old.Personal, err = sealRaw(`{"consent":{"agreement_id":"rec-0","text_sha256":"`+strings.Repeat("ab", 32)+
		`","language":"zh","decisions":[{"participant":1,"consented":true,"language":"zh","at":"2026-01-01T00:00:00Z"}]}}`, id.Recipient())
	if err != nil {
		t.Fatal(err)
	}
	p, err = old.OpenPersonal(id)
	if err != nil {
		t.Fatal(err)
	}
	if c := p.Consent; c.Version != 0 || c.AgreementID != "rec-0" || len(c.Decisions) != 1 || c.Decisions[0].Role != "" || c.Children != 0 {
		t.Fatalf("a version 1 record read as %+v", c)
	}
}

// sealRaw encrypts js as SealPersonal does, for JSON an older writer wrote.
func sealRaw(js string, r age.Recipient) (string, error) {
	var buf bytes.Buffer
	aw := armor.NewWriter(&buf)
	w, err := age.Encrypt(aw, r)
	if err != nil {
		return "", err
	}
	if _, err := w.Write([]byte(js)); err != nil {
		return "", err
	}
	if err := w.Close(); err != nil {
		return "", err
	}
	if err := aw.Close(); err != nil {
		return "", err
	}
	return buf.String(), nil
}
