package upload

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"roomkiosk/internal/room"
	"roomkiosk/sync/layout"
	"roomkiosk/sync/store"
	"roomkiosk/sync/store/memstore"
)

func TestLoadCredentials(t *testing.T) {
	const secret = "s3cr3t-VALUE-xyz"
	tests := []struct {
		name, body string
		mode       os.FileMode
		want       string // "" = ok
	}{
		{"ok", "access_key = \"dev101\"\nsecret_key = \"" + secret + "\"\n", 0o600, ""},
		{"owner read only", "access_key = \"dev101\"\nsecret_key = \"" + secret + "\"\n", 0o400, ""},
		{"group readable", "access_key = \"dev101\"\nsecret_key = \"" + secret + "\"\n", 0o640, "mode 0640"},
		{"world readable", "access_key = \"dev101\"\nsecret_key = \"" + secret + "\"\n", 0o644, "chmod 600"},
		{"malformed", "access_key = \"dev101\nsecret_key = \"" + secret + "\"\n", 0o600, "not valid TOML"},
		{"missing secret", "access_key = \"dev101\"\n", 0o600, "secret_key missing"},
		{"unknown key", "access_key = \"a\"\nsecret_key = \"" + secret + "\"\nsecret = \"x\"\n", 0o600, "unknown key secret"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "creds.toml")
			if err := os.WriteFile(p, []byte(tc.body), tc.mode); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(p, tc.mode); err != nil {
				t.Fatal(err)
			}
			c, err := LoadCredentials(p)
			if tc.want == "" {
				if err != nil || c.AccessKey != "dev101" || c.SecretKey != secret {
					t.Fatalf("got %+v, %v", c.AccessKey, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) || !errors.Is(err, ErrCredentials) {
				t.Fatalf("got %v, want an error with %q", err, tc.want)
			}
			if strings.Contains(err.Error(), secret) {
				t.Fatalf("error shows the secret: %v", err)
			}
		})
	}
	if _, err := LoadCredentials(filepath.Join(t.TempDir(), "none")); !errors.Is(err, ErrCredentials) {
		t.Fatalf("missing file: %v", err)
	}
}

// A refused credentials file does not stop New (recording goes on); the
// upload check names the problem.
func TestCredentialsProblemShownByCheck(t *testing.T) {
	p := filepath.Join(t.TempDir(), "creds.toml")
	if err := os.WriteFile(p, []byte("access_key = \"a\"\nsecret_key = \"b\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := testConfig()
	cfg.CredentialsFile = p
	u := newTestUploader(t, cfg, t.TempDir(), "")
	r := u.Checks()[0].Run(context.Background())
	if r.State != room.CheckAbnormal || r.Value != "refused: Credentials" || !strings.Contains(r.Hint, "0600") {
		t.Fatalf("upload check %+v", r)
	}
}

func TestStatusJSON(t *testing.T) {
	spool := t.TempDir()
	mem := memstore.New()
	// The server's clock runs 5 s ahead of the device's.
	mem.SetClock(func() time.Time { return time.Now().Add(5 * time.Second) })
	cfg := testConfig()
	cfg.StatusInterval = room.Duration{Duration: time.Hour} // only door changes put it here
	u := newTestUploader(t, cfg, spool, "", WithStore(mem))
	writeSession(t, spool, time.Now().Add(-time.Minute), 2, 100)

	// The queue is not running: the session stays queued.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan struct{})
	go func() { u.runStatus(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	waitFor(t, "first status", 5*time.Second, func() bool { return mem.Versions(layout.StatusKey("101")) == 1 })

	snap := room.Snapshot{
		RoomID: "101", Door: room.DoorInSession, Recording: true, Recorder: room.RecorderRecording,
		Checks:       []room.CheckResult{{Name: "door", State: room.CheckGood}, {Name: "temperature", State: room.CheckAbnormal, Value: "28 °C"}},
		SessionID:    "20261127T100000Z-abcdef",
		Participants: 2,
		Decisions:    []room.Decision{{Participant: 1, Consented: true, Language: "zh"}},
		Message:      "Recording",
	}
	u.StatusChanged(snap)
	waitFor(t, "status on door change", 5*time.Second, func() bool { return mem.Versions(layout.StatusKey("101")) == 2 })
	// Same door and recording state: no extra put.
	snap.Level = room.Level{RMSdBFS: -30}
	u.StatusChanged(snap)
	time.Sleep(100 * time.Millisecond)
	if n := mem.Versions(layout.StatusKey("101")); n != 2 {
		t.Fatalf("status put on a change that is not the door's: %d versions", n)
	}

	b, _ := mem.Get(layout.StatusKey("101"))
	for _, personal := range []string{"20261127T100000Z-abcdef", "participant", "consent", "zh", "Recording\""} {
		if strings.Contains(string(b), personal) {
			t.Errorf("status.json holds %q:\n%s", personal, b)
		}
	}
	st, err := layout.ParseStatus(b)
	if err != nil {
		t.Fatal(err)
	}
	switch {
	case st.RoomID != "101" || st.DeviceID != "dev1" || st.Version != "test":
		t.Errorf("identity %+v", st)
	case st.Door != room.DoorInSession || !st.Recording || st.Recorder != room.RecorderRecording:
		t.Errorf("door/recording %+v", st)
	case len(st.Failing()) != 1 || st.Failing()[0] != "temperature":
		t.Errorf("failing checks %v", st.Failing())
	case st.Queue.Sessions != 1 || st.Queue.Objects != 3 || st.Queue.Bytes < 200 || st.Queue.OldestAgeSec < 0:
		t.Errorf("queue %+v", st.Queue)
	case st.FreeDiskBytes == 0:
		t.Errorf("free disk not measured")
	case st.ClockOffsetMS < 3500 || st.ClockOffsetMS > 6500:
		t.Errorf("clock offset %d ms, want about 5000", st.ClockOffsetMS)
	case time.Since(st.At) > time.Minute:
		t.Errorf("at %v", st.At)
	}

	// The clock check sees the same offset, with the displays' sign: the
	// server is 5 s ahead, so the device is behind.
	r := u.Checks()[1].Run(context.Background())
	if r.Name != CheckClock || r.State != room.CheckAbnormal || !strings.HasPrefix(r.Value, "-") || !strings.HasSuffix(r.Value, "(device behind)") {
		t.Errorf("clock check %+v", r)
	}
}

func TestClockCheckGood(t *testing.T) {
	u := newTestUploader(t, testConfig(), t.TempDir(), "", WithStore(memstore.New()))
	r := u.Checks()[1].Run(context.Background())
	if r.State != room.CheckGood {
		t.Fatalf("clock check %+v", r)
	}
	if r := u.Checks()[0].Run(context.Background()); r.State != room.CheckGood {
		t.Fatalf("upload check %+v", r)
	}
}

func TestClockCheckUnknownWhenUnreachable(t *testing.T) {
	mem := memstore.New()
	mem.FailWith(func(key string) error {
		return &store.Error{Key: key, Kind: store.Temporary, Err: errors.New("no route to host")}
	})
	u := newTestUploader(t, testConfig(), t.TempDir(), "", WithStore(mem))
	if r := u.Checks()[1].Run(context.Background()); r.State != room.CheckUnknown {
		t.Fatalf("clock check %+v", r)
	}
	if r := u.Checks()[0].Run(context.Background()); r.State != room.CheckAbnormal || r.Value != "unreachable" {
		t.Fatalf("upload check %+v", r)
	}
}

func TestSessionSummary(t *testing.T) {
	spool := t.TempDir()
	mem := memstore.New()
	u := newTestUploader(t, testConfig(), spool, "", WithStore(mem), WithRetentionClass("supervision"))
	started := time.Date(2026, 11, 27, 23, 50, 0, 0, time.FixedZone("CST", 8*3600)) // 15:50 UTC
	rated := room.Summary{ID: "20261127T155000Z-abcdef", Started: started, Ended: started.Add(50 * time.Minute),
		Participants: 2, WantRecording: true, Recorded: true, Feedback: 4}
	declined := room.Summary{ID: "20261127T170000Z-abcdef", Started: started.Add(70 * time.Minute), Ended: started.Add(2 * time.Hour),
		Participants: 3, WantRecording: true, Declined: true}
	u.SessionEnded(rated)
	u.SessionEnded(declined)
	u.SessionEnded(room.Summary{ID: "../../etc/passwd", Started: started}) // refused, never written
	for _, id := range []string{rated.ID, declined.ID} {
		waitFor(t, "summary queued", 5*time.Second, func() bool {
			_, err := os.Stat(filepath.Join(spool, summariesDir, id+".json"))
			return err == nil
		})
	}
	if err := u.drain(context.Background()); err != nil {
		t.Fatal(err)
	}
	b, ok := mem.Get("rooms/101/sessions/2026/11/27/20261127T155000Z-abcdef/summary.json")
	var got layout.SummaryRecord
	if !ok || json.Unmarshal(b, &got) != nil || got.RoomID != "101" || got.Feedback != 4 || !got.Recorded || got.Participants != 2 || got.RetentionClass != "supervision" {
		t.Fatalf("summary object %q", b)
	}
	b, ok = mem.Get("rooms/101/sessions/2026/11/27/20261127T170000Z-abcdef/summary.json")
	if !ok || !strings.Contains(string(b), `"declined":true`) || strings.Contains(string(b), `"feedback"`) {
		t.Fatalf("declined session's summary %q", b)
	}
	if len(mem.Keys()) != 2 || !spoolEmpty(t, spool) {
		t.Fatalf("keys %v", mem.Keys())
	}
}

func TestBadSummaryQuarantined(t *testing.T) {
	spool := t.TempDir()
	mem := memstore.New()
	u := newTestUploader(t, testConfig(), spool, "", WithStore(mem))
	bad := filepath.Join(spool, summariesDir, "20261127T155000Z-abcdef.json")
	if err := os.WriteFile(bad, []byte(`{"session_id": "20261127T155000Z-abcdef", "started": "yesterday"}`), 0o640); err != nil {
		t.Fatal(err)
	}
	if err := u.drain(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(mem.Keys()) != 0 {
		t.Fatalf("a summary that does not parse was uploaded: %v", mem.Keys())
	}
	if _, err := os.Stat(filepath.Join(spool, quarantineDir, summariesDir, "20261127T155000Z-abcdef.json")); err != nil {
		t.Fatalf("bad summary not quarantined: %v", err)
	}
}

// A check turning abnormal while the room stays free must reach status.json
// at once, not at the next period; a level update alone must not.
func TestStatusChangedKicksOnCheckStates(t *testing.T) {
	u := newTestUploader(t, testConfig(), t.TempDir(), "", WithStore(memstore.New()))
	kicked := func() bool {
		select {
		case <-u.statusKick:
			return true
		default:
			return false
		}
	}
	snap := room.Snapshot{Door: room.DoorFree, Checks: []room.CheckResult{{Name: "door", State: room.CheckGood}}}
	u.StatusChanged(snap)
	if !kicked() {
		t.Fatal("first snapshot: no immediate put")
	}
	snap.Level = room.Level{RMSdBFS: -20}
	u.StatusChanged(snap)
	if kicked() {
		t.Fatal("a level change asked for an immediate put")
	}
	snap.Checks = []room.CheckResult{{Name: "door", State: room.CheckAbnormal}}
	u.StatusChanged(snap)
	if !kicked() {
		t.Fatal("a check turning abnormal did not ask for an immediate put")
	}
	if got := u.Status(); len(got.Checks) != 1 || got.Checks[0].State != room.CheckAbnormal {
		t.Fatalf("status checks = %+v", got.Checks)
	}
}
