package e2e

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"filippo.io/age"
	"github.com/minio/minio-go/v7"

	"roomkiosk/internal/room"
	"roomkiosk/kiosk/ui"
	"roomkiosk/recorder/manifest"
)

// The family device's guardian agreement and child's assent (English shown).
const (
	familyGuardianEN = "I am this child's parent or legal guardian and I agree that this session is recorded.\n"
	familyAssentEN   = "Can we record what we say today? You can say no. You can say stop at any time.\n"
)

// familyConsentTOML is the [consent] section of a family device: the
// guardian agreement and the child's assent, appended to its config.
const familyConsentTOML = "\n[consent]\nminor_age = 14\n" +
	"[consent.guardian]\nid = \"guardian-e2e-01\"\n[consent.guardian.texts]\nen = \"\"\"\n" + familyGuardianEN + "\"\"\"\nzh = \"\"\"\n我是这名儿童的父母或法定监护人，我同意本次咨询录音。\n\"\"\"\n" +
	"[consent.assent]\nid = \"assent-e2e-01\"\n[consent.assent.texts]\nen = \"\"\"\n" + familyAssentEN + "\"\"\"\nzh = \"\"\"\n我们可以录下今天说的话吗？你可以说不，也随时可以叫停。\n\"\"\"\n"

// TestFamilySession records a family session (2 adults, 1 child) through
// the real screen, daemon and MinIO (issue 24): the counselor sets one child
// and taps two adults; each adult agrees, an adult agrees as the child's
// guardian on the guardian text, the child says yes on the assent screen;
// only then does the recorder start. The decrypted consent record lists
// each decision with its role, agreement id, text hash, language and time;
// roomctl sessions shows the session with children.
func TestFamilySession(t *testing.T) {
	bin := binaries(t)
	adm := newAdmin(t, bin)
	mic := startMic(t, 10*time.Minute)
	const roomF = "e2e-family"
	dev := provision(t, adm, bin, roomF, mic, 5*time.Second)
	cfg, err := os.ReadFile(dev.cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dev.cfgPath, append(cfg, familyConsentTOML...), 0o600); err != nil {
		t.Fatal(err)
	}
	dev.start(t)

	k := startKiosk(t, bin, dev, "e2e-family")

	k.toParticipants(t, "fam")
	k.Tap(t, "children-more")
	k.WaitFor(t, "one child set", 10*time.Second, func(v ui.View) bool {
		return v.Scene == "participants" && hasText(v, "Children under 14") && enabled(v, "participants-0")
	})
	k.Shot(t, "fam-participants")
	k.Tap(t, "participants-2")
	k.WaitScene(t, "record_choice")
	k.Tap(t, "record-yes")

	turns := []struct{ role, title string }{
		{room.RoleAdult, "Adult 1 of 2"},
		{room.RoleAdult, "Adult 2 of 2"},
		{room.RoleGuardian(1), "Guardian of child 1"},
		{room.RoleAssent(1), "Child 1: your turn"},
	}
	for i, tn := range turns {
		v := k.WaitFor(t, tn.title, 10*time.Second, func(v ui.View) bool {
			return v.Scene == "consent" && v.ConsentTurn == i+1 && v.ConsentRole == tn.role && hasText(v, tn.title)
		})
		if v.ConsentOf != len(turns) {
			t.Errorf("turn %d: of %d, want %d", i+1, v.ConsentOf, len(turns))
		}
		if s, err := dev.status(); err == nil && s.Recording {
			t.Fatalf("recording before turn %d (%s) answered", i+1, tn.role)
		}
		k.Shot(t, "fam-consent-"+tn.role)
		k.Agree(t)
	}
	sid := k.recording(t, "fam")
	time.Sleep(4 * time.Second)
	k.end(t, 0, "fam")

	// The recording arrives; its consent record, decrypted, lists roles.
	var key, seen string
	defer func() {
		if key == "" {
			t.Logf("the family session as last listed: %s; daemon log: %s", seen, dev.logTail(3000))
		}
	}()
	waitFor(t, "the family session in the archive", 3*time.Minute, func() bool {
		for _, r := range adm.Sessions(t, roomF) {
			if r.Session == sid {
				seen = fmt.Sprintf("state %s, children %d", r.State, r.Children)
			}
			if r.Session == sid && r.State == "recorded" && r.Children == 1 {
				key = r.Key
				return true
			}
		}
		return false
	})
	ctx := context.Background()
	obj, err := adm.Srv.Client(t).GetObject(ctx, bucket, key, minio.GetObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	mb, err := io.ReadAll(obj)
	obj.Close()
	if err != nil {
		t.Fatal(err)
	}
	m, err := manifest.Parse(mb)
	if err != nil {
		t.Fatal(err)
	}
	idf, err := os.Open(adm.Key)
	if err != nil {
		t.Fatal(err)
	}
	ids, err := age.ParseIdentities(idf)
	idf.Close()
	if err != nil {
		t.Fatal(err)
	}
	p, err := m.OpenPersonal(ids...)
	if err != nil {
		t.Fatal(err)
	}
	c := p.Consent
	if c.Version != room.ConsentRecordVersion || c.Adults != 2 || c.Children != 1 || len(c.Decisions) != len(turns) {
		t.Fatalf("consent record: %+v", c)
	}
	texts := map[string]string{"adult": "", "guardian": familyGuardianEN, "assent": familyAssentEN}
	agreements := map[string]string{"adult": "rec-e2e-01", "guardian": "guardian-e2e-01", "assent": "assent-e2e-01"}
	for i, d := range c.Decisions {
		kind, _, _ := room.ParseRole(turns[i].role)
		if d.Role != turns[i].role || d.AgreementID != agreements[kind] || !d.Consented || d.Language != "en" || d.At.IsZero() || d.Participant != i+1 {
			t.Errorf("decision %d: %+v, want role %s on %s", i+1, d, turns[i].role, agreements[kind])
		}
		if texts[kind] != "" && d.TextSHA256 != room.TextSHA256(texts[kind]) {
			t.Errorf("decision %d: hash %s is not of the %s text shown", i+1, d.TextSHA256, kind)
		}
		if d.Pages < 1 || d.PagesSeen != d.Pages {
			t.Errorf("decision %d: pages seen %d of %d", i+1, d.PagesSeen, d.Pages)
		}
	}
	if out := adm.Run(t, "", "sessions", "--room", roomF); !strings.Contains(out, "with children") {
		t.Errorf("roomctl sessions does not say the session had children:\n%s", out)
	}
}

// enabled reports whether the view has the target id, enabled.
func enabled(v ui.View, id string) bool {
	for _, tg := range v.Targets {
		if tg.ID == id {
			return tg.Enabled
		}
	}
	return false
}
