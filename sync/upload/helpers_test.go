package upload

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"roomkiosk/internal/durable"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"roomkiosk/internal/room"
	"roomkiosk/recorder/manifest"
	"roomkiosk/recorder/segment"
)

// testSession is a spool session the tests wrote, with what must arrive.
type testSession struct {
	id      string
	started time.Time
	prefix  string            // object key prefix in room "101"
	objects map[string][]byte // key -> content (segments and manifest)
	dir     string
}

// writeSession writes a complete session like the recorder does: sealed
// segments (random bytes stand in for ciphertext), then the manifest last,
// atomically.
func writeSession(t testing.TB, spool string, started time.Time, segs, size int) testSession {
	t.Helper()
	started = started.UTC().Truncate(time.Second)
	id := fmt.Sprintf("%s-%s", started.Format("20060102T150405Z"), randHex(3))
	dir := filepath.Join(spool, sessionsDir, id)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		t.Fatal(err)
	}
	ts := testSession{id: id, started: started, dir: dir, objects: map[string][]byte{},
		prefix: "rooms/101/sessions/" + started.Format("2006/01/02") + "/" + id + "/"}
	m := manifest.Manifest{
		Version: manifest.Version, SessionID: id, RoomID: "101", DeviceID: "dev1",
		Format:  manifest.Format{Codec: manifest.Codec, SampleRate: 16000, Channels: 1, Bits: 16},
		Started: started, Ended: started.Add(time.Duration(segs) * 30 * time.Second),
		StopReason: "end",
	}
	for i := 1; i <= segs; i++ {
		data := make([]byte, size)
		_, _ = rand.Read(data)
		name := manifest.SegmentName(i, "wav")
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o640); err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(data)
		// Random bytes stand in for ciphertext; the sample count is one the
		// size could hold (manifest.Validate bounds it both ways).
		samples := max(0, int64(size-segment.HeaderSize-1024)/2)
		m.Segments = append(m.Segments, manifest.Segment{Name: name, Index: i, Samples: samples, Bytes: int64(size), SHA256: hex.EncodeToString(sum[:])})
		ts.objects[ts.prefix+name] = data
	}
	b, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if err := writeFileSync(filepath.Join(dir, manifest.FileName), b, 0o640); err != nil {
		t.Fatal(err)
	}
	ts.objects[ts.prefix+manifest.FileName] = b
	return ts
}

func writeDeletion(t testing.TB, spool, id string) []byte {
	t.Helper()
	b := []byte(fmt.Sprintf(`{"session_id":%q,"room_id":"101","requested_at":"2026-11-27T10:00:00Z","reason":"withdrawn"}`, id))
	if err := writeFileSync(filepath.Join(spool, deletionsDir, id+".json"), b, 0o640); err != nil {
		t.Fatal(err)
	}
	return b
}

// The spool's folder names as the tests expect them on disk (recorder/spool
// owns them; spelling them here makes a layout change a visible test change).
const (
	sessionsDir   = "sessions"
	deletionsDir  = "deletions"
	summariesDir  = "summaries"
	quarantineDir = "quarantine"
	uploadedDir   = "uploaded"
	heldManifest  = "manifest.held.json"
)

// writeFileSync writes a test fixture the way the device does.
func writeFileSync(path string, data []byte, perm os.FileMode) error {
	return durable.WriteFile(path, data, durable.Options{Perm: perm, MkdirPerm: 0o750})
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func testConfig() Config {
	c := Default()
	c.Endpoint = "http://127.0.0.1:1"
	c.CredentialsFile = "/nonexistent"
	c.BackoffMax = room.Duration{Duration: time.Second}
	return c
}

func newTestUploader(t testing.TB, cfg Config, spool, logDir string, opts ...Option) *Uploader {
	t.Helper()
	opts = append([]Option{WithRetryBase(20 * time.Millisecond), WithVersion("test")}, opts...)
	u, err := New(cfg, "101", "dev1", spool, logDir, zerolog.New(zerolog.NewTestWriter(t)), opts...)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// spoolEmpty reports whether no complete session or request waits.
func spoolEmpty(t testing.TB, spool string) bool {
	t.Helper()
	for _, d := range []string{sessionsDir, deletionsDir, summariesDir} {
		ents, err := os.ReadDir(filepath.Join(spool, d))
		if err != nil {
			t.Fatal(err)
		}
		if len(ents) > 0 {
			return false
		}
	}
	return true
}

func waitFor(t testing.TB, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
