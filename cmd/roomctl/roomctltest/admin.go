// Package roomctltest is the admin's side of a whole-appliance test: a
// MinIO of its own, an admin identity, and the roomctl binary run as the
// admin against them (keygen, bucket init, sessions, pull). The end-to-end
// tests (kiosk/e2e) and the power-cut test (images/powercut) use it.
package roomctltest

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"roomkiosk/internal/testenv"
	"roomkiosk/sync/archive"
	"roomkiosk/sync/layout"
	"roomkiosk/sync/miniotest"
)

// Admin runs roomctl with the admin's credentials and identity.
type Admin struct {
	Srv       *miniotest.Server
	Bucket    string
	Roomctl   string   // the binary
	Env       []string // roomctl's environment: the server and the admin's credentials
	Key       string   // the admin identity's file
	Recipient string   // its age recipient, for the devices' config
}

// New starts a MinIO, makes an admin identity with `roomctl keygen` and
// the bucket with `roomctl bucket init` (retention one day). roomctl is the
// binary to run.
func New(t testing.TB, roomctl, bucket string) *Admin {
	t.Helper()
	a := &Admin{Srv: miniotest.Start(t), Bucket: bucket, Roomctl: roomctl}
	a.Env = append(os.Environ(),
		"ROOMCTL_ENDPOINT="+a.Srv.Endpoint, "ROOMCTL_ACCESS_KEY="+a.Srv.AccessKey,
		"ROOMCTL_SECRET_KEY="+a.Srv.SecretKey, "ROOMCTL_BUCKET="+bucket,
		"ROOMCTL_MC="+testenv.Tool(t, "mc"))
	a.Key = filepath.Join(t.TempDir(), "admin-identity.txt")
	a.Recipient = strings.TrimSpace(a.Run(t, "", "keygen", "-o", a.Key))
	if !strings.HasPrefix(a.Recipient, "age1") {
		t.Fatalf("roomctl keygen printed %q, want an age recipient", a.Recipient)
	}
	a.Run(t, "", "bucket", "init", "--retention-days", "1")
	return a
}

// Run runs roomctl and fails the test unless it exits 0; it returns stdout.
func (a *Admin) Run(t testing.TB, stdin string, args ...string) string {
	t.Helper()
	out, errOut, err := a.Try(stdin, args...)
	if err != nil {
		t.Fatalf("roomctl %s: %v\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), err, out, errOut)
	}
	return out
}

// Try runs roomctl (for at most 2 minutes) and returns what it printed.
func (a *Admin) Try(stdin string, args ...string) (stdout, stderr string, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, a.Roomctl, args...)
	cmd.Env = a.Env
	cmd.Stdin = strings.NewReader(stdin)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err = cmd.Run()
	return o.String(), e.String(), err
}

// Sessions is `roomctl sessions --room ROOM --json`.
func (a *Admin) Sessions(t testing.TB, room string) []archive.Session {
	t.Helper()
	var rows []archive.Session
	out := a.Run(t, "", "sessions", "--room", room, "--json")
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		t.Fatalf("roomctl sessions --json: %v\n%s", err, out)
	}
	return rows
}

// Pull is `roomctl pull` (it verifies and decrypts with the admin identity)
// into a WAV, which must be mono at rate Hz; it returns the PCM.
func (a *Admin) Pull(t testing.TB, room, session string, rate int) []byte {
	t.Helper()
	out := filepath.Join(t.TempDir(), session+".wav")
	a.Run(t, "", "pull", session, "-i", a.Key, "-o", out, "--room", room)
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w, err := archive.ReadWAV(f)
	if err != nil {
		t.Fatalf("read pulled WAV: %v", err)
	}
	if w.SampleRate != rate || w.Channels != 1 {
		t.Fatalf("pulled WAV is %d Hz %d ch, want %d Hz mono", w.SampleRate, w.Channels, rate)
	}
	return w.PCM
}

// Versions lists every object version under the room's prefix, read with
// the server's root credentials: key -> number of versions.
func (a *Admin) Versions(t testing.TB, room string) map[string]int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out := map[string]int{}
	for o := range a.Srv.Client(t).ListObjects(ctx, a.Bucket, minio.ListObjectsOptions{
		Prefix: layout.RoomPrefix(room), Recursive: true, WithVersions: true}) {
		if o.Err != nil {
			t.Fatalf("list object versions: %v", o.Err)
		}
		out[o.Key]++
	}
	return out
}
