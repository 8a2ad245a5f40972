package recorder_test

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"filippo.io/age"

	"roomkiosk/recorder"
	"roomkiosk/recorder/manifest"
	"roomkiosk/recorder/recordertest"
	"roomkiosk/recorder/segment"
)

func newID(t *testing.T) *age.X25519Identity {
	t.Helper()
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// TestSessionsEncryptedByRole: each session is encrypted to escrow, its own
// counselor and their supervisors, and to nobody else; the manifest says so
// by role; every segment and the consent record open with each of them.
func TestSessionsEncryptedByRole(t *testing.T) {
	escrow, alice, bob, sup, other := newID(t), newID(t), newID(t), newID(t), newID(t)
	kr, err := recorder.NewKeyring([]string{escrow.Recipient().String()}, []recorder.CounselorKeys{
		{ID: "c-1", Recipient: alice.Recipient().String(), Supervisors: []string{sup.Recipient().String()}},
		{ID: "c-2", Recipient: bob.Recipient().String()},
		{ID: "c-3"}, // no key of their own: escrow only
	})
	if err != nil {
		t.Fatal(err)
	}
	pcm := randomPCM(2.5)
	cfg := recorder.Default()
	cfg.SpoolDir = t.TempDir()
	cfg.SegmentLength.Duration = time.Second

	type role struct {
		id   *age.X25519Identity
		role string
	}
	tests := []struct {
		counselor string
		sid       string
		opens     []role
		refused   []*age.X25519Identity
	}{
		{"c-1", "20261102T150405Z-aaa001", []role{{escrow, manifest.RoleEscrow}, {alice, manifest.RoleCounselor}, {sup, manifest.RoleSupervisor}}, []*age.X25519Identity{bob, other}},
		{"c-2", "20261102T160405Z-aaa002", []role{{escrow, manifest.RoleEscrow}, {bob, manifest.RoleCounselor}}, []*age.X25519Identity{alice, sup, other}},
		{"c-3", "20261102T170405Z-aaa003", []role{{escrow, manifest.RoleEscrow}}, []*age.X25519Identity{alice, bob, sup}},
		{"c-unknown", "20261102T180405Z-aaa004", []role{{escrow, manifest.RoleEscrow}}, []*age.X25519Identity{alice, bob, sup}},
	}
	for _, tt := range tests {
		t.Run(tt.counselor, func(t *testing.T) {
			src := &recordertest.Source{PCM: pcm, Chunk: 3200}
			rec, err := recorder.New(recorder.Options{Config: cfg, Keyring: kr, RoomID: "101", DeviceID: "101", Source: src,
				FreeSpace: func(string) (uint64, error) { return 100 << 30, nil }})
			if err != nil {
				t.Fatal(err)
			}
			defer rec.Close()
			in := info(tt.sid)
			in.CounselorID = tt.counselor
			if err := rec.Start(in); err != nil {
				t.Fatal(err)
			}
			for src.Offset() < len(pcm) {
				time.Sleep(5 * time.Millisecond)
			}
			time.Sleep(50 * time.Millisecond)
			if err := rec.Stop(tt.sid, false); err != nil {
				t.Fatal(err)
			}
			rec.Wait()
			dir := rec.Spool().SessionDir(tt.sid)
			var want []manifest.Access
			for _, r := range tt.opens {
				m, _ := readSession(t, dir, r.id) // every segment, checked
				want = append(want, manifest.Access{Role: r.role, Recipient: r.id.Recipient().String()})
				if _, err := m.OpenPersonal(r.id); err != nil {
					t.Errorf("consent record does not open for the %s: %v", r.role, err)
				}
				if got := m.Roles(r.id.Recipient().String()); !slices.Equal(got, []string{r.role}) {
					t.Errorf("manifest roles of the %s: %v", r.role, got)
				}
			}
			mb, _ := os.ReadFile(filepath.Join(dir, manifest.FileName))
			m, err := manifest.Parse(mb)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(m.EncryptedTo, want) {
				t.Fatalf("manifest encrypted_to %+v, want %+v", m.EncryptedTo, want)
			}
			if len(m.Segments) < 2 {
				t.Fatalf("%d segments", len(m.Segments))
			}
			for _, id := range tt.refused {
				if len(m.Roles(id.Recipient().String())) != 0 {
					t.Errorf("manifest names a stranger")
				}
				if _, err := m.OpenPersonal(id); err == nil {
					t.Error("a stranger opened the consent record")
				}
				for _, sg := range m.Segments {
					f, _ := os.Open(filepath.Join(dir, sg.Name))
					_, _, err := segment.Open(f, id)
					f.Close()
					var nm *age.NoIdentityMatchError
					if !errors.As(err, &nm) {
						t.Errorf("a stranger's identity on %s: %v, want no identity match", sg.Name, err)
					}
				}
			}
		})
	}
}

func TestCounselorKeysValidateNamesKey(t *testing.T) {
	good := newID(t).Recipient().String()
	tests := []struct {
		name string
		keys []recorder.CounselorKeys
		want string
	}{
		{"secret key as own", []recorder.CounselorKeys{{ID: "c", Recipient: "AGE-SECRET-KEY-1QQQ"}}, "counselors[0].recipient: this is a secret key"},
		{"secret key as supervisor", []recorder.CounselorKeys{{ID: "c"}, {ID: "d", Supervisors: []string{good, "age-secret-key-1qqq"}}}, "counselors[1].supervisors[1]: this is a secret key"},
		{"not a key", []recorder.CounselorKeys{{ID: "c", Recipient: "age1nope"}}, "counselors[0].recipient"},
		{"ssh key", []recorder.CounselorKeys{{ID: "c", Supervisors: []string{"ssh-ed25519 AAAA"}}}, "counselors[0].supervisors[0]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := recorder.ValidateCounselorKeys(tt.keys)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want %q", err, tt.want)
			}
			if _, err := recorder.NewKeyring([]string{good}, tt.keys); err == nil {
				t.Fatal("keyring accepted bad keys")
			}
		})
	}
	if err := recorder.ValidateCounselorKeys([]recorder.CounselorKeys{{ID: "c", Recipient: good, Supervisors: []string{good}}}); err != nil {
		t.Fatal(err)
	}
}

// TestResumeKeepsRecipients: a session suspended by a restart resumes with
// the recipients it started with, even if the config changed meanwhile, so
// the manifest's roles hold for every segment.
func TestResumeKeepsRecipients(t *testing.T) {
	escrow, alice, bob := newID(t), newID(t), newID(t)
	spoolDir := t.TempDir()
	const sid = "20261102T150405Z-abc777"
	start := func(counselorKey *age.X25519Identity, resume bool) *recorder.Recorder {
		kr, err := recorder.NewKeyring([]string{escrow.Recipient().String()}, []recorder.CounselorKeys{{ID: "c-1", Recipient: counselorKey.Recipient().String()}})
		if err != nil {
			t.Fatal(err)
		}
		cfg := recorder.Default()
		cfg.SpoolDir = spoolDir
		cfg.SegmentLength.Duration = time.Second
		rec, err := recorder.New(recorder.Options{Config: cfg, Keyring: kr, RoomID: "101", DeviceID: "101",
			Source:    &recordertest.Source{PCM: randomPCM(20), Chunk: 1600, Every: 20 * time.Millisecond},
			FreeSpace: func(string) (uint64, error) { return 100 << 30, nil }})
		if err != nil {
			t.Fatal(err)
		}
		in := info(sid)
		if resume {
			if _, err := rec.Recover(sid); err != nil {
				t.Fatal(err)
			}
			in.Resume = true
		}
		if err := rec.Start(in); err != nil {
			t.Fatal(err)
		}
		time.Sleep(1500 * time.Millisecond)
		return rec
	}
	rec := start(alice, false)
	if err := rec.Suspend(sid); err != nil {
		t.Fatal(err)
	}
	rec.Wait()
	rec.Close()
	// The config now names bob's key for c-1: the resumed part stays
	// alice's.
	rec = start(bob, true)
	defer rec.Close()
	if err := rec.Stop(sid, false); err != nil {
		t.Fatal(err)
	}
	rec.Wait()
	m, _ := readSession(t, rec.Spool().SessionDir(sid), alice)
	if len(m.Gaps) != 1 || len(m.Segments) < 2 {
		t.Fatalf("not resumed: %d segments, gaps %+v", len(m.Segments), m.Gaps)
	}
	if got := m.Roles(alice.Recipient().String()); len(got) != 1 || got[0] != manifest.RoleCounselor || len(m.Roles(bob.Recipient().String())) != 0 {
		t.Fatalf("encrypted_to %+v", m.EncryptedTo)
	}
	if _, err := m.OpenPersonal(alice); err != nil {
		t.Fatalf("the resumed consent record: %v", err)
	}
}
