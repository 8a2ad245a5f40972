package archive_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"filippo.io/age"
	"github.com/minio/minio-go/v7"

	"roomkiosk/recorder"
	"roomkiosk/recorder/manifest"
	"roomkiosk/sync/archive"
	"roomkiosk/sync/archive/archivetest"
	"roomkiosk/sync/layout"
)

func genID(t *testing.T) *age.X25519Identity {
	t.Helper()
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// TestRolesAndGrants: on a real MinIO, a session written to escrow + its
// counselor + their supervisor opens for each of them and for nobody else
// (who is told "not yours" before any audio is downloaded); a grant made
// from the segments' headers alone lets a new recipient pull it byte for
// byte as escrow does, without a new version of any session object;
// revoking the grant stops the next pull; a device can plant no grant.
func TestRolesAndGrants(t *testing.T) {
	e := setup(t)
	escrow, alice, sup, bob, carol := e.id, genID(t), genID(t), genID(t), genID(t)
	kr, err := recorder.NewKeyring([]string{escrow.Recipient().String()}, []recorder.CounselorKeys{
		{ID: "c-alice", Recipient: alice.Recipient().String(), Supervisors: []string{sup.Recipient().String()}},
		{ID: "c-bob", Recipient: bob.Recipient().String()},
	})
	if err != nil {
		t.Fatal(err)
	}
	build := func(counselor, started string, seed uint64, segs ...archivetest.SegSpec) *archivetest.Session {
		rs, acc := kr.For(counselor)
		s := archivetest.Build(t, archivetest.Spec{Room: "101", Started: at(started), Seed: seed, Counselor: counselor,
			EncryptedTo: acc, Segments: segs}, rs...)
		s.Upload(t, e.cl, bucket)
		return s
	}
	aliceS := build("c-alice", "2026-11-02T15:04:05Z", 1, archivetest.SegSpec{Frames: 48000}, archivetest.SegSpec{Frames: 48000, GapAfter: 8000},
		archivetest.SegSpec{Frames: 20000, Partial: true})
	bobS := build("c-bob", "2026-11-02T17:00:00Z", 2, archivetest.SegSpec{Frames: 30000})
	dir := t.TempDir()

	pull := func(s *archivetest.Session, id *age.X25519Identity, name string) ([]byte, archive.PullResult, error) {
		out := filepath.Join(dir, name)
		res, err := e.ar.Pull(e.ctx, archive.PullOptions{SessionID: s.Manifest.SessionID, Identities: []age.Identity{id}, Out: out})
		if err != nil {
			if _, serr := os.Stat(out); serr == nil {
				t.Errorf("%s: failed pull left %s", name, out)
			}
			return nil, res, err
		}
		b, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		return b, res, nil
	}
	escrowWAV, _, err := pull(aliceS, escrow, "escrow.wav")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(escrowWAV[44:], aliceS.WantPCM) {
		t.Fatal("escrow pull differs from the recorded audio")
	}

	t.Run("roles", func(t *testing.T) {
		for _, tt := range []struct {
			name string
			s    *archivetest.Session
			id   *age.X25519Identity
			role string // "" = not theirs
		}{
			{"escrow opens alice's", aliceS, escrow, manifest.RoleEscrow},
			{"alice opens her own", aliceS, alice, manifest.RoleCounselor},
			{"her supervisor opens it", aliceS, sup, manifest.RoleSupervisor},
			{"bob does not", aliceS, bob, ""},
			{"a stranger does not", aliceS, carol, ""},
			{"bob opens his own", bobS, bob, manifest.RoleCounselor},
			{"alice does not open bob's", bobS, alice, ""},
			{"alice's supervisor does not open bob's", bobS, sup, ""},
		} {
			t.Run(tt.name, func(t *testing.T) {
				wav, res, err := pull(tt.s, tt.id, strings.ReplaceAll(tt.name, " ", "-")+".wav")
				if tt.role == "" {
					var ny *archive.NotYoursError
					if !errors.As(err, &ny) || !strings.Contains(err.Error(), "is not yours") {
						t.Fatalf("pull: %v, want not yours", err)
					}
					if res.Bytes != 0 {
						t.Fatalf("downloaded %d bytes of a session that is not theirs", res.Bytes)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				if len(res.Roles) != 1 || res.Roles[0] != tt.role {
					t.Errorf("roles %v, want %s", res.Roles, tt.role)
				}
				if !bytes.Equal(wav[44:], tt.s.WantPCM) {
					t.Error("audio differs")
				}
			})
		}
	})

	segVersions := func() int {
		n := 0
		for obj := range e.cl.ListObjects(e.ctx, bucket, minio.ListObjectsOptions{Prefix: aliceS.Prefix, Recursive: true, WithVersions: true}) {
			if obj.Err != nil {
				t.Fatal(obj.Err)
			}
			n++
		}
		return n
	}
	before := segVersions()

	t.Run("grant", func(t *testing.T) {
		if _, err := e.ar.Grant(e.ctx, archive.GrantOptions{SessionID: aliceS.Manifest.SessionID, Identities: []age.Identity{bob}, To: carol.Recipient().String()}); err == nil {
			t.Fatal("bob, who cannot open the session, granted it")
		}
		if _, err := e.ar.Grant(e.ctx, archive.GrantOptions{SessionID: aliceS.Manifest.SessionID, Identities: []age.Identity{escrow}, To: alice.Recipient().String()}); err == nil ||
			!strings.Contains(err.Error(), "already") {
			t.Fatalf("grant to the counselor herself: %v", err)
		}
		if _, err := e.ar.Grant(e.ctx, archive.GrantOptions{SessionID: aliceS.Manifest.SessionID, Identities: []age.Identity{escrow}, To: carol.String()}); err == nil ||
			!strings.Contains(err.Error(), "secret key") {
			t.Fatalf("grant to a secret key: %v", err)
		}
		var audited bool
		res, err := e.ar.Grant(e.ctx, archive.GrantOptions{SessionID: aliceS.Manifest.SessionID, Identities: []age.Identity{escrow},
			To: carol.Recipient().String(), By: "admin",
			BeforeCommit: func(archive.GrantResult) error { audited = true; return nil }})
		if err != nil {
			t.Fatal(err)
		}
		if !audited || res.Headers != len(aliceS.Manifest.Segments) || res.Key == "" || res.Fingerprint != manifest.Fingerprint(carol.Recipient().String()) {
			t.Fatalf("grant %+v audited %v", res, audited)
		}
		var total int64
		for _, sg := range aliceS.Manifest.Segments {
			total += sg.Bytes
		}
		if res.HeaderBytes <= 0 || res.HeaderBytes > int64(len(aliceS.Manifest.Segments))*4096 || res.HeaderBytes*10 > total {
			t.Fatalf("grant read %d bytes of %d: headers only expected", res.HeaderBytes, total)
		}
		if got := segVersions(); got != before {
			t.Fatalf("session objects: %d versions after the grant, %d before", got, before)
		}
		wav, pr, err := pull(aliceS, carol, "carol.wav")
		if err != nil {
			t.Fatal(err)
		}
		if pr.Grant != res.Fingerprint || !bytes.Equal(wav, escrowWAV) {
			t.Fatalf("granted pull: grant %q, identical to escrow's: %v", pr.Grant, bytes.Equal(wav, escrowWAV))
		}
		gs, err := e.ar.Grants(e.ctx, "101", aliceS.Manifest.SessionID)
		if err != nil || len(gs) != 1 || gs[0].Recipient != carol.Recipient().String() || gs[0].By != "admin" {
			t.Fatalf("grants %+v %v", gs, err)
		}
		// The grant is carol's alone.
		if _, _, err := pull(aliceS, bob, "bob-after-grant.wav"); err == nil {
			t.Fatal("bob pulled after carol's grant")
		}
	})

	t.Run("a grant header spliced onto another segment fails", func(t *testing.T) {
		key := layout.GrantKey("101", aliceS.Manifest.SessionID, manifest.Fingerprint(carol.Recipient().String()))
		o, err := e.cl.GetObject(e.ctx, bucket, key, minio.GetObjectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		var g layout.Grant
		if err := json.NewDecoder(o).Decode(&g); err != nil {
			t.Fatal(err)
		}
		o.Close()
		s1, s2 := aliceS.Manifest.Segments[0].Name, aliceS.Manifest.Segments[1].Name
		g.Headers[s2] = g.Headers[s1]
		b, _ := json.Marshal(g)
		if _, err := e.cl.PutObject(e.ctx, bucket, key, bytes.NewReader(b), int64(len(b)), minio.PutObjectOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, _, err := pull(aliceS, carol, "carol-swapped.wav"); err == nil || !strings.Contains(err.Error(), s2) {
			t.Fatalf("pull with a swapped header: %v", err)
		}
		// Granted again: the grant is rewritten whole.
		if _, err := e.ar.Grant(e.ctx, archive.GrantOptions{SessionID: aliceS.Manifest.SessionID, Identities: []age.Identity{escrow}, To: carol.Recipient().String()}); err != nil {
			t.Fatal(err)
		}
		if _, _, err := pull(aliceS, carol, "carol-again.wav"); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("revoke", func(t *testing.T) {
		removed, err := e.ar.Revoke(e.ctx, aliceS.Manifest.SessionID, "", carol.Recipient().String())
		if err != nil {
			t.Fatal(err)
		}
		if len(removed) < 3 || !strings.HasSuffix(removed[0].Key, layout.GrantFile) { // three grants made: three versions
			t.Fatalf("removed %v", removed)
		}
		for obj := range e.cl.ListObjects(e.ctx, bucket, minio.ListObjectsOptions{Prefix: layout.GrantsPrefix, Recursive: true, WithVersions: true}) {
			t.Errorf("left after revoke: %s %s", obj.Key, obj.VersionID)
		}
		var ny *archive.NotYoursError
		if _, _, err := pull(aliceS, carol, "carol-revoked.wav"); !errors.As(err, &ny) {
			t.Fatalf("pull after revoke: %v, want not yours", err)
		}
		if _, err := e.ar.Revoke(e.ctx, aliceS.Manifest.SessionID, "101", carol.Recipient().String()); err == nil {
			t.Fatal("revoked twice")
		}
		if got := segVersions(); got != before {
			t.Fatalf("session objects: %d versions after revoke, %d before", got, before)
		}
	})

	t.Run("a device plants no grant", func(t *testing.T) {
		ak, sk := e.srv.AddWriteOnlyUser(t, bucket, layout.RoomPrefix("101"))
		dev := e.srv.ClientFor(t, ak, sk)
		hdr := []byte("age-encryption.org/v1\n--- x\n")
		fp := manifest.Fingerprint(carol.Recipient().String())
		for _, key := range []string{
			layout.GrantKey("101", aliceS.Manifest.SessionID, fp),
			layout.TombstoneKey("101", aliceS.Manifest.SessionID),
			"admin/grants/101/" + aliceS.Manifest.SessionID + "/" + fp + "/grant.json",
		} {
			_, err := dev.PutObject(e.ctx, bucket, key, bytes.NewReader(hdr), int64(len(hdr)), minio.PutObjectOptions{})
			if minio.ToErrorResponse(err).Code != "AccessDenied" {
				t.Errorf("device put %s: %v, want AccessDenied", key, err)
			}
		}
		// Even a grant.json forged into the room's own prefix is no grant.
		if _, _, err := pull(aliceS, carol, "carol-forged.wav"); err == nil {
			t.Fatal("carol pulled without a grant")
		}
	})
}
