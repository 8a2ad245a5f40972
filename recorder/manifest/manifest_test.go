package manifest

import (
	"roomkiosk/internal/room"
	"strings"
	"testing"
	"time"

	"filippo.io/age"
)

func sample(t testing.TB, id *age.X25519Identity) *Manifest {
	t0 := time.Date(2026, 11, 2, 15, 4, 5, 0, time.UTC)
	m := &Manifest{
		Version: Version, SessionID: "20261102T150405Z-abc123", RoomID: "dev-101", DeviceID: "dev-101", CounselorID: "c-dev-1",
		Format:  Format{Codec: Codec, SampleRate: 16000, Channels: 1, Bits: 16},
		Started: t0, Ended: t0.Add(65 * time.Second), DurationNS: int64(65 * time.Second),
		Segments: []Segment{
			{Name: SegmentName(1, "wav"), Index: 1, Samples: 480000, Bytes: 960300, SHA256: strings.Repeat("ab", 32)},
			{Name: SegmentName(2, "wav"), Index: 2, Samples: 100, Bytes: 500, SHA256: strings.Repeat("cd", 32), Partial: true},
		},
		Gaps:        []Gap{{AfterSegment: 1, Frames: 16000, DurationNS: int64(time.Second), Reason: "mic_lost"}},
		EncryptedTo: []Access{{Role: RoleEscrow, Recipient: "age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p"}},
	}
	if id != nil {
		p, err := SealPersonal(Personal{Consent: room.ConsentRecord{AgreementID: "rec-2026-01", TextSHA256: strings.Repeat("0", 64), Language: "en",
			Decisions: []room.Decision{{Participant: 1, Consented: true, Language: "en", At: t0}}}}, id.Recipient())
		if err != nil {
			t.Fatal(err)
		}
		m.Personal = p
	}
	return m
}

func TestRoundTrip(t *testing.T) {
	id, _ := age.GenerateX25519Identity()
	m := sample(t, id)
	b, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "rec-2026-01") {
		t.Fatal("personal field in clear text")
	}
	got, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	if got.TotalSamples() != 480100 || got.Gaps[0].Reason != "mic_lost" || !got.Segments[1].Partial {
		t.Fatalf("got %+v", got)
	}
	p, err := got.OpenPersonal(id)
	if err != nil {
		t.Fatal(err)
	}
	if p.Consent.AgreementID != "rec-2026-01" || len(p.Consent.Decisions) != 1 {
		t.Fatalf("personal %+v", p)
	}
}

func TestValidateNamesField(t *testing.T) {
	tests := []struct {
		field string
		mut   func(m *Manifest)
	}{
		{"version", func(m *Manifest) { m.Version = 2 }},
		{"session_id", func(m *Manifest) { m.SessionID = "../etc" }},
		{"room_id", func(m *Manifest) { m.RoomID = "a/b" }},
		{"format.codec", func(m *Manifest) { m.Format.Codec = "opus" }},
		{"ended", func(m *Manifest) { m.Ended = m.Started.Add(-time.Second) }},
		{"segments[1].index", func(m *Manifest) { m.Segments[1].Index = 5 }},
		{"segments[0].sha256", func(m *Manifest) { m.Segments[0].SHA256 = "xyz" }},
		{"segments[0].name", func(m *Manifest) { m.Segments[0].Name = "../x" }},
		{"gaps[0].after_segment", func(m *Manifest) { m.Gaps[0].AfterSegment = 9 }},
		{"personal", func(m *Manifest) { m.Personal = "plain text" }},
		{"children: -1", func(m *Manifest) { m.Children = -1 }},
		{"children: 6", func(m *Manifest) { m.Children = 6 }}, // no adult left to record
		{"encrypted_to[0]: role", func(m *Manifest) { m.EncryptedTo = []Access{{Role: "owner", Recipient: m.EncryptedTo[0].Recipient}} }},
		{"encrypted_to[1]: recipient", func(m *Manifest) {
			m.EncryptedTo = append(m.EncryptedTo, Access{Role: RoleSupervisor, Recipient: "AGE-SECRET-KEY-1QQ"})
		}},
		{"encrypted_to: 65 recipients", func(m *Manifest) {
			for len(m.EncryptedTo) <= MaxRecipients {
				m.EncryptedTo = append(m.EncryptedTo, m.EncryptedTo[0])
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.field, func(t *testing.T) {
			m := sample(t, nil)
			tt.mut(m)
			err := m.Validate()
			if err == nil || !strings.Contains(err.Error(), tt.field) {
				t.Fatalf("err = %v, want it to name %s", err, tt.field)
			}
		})
	}
}

func TestParseRejectsUnknownField(t *testing.T) {
	b, _ := sample(t, nil).Marshal()
	b = []byte(strings.Replace(string(b), `"version"`, `"client_name": "x", "version"`, 1))
	if _, err := Parse(b); err == nil {
		t.Fatal("unknown field accepted")
	}
}

func TestDeletion(t *testing.T) {
	if _, err := ParseDeletion([]byte(`{"session_id":"20261102T150405Z-abc123","room_id":"101","requested_at":"2026-11-02T15:10:00Z","reason":"withdrawn"}`)); err != nil {
		t.Fatal(err)
	}
	if _, err := ParseDeletion([]byte(`{"session_id":"x","room_id":"101","requested_at":"2026-11-02T15:10:00Z","reason":"withdrawn"}`)); err == nil {
		t.Fatal("bad id accepted")
	}
}

func FuzzParse(f *testing.F) {
	b, _ := sample(f, nil).Marshal()
	f.Add(b)
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"version":1,"segments":[{"name":"seg-000001.wav.age"}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Parse(b)
		if err != nil {
			return
		}
		out, err := m.Marshal()
		if err != nil {
			t.Fatalf("parsed manifest does not marshal: %v", err)
		}
		if _, err := Parse(out); err != nil {
			t.Fatalf("re-parse: %v", err)
		}
	})
}
