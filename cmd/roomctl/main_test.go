package main

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

	"filippo.io/age"
	"github.com/BurntSushi/toml"
	"github.com/minio/minio-go/v7"
	"github.com/rs/zerolog"

	"roomkiosk/internal/room"
	"roomkiosk/internal/testenv"
	"roomkiosk/kiosk/pin"
	"roomkiosk/recorder/manifest"
	"roomkiosk/recorder/spool"
	"roomkiosk/sync/admin"
	"roomkiosk/sync/admin/admintest"
	"roomkiosk/sync/archive"
	"roomkiosk/sync/archive/archivetest"
	"roomkiosk/sync/miniotest"
	"roomkiosk/sync/upload"
)

// result is one in-process run of roomctl.
type result struct {
	code           int
	stdout, stderr string
}

func runT(t *testing.T, env map[string]string, stdin string, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	a := &app{stdin: strings.NewReader(stdin), stdout: &out, stderr: &errb, getenv: func(k string) string { return env[k] }}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	code := a.run(ctx, args)
	return result{code, out.String(), errb.String()}
}

func TestUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{nil, exitUsage, "usage:"},
		{[]string{"frobnicate"}, exitUsage, `unknown command "frobnicate"`},
		{[]string{"help"}, exitOK, "roomctl pull SESSION"},
		{[]string{"bucket"}, exitUsage, "bucket init"},
		{[]string{"deletions", "list"}, exitUsage, "deletions apply"},
		{[]string{"deletions", "request"}, exitUsage, "want 1 argument(s) SESSION"},
		{[]string{"deletions", "request", "20261102T150405Z-abc123"}, exitUsage, "missing --reason CODE"},
		{[]string{"hold"}, exitUsage, "roomctl hold set SESSION --reason CODE"},
		{[]string{"hold", "set", "20261102T150405Z-abc123"}, exitUsage, "hold set: missing --reason CODE"},
		{[]string{"retention"}, exitUsage, "want show, set FILE, apply or extend"},
		{[]string{"retention", "set"}, exitUsage, "want 1 argument(s) FILE"},
		{[]string{"retention", "extend", "20261102T150405Z-abc123", "--until", "2030-01-01"}, exitUsage, "want --until DATE and --reason CODE"},
		{[]string{"retention", "apply", "--since", "2026-01-01", "--last-days", "3"}, exitUsage, "not both"},
		{[]string{"dispose", "extra"}, exitUsage, "want 0 argument(s)"},
		{[]string{"dispose", "--limit", "-1"}, exitUsage, "--limit must be 0 or more"},
		{[]string{"sessions"}, exitUsage, "missing endpoint (--endpoint or ROOMCTL_ENDPOINT), access key"},
		{[]string{"status", "--endpoint", "http://127.0.0.1:1", "--access-key", "a", "--bucket", "b"}, exitUsage, "missing secret key (ROOMCTL_SECRET_KEY or --secret-key-file)"},
		{[]string{"status", "--endpoint", "127.0.0.1:9000", "--access-key", "a", "--secret-key-file", "/dev/null", "--bucket", "b"}, exitFailure, "secret key file /dev/null is empty"},
		{[]string{"status", "--endpoint", "http://127.0.0.1:1", "--access-key", "a", "--secret-key", "s", "--bucket", "b"}, exitUsage, "--secret-key is not accepted"},
		{[]string{"deletions", "apply", "--session", "20261102T150405Z-abc123"}, exitUsage, "--session needs --room"},
		{[]string{"revoke"}, exitUsage, "want 1 argument(s) ROOM"},
		{[]string{"revoke", "../x"}, exitUsage, "may hold only letters"},
		{[]string{"sessions", "--since", "yesterday"}, exitUsage, `--since "yesterday": not a date`},
		{[]string{"pull"}, exitUsage, "want 1 argument(s) SESSION"},
		{[]string{"pull", "20261102T150405Z-abc123"}, exitUsage, "missing -i IDENTITY and -o OUT.wav"},
		{[]string{"pull", "20261102T150405Z-abc123", "-i", "/nonexistent/key", "-o", "x.wav"}, exitFailure, "read identity"},
		{[]string{"pull", "--bogus"}, exitUsage, "flag provided but not defined: -bogus"},
		{[]string{"provision"}, exitUsage, "want 1 argument(s) ROOM"},
		{[]string{"provision", "10/1", "--endpoint", "http://x:9000", "--bucket", "b"}, exitUsage, "may hold only letters"},
		{[]string{"provision", "101", "--apply", "--endpoint", "http://x:9000", "--bucket", "b"}, exitUsage, "--apply needs --credentials-out"},
		{[]string{"provision", "101"}, exitUsage, "missing endpoint"},
		{[]string{"bucket", "init", "--retention-days", "0"}, exitUsage, "at least 1"},
		{[]string{"keygen", "extra"}, exitUsage, "want 0 argument(s)"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			r := runT(t, nil, "", tc.args...)
			if r.code != tc.code || !strings.Contains(r.stdout+r.stderr, tc.want) {
				t.Fatalf("exit %d, want %d; output lacks %q:\n%s%s", r.code, tc.code, tc.want, r.stdout, r.stderr)
			}
		})
	}
}

func TestKeygen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "admin.key")
	r := runT(t, nil, "", "keygen", "-o", path)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("identity file mode %v %v", fi.Mode(), err)
	}
	ids, err := readIdentities(path)
	if err != nil || len(ids) != 1 {
		t.Fatalf("identities %v %v", ids, err)
	}
	if got, want := strings.TrimSpace(r.stdout), ids[0].(*age.X25519Identity).Recipient().String(); got != want {
		t.Fatalf("printed %q, want recipient %q", got, want)
	}
	before, _ := os.ReadFile(path)
	r = runT(t, nil, "", "keygen", "-o", path)
	after, _ := os.ReadFile(path)
	if r.code != exitFailure || !strings.Contains(r.stderr, "refusing to overwrite") || !bytes.Equal(before, after) {
		t.Fatalf("second keygen: exit %d %s", r.code, r.stderr)
	}
	// Without -o the identity goes to stdout, the recipient to stderr.
	r = runT(t, nil, "", "keygen")
	if r.code != 0 || !strings.Contains(r.stdout, "AGE-SECRET-KEY-1") || !strings.Contains(r.stderr, "Public key: age1") {
		t.Fatalf("keygen to stdout: %+v", r)
	}
}

func TestPinHash(t *testing.T) {
	for _, tc := range []struct {
		name, stdin string
		code        int
		want        string
	}{
		{"ok", "2468\n", 0, "$argon2id$"},
		{"no newline", "13579", 0, "$argon2id$"},
		{"crlf", "1234\r\n", 0, "$argon2id$"},
		{"too short", "12\n", exitFailure, "4 to 8 digits"},
		{"letters", "12ab\n", exitFailure, "digits only"},
		{"empty", "", exitFailure, "read pin"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runT(t, nil, tc.stdin, "pin-hash")
			if r.code != tc.code || !strings.Contains(r.stdout+r.stderr, tc.want) {
				t.Fatalf("exit %d, output %q %q", r.code, r.stdout, r.stderr)
			}
			if tc.code == 0 {
				p := strings.TrimRight(tc.stdin, "\r\n")
				if h := strings.TrimSpace(r.stdout); !pin.Verify(h, p) || pin.Verify(h, "0000") {
					t.Fatalf("hash %q does not verify %q", h, p)
				}
			}
		})
	}
}

// fleet is one MinIO server and an admin environment for the server tests.
type fleet struct {
	srv *miniotest.Server
	env map[string]string
	cl  *minio.Client
	id  *age.X25519Identity
	key string // identity file
	ctx context.Context
}

func newFleet(t *testing.T) *fleet {
	srv := miniotest.Start(t)
	f := &fleet{srv: srv, env: map[string]string{
		"ROOMCTL_ENDPOINT": srv.Endpoint, "ROOMCTL_ACCESS_KEY": srv.AccessKey,
		"ROOMCTL_SECRET_KEY": srv.SecretKey, "ROOMCTL_BUCKET": "clinic",
		"ROOMCTL_MC": testenv.Tool(t, "mc"),
		// Never the real user's cache.
		"ROOMCTL_CACHE_DIR": t.TempDir(),
	}}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	t.Cleanup(cancel)
	f.ctx = ctx
	c, err := admin.Conn{}.FromEnv(func(k string) string { return f.env[k] }).Client()
	if err != nil {
		t.Fatal(err)
	}
	f.cl = c
	f.key = filepath.Join(t.TempDir(), "admin.key")
	if r := runT(t, nil, "", "keygen", "-o", f.key); r.code != 0 {
		t.Fatal(r.stderr)
	}
	ids, _ := readIdentities(f.key)
	f.id = ids[0].(*age.X25519Identity)
	return f
}

// TestServer runs every server command against one real MinIO (and mc):
// starting MinIO costs seconds on a shared two-core machine.
func TestServer(t *testing.T) {
	f := newFleet(t)

	t.Run("BucketInit", func(t *testing.T) {
		r := runT(t, f.env, "", "bucket", "init", "--retention-days", "7", "--json")
		if r.code != 0 {
			t.Fatalf("exit %d: %s", r.code, r.stderr)
		}
		var st admin.BucketState
		if err := json.Unmarshal([]byte(r.stdout), &st); err != nil {
			t.Fatal(err)
		}
		if !st.Created || st.Versioning != "Enabled" || !st.ObjectLock || st.RetentionMode != "GOVERNANCE" || st.RetentionDays != 7 {
			t.Fatalf("state %+v", st)
		}
		// Read back independently of roomctl.
		if v, err := f.cl.GetBucketVersioning(f.ctx, "clinic"); err != nil || v.Status != "Enabled" {
			t.Fatalf("versioning %+v %v", v, err)
		}
		if lock, mode, days, _, err := f.cl.GetObjectLockConfig(f.ctx, "clinic"); err != nil || lock != "Enabled" || mode == nil || *mode != minio.Governance || *days != 7 {
			t.Fatalf("lock %q %v %v %v", lock, mode, days, err)
		}
		r = runT(t, f.env, "", "bucket", "init")
		if r.code != 0 || !strings.Contains(r.stdout, "bucket clinic checked") || !strings.Contains(r.stdout, "365 days") {
			t.Fatalf("second init: %+v", r)
		}
	})

	devCreds := filepath.Join(t.TempDir(), "dev-101.toml")
	t.Run("ProvisionApply", func(t *testing.T) {
		r := runT(t, f.env, "", "provision", "101", "--apply", "--credentials-out", devCreds)
		if r.code != 0 {
			t.Fatalf("exit %d: %s", r.code, r.stderr)
		}
		// The [storage] section alone on stdout (> storage.toml works);
		// the policy on stderr.
		if !strings.Contains(r.stderr, `"arn:aws:s3:::clinic/rooms/101/*"`) || !strings.HasPrefix(r.stdout, "# Device config for room 101") ||
			strings.Contains(r.stdout, "arn:aws") || !strings.Contains(r.stdout, "[storage]") {
			t.Fatalf("stdout: %s\nstderr: %s", r.stdout, r.stderr)
		}
		var parsed struct{ Storage map[string]any }
		if _, err := toml.Decode(r.stdout, &parsed); err != nil || parsed.Storage["bucket"] != "clinic" {
			t.Fatalf("stdout is not the [storage] TOML: %v %+v", err, parsed)
		}
		creds, err := upload.LoadCredentials(devCreds) // the device's own loader (checks mode 0600)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(r.stdout+r.stderr, creds.SecretKey) {
			t.Fatal("the device secret was printed")
		}
		admintest.CheckDeviceRights(t, f.srv.ClientFor(t, creds.AccessKey, creds.SecretKey), "clinic", "101", "102")
		// Refuses to overwrite the credentials of a working device.
		r = runT(t, f.env, "", "provision", "101", "--apply", "--credentials-out", devCreds)
		if r.code != exitFailure || !strings.Contains(r.stderr, "exists already") {
			t.Fatalf("overwrite: %+v", r)
		}
	})

	t.Run("ProvisionWithoutMC", func(t *testing.T) {
		env := clone(f.env)
		delete(env, "ROOMCTL_MC")
		t.Setenv("PATH", t.TempDir()) // no mc on PATH
		out := filepath.Join(t.TempDir(), "dev-102.toml")
		r := runT(t, env, "", "provision", "102", "--apply", "--credentials-out", out)
		if r.code != 0 || !strings.Contains(r.stderr, "mc is not on PATH") || !strings.Contains(r.stderr, "mc admin policy attach roomctl roomkiosk-clinic-102 --user RK") || strings.Contains(r.stdout, "mc ") {
			t.Fatalf("%+v", r)
		}
		if _, err := os.Stat(out); err != nil {
			t.Fatal(err)
		}
	})

	// A realistic session goes up through the device's own uploader with
	// the credentials provision made, and comes back through roomctl.
	src := archivetest.Build(t, archivetest.Spec{Room: "101", Started: time.Now().UTC().Add(-time.Hour).Truncate(time.Second),
		Segments: []archivetest.SegSpec{{Frames: 160000}, {Frames: 160000, GapAfter: 32000}, {Frames: 50000}}}, f.id.Recipient())
	id := src.Manifest.SessionID
	t.Run("Upload", func(t *testing.T) {
		if _, err := os.Stat(devCreds); err != nil {
			t.Fatal("provision failed")
		}
		sp := spool.Spool{Root: t.TempDir()}
		if err := sp.Init(); err != nil {
			t.Fatal(err)
		}
		dir := sp.SessionDir(id)
		if err := os.MkdirAll(dir, 0o750); err != nil {
			t.Fatal(err)
		}
		for name, b := range src.Files {
			if err := os.WriteFile(filepath.Join(dir, name), b, 0o640); err != nil {
				t.Fatal(err)
			}
		}
		if err := sp.WriteManifest(src.Manifest); err != nil {
			t.Fatal(err)
		}
		cfg := upload.Default()
		cfg.Endpoint, cfg.Bucket, cfg.CredentialsFile = f.srv.Endpoint, "clinic", devCreds
		u, err := upload.New(cfg, "101", "101", sp.Root, t.TempDir(), zerolog.Nop())
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(f.ctx)
		done := make(chan struct{})
		go func() { defer close(done); u.Run(ctx) }()
		defer func() { cancel(); <-done }()
		u.StatusChanged(room.Snapshot{RoomID: "101", Door: room.DoorFree})
		deadline := time.Now().Add(time.Minute)
		for {
			if _, err := f.cl.StatObject(f.ctx, "clinic", src.Prefix+manifest.FileName, minio.StatObjectOptions{}); err == nil {
				if _, err := f.cl.StatObject(f.ctx, "clinic", "rooms/101/status.json", minio.StatObjectOptions{}); err == nil {
					break
				}
			}
			if time.Now().After(deadline) {
				t.Fatalf("the uploader did not upload the session in a minute: %+v", u.Status().Queue)
			}
			time.Sleep(100 * time.Millisecond)
		}
	})

	t.Run("Sessions", func(t *testing.T) {
		r := runT(t, f.env, "", "sessions", "--json")
		if r.code != 0 {
			t.Fatalf("exit %d: %s", r.code, r.stderr)
		}
		var rows []archive.Session
		if err := json.Unmarshal([]byte(r.stdout), &rows); err != nil {
			t.Fatal(err)
		}
		if len(rows) != 1 || rows[0].Session != id || rows[0].Room != "101" || rows[0].Segments != 3 || rows[0].State != "partial" {
			t.Fatalf("rows %+v", rows)
		}
		day := src.Manifest.Started.Format("2006-01-02")
		r = runT(t, f.env, "", "sessions", "--room", "101", "--since", day, "--until", day)
		t.Logf("roomctl sessions:\n%s", r.stdout)
		if r.code != 0 || !strings.Contains(r.stdout, "ROOM") || !strings.Contains(r.stdout, id) {
			t.Fatalf("table: %+v", r)
		}
		r = runT(t, f.env, "", "sessions", "--until", "2020-01-01")
		if r.code != 0 || strings.Contains(r.stdout, id) || !strings.Contains(r.stderr, "no sessions match") {
			t.Fatalf("until: %+v", r)
		}
	})

	t.Run("Pull", func(t *testing.T) {
		out := filepath.Join(t.TempDir(), "session.wav")
		r := runT(t, f.env, "", "pull", id, "-i", f.key, "-o", out)
		if r.code != 0 {
			t.Fatalf("exit %d: %s", r.code, r.stderr)
		}
		fh, err := os.Open(out)
		if err != nil {
			t.Fatal(err)
		}
		w, err := archive.ReadWAV(fh)
		fh.Close()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(w.PCM, src.WantPCM) || w.SampleRate != 16000 {
			t.Fatalf("WAV differs from the source: %d bytes vs %d", len(w.PCM), len(src.WantPCM))
		}
		if !strings.Contains(r.stdout, "2s of silence for gaps") {
			t.Fatalf("stdout %q", r.stdout)
		}
		recs, err := admin.ReadAudit(f.ctx, f.cl, "clinic")
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, rec := range recs {
			found = found || rec.Action == "pull" && rec.Session == id && rec.Who == f.srv.AccessKey && rec.Result == "ok"
		}
		if !found {
			t.Fatalf("no audit record of the pull in %+v", recs)
		}
	})

	t.Run("PullTampered", func(t *testing.T) {
		key := src.Prefix + "seg-000002.wav.age"
		b := bytes.Clone(src.Files["seg-000002.wav.age"])
		b[1000] ^= 0x80
		if _, err := f.cl.PutObject(f.ctx, "clinic", key, bytes.NewReader(b), int64(len(b)), minio.PutObjectOptions{SendContentMd5: true}); err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		out := filepath.Join(dir, "session.wav")
		r := runT(t, f.env, "", "pull", id, "-i", f.key, "-o", out)
		if r.code != exitFailure || !strings.Contains(r.stderr, "seg-000002.wav.age (2 versions)") || !strings.Contains(r.stderr, "tampered") {
			t.Fatalf("exit %d: %s", r.code, r.stderr)
		}
		if left, _ := os.ReadDir(dir); len(left) != 0 {
			t.Fatalf("left behind: %v", left)
		}
		recs, _ := admin.ReadAudit(f.ctx, f.cl, "clinic")
		if last := recs[len(recs)-1]; last.Action != "pull" || last.Result == "ok" || last.Room != "101" {
			t.Fatalf("failed pull not audited: %+v", last)
		}
		// --original pulls the first versions, audited as such.
		r = runT(t, f.env, "", "pull", id, "-i", f.key, "-o", out, "--original")
		if r.code != 0 || !strings.Contains(r.stderr, "TAMPERED") {
			t.Fatalf("pull --original: %+v", r)
		}
		fh, err := os.Open(out)
		if err != nil {
			t.Fatal(err)
		}
		w, err := archive.ReadWAV(fh)
		fh.Close()
		if err != nil || !bytes.Equal(w.PCM, src.WantPCM) {
			t.Fatalf("pull --original is not the original audio: %v", err)
		}
		recs, _ = admin.ReadAudit(f.ctx, f.cl, "clinic")
		if last := recs[len(recs)-1]; last.Action != "pull" || last.Result != "ok" || !strings.Contains(last.Detail, "TAMPERED") {
			t.Fatalf("pull --original not audited as such: %+v", last)
		}
	})

	t.Run("Status", func(t *testing.T) {
		// A room that uploaded something once but never a status.
		if _, err := f.cl.PutObject(f.ctx, "clinic", "rooms/103/checks/x.jsonl", strings.NewReader("{}"), 2, minio.PutObjectOptions{SendContentMd5: true}); err != nil {
			t.Fatal(err)
		}
		// Room 102 provisioned with mc (its earlier provision without mc
		// made no device user) and no kiosk installed: the admins' own
		// audit record is all there is of it. Room 105 provisioned, then
		// revoked.
		for _, args := range [][]string{
			{"provision", "102", "--apply", "--credentials-out", filepath.Join(t.TempDir(), "dev-102.toml")},
			{"provision", "105", "--apply", "--credentials-out", filepath.Join(t.TempDir(), "dev-105.toml")},
			{"revoke", "105"},
		} {
			if r := runT(t, f.env, "", args...); r.code != 0 {
				t.Fatalf("%v: exit %d: %s", args, r.code, r.stderr)
			}
		}
		r := runT(t, f.env, "", "status", "--json")
		if r.code != 0 {
			t.Fatalf("exit %d: %s", r.code, r.stderr)
		}
		var rows []archive.RoomStatus
		if err := json.Unmarshal([]byte(r.stdout), &rows); err != nil {
			t.Fatal(err)
		}
		if len(rows) != 4 || rows[0].Room != "101" || rows[0].Status == nil || rows[0].Stale || rows[0].NeverSeen || rows[0].Revoked || rows[0].Provisioned.IsZero() ||
			rows[1].Room != "102" || !rows[1].NeverSeen || rows[1].Revoked || rows[1].Provisioned.IsZero() || rows[1].Error != "" ||
			rows[2].Room != "103" || !rows[2].Stale || rows[2].NeverSeen || !rows[2].Provisioned.IsZero() ||
			rows[3].Room != "105" || !rows[3].Revoked || !rows[3].NeverSeen {
			t.Fatalf("rows %+v", rows)
		}
		r = runT(t, f.env, "", "status")
		t.Logf("roomctl status:\n%s", r.stdout)
		if r.code != 0 || !strings.Contains(r.stdout, "LAST SEEN") || !strings.Contains(r.stdout, "STALE never") {
			t.Fatalf("table: %s", r.stdout)
		}
		lines := strings.Split(r.stdout, "\n")
		for room, want := range map[string][]string{"102": {"never seen (provisioned "}, "105": {"REVOKED", "never seen"}, "101": {"free"}} {
			found := false
			for _, l := range lines {
				if strings.HasPrefix(l, room+" ") {
					found = true
					for _, w := range want {
						if !strings.Contains(l, w) {
							t.Errorf("room %s: %q lacks %q", room, l, w)
						}
					}
				}
			}
			if !found {
				t.Errorf("room %s not listed:\n%s", room, r.stdout)
			}
		}
	})

	t.Run("DeletionsApply", func(t *testing.T) {
		// The device asks for the deletion through its uploader (as after a
		// withdrawal with "delete").
		creds, _ := upload.LoadCredentials(devCreds)
		dev := f.srv.ClientFor(t, creds.AccessKey, creds.SecretKey)
		b, _ := json.Marshal(manifest.Deletion{SessionID: id, RoomID: "101", RequestedAt: time.Now().UTC(), Reason: "withdrawn"})
		if _, err := dev.PutObject(f.ctx, "clinic", archive.DeletionKey("101", id), bytes.NewReader(b), int64(len(b)), minio.PutObjectOptions{SendContentMd5: true}); err != nil {
			t.Fatal(err)
		}
		// This session was recorded and never withdrawn: nothing the
		// device wrote at the time backs the request, so it is suspicious.
		r := runT(t, f.env, "", "deletions", "apply", "--dry-run")
		if r.code != 0 || !strings.Contains(r.stdout, id) || !strings.Contains(r.stdout, "suspicious") {
			t.Fatalf("dry run: %+v", r)
		}
		r = runT(t, f.env, "", "deletions", "apply", "--json")
		if r.code != exitFailure || !strings.Contains(r.stderr, "suspicious") {
			t.Fatalf("exit %d: %s", r.code, r.stderr)
		}
		var outs []archive.DeletionOutcome
		if err := json.Unmarshal([]byte(r.stdout), &outs); err != nil {
			t.Fatal(err)
		}
		if len(outs) != 1 || !outs[0].Suspicious || len(outs[0].Removed) != 0 {
			t.Fatalf("outcomes %+v", outs)
		}
		// Named without --confirm: refused. With it: applied.
		r = runT(t, f.env, "", "deletions", "apply", "--session", id, "--room", "101")
		if r.code != exitFailure || !strings.Contains(r.stderr, "confirm") {
			t.Fatalf("named without --confirm: %+v", r)
		}
		r = runT(t, f.env, "", "deletions", "apply", "--session", id, "--room", "101", "--confirm", "--json")
		if r.code != 0 {
			t.Fatalf("exit %d: %s", r.code, r.stderr)
		}
		outs = nil
		if err := json.Unmarshal([]byte(r.stdout), &outs); err != nil {
			t.Fatal(err)
		}
		// 3 segments (one with two versions) and the manifest.
		if len(outs) != 1 || !strings.HasPrefix(outs[0].Result, "ok") || len(outs[0].Removed) != 5 {
			t.Fatalf("outcomes %+v", outs)
		}
		// Nothing of the session or its request remains under the room;
		// the tombstone is under admin/.
		var left []string
		for obj := range f.cl.ListObjects(f.ctx, "clinic", minio.ListObjectsOptions{Prefix: "rooms/101/", Recursive: true, WithVersions: true}) {
			if strings.Contains(obj.Key, id) {
				left = append(left, obj.Key)
			}
		}
		if len(left) != 0 {
			t.Fatalf("versions of the session or its request remain: %v", left)
		}
		if _, err := f.cl.StatObject(f.ctx, "clinic", "admin/tombstones/101/"+id+".json", minio.StatObjectOptions{}); err != nil {
			t.Fatalf("tombstone: %v", err)
		}
		recs, _ := admin.ReadAudit(f.ctx, f.cl, "clinic")
		if last := recs[len(recs)-1]; last.Action != "delete-session" || last.Session != id || len(last.Objects) != 6 || !strings.HasPrefix(last.Result, "ok") {
			t.Fatalf("audit %+v", last)
		}
		r = runT(t, f.env, "", "pull", id, "-i", f.key, "-o", filepath.Join(t.TempDir(), "x.wav"))
		if r.code != exitFailure || !strings.Contains(r.stderr, "no recording") {
			t.Fatalf("pull after deletion: %+v", r)
		}
		r = runT(t, f.env, "", "audit", "--since", time.Now().UTC().Format("2006-01-02"))
		for _, want := range []string{"bucket-init", "provision", "pull", "delete-session", f.srv.AccessKey} {
			if !strings.Contains(r.stdout, want) {
				t.Errorf("audit lacks %q:\n%s", want, r.stdout)
			}
		}
		t.Logf("roomctl audit:\n%s", r.stdout)
		if r := runT(t, f.env, "", "audit", "--since", "2999-01-01", "--json"); r.code != 0 || strings.TrimSpace(r.stdout) != "[]" {
			t.Fatalf("audit in the future: %+v", r)
		}
	})
}

func clone(m map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range m {
		out[k] = v
	}
	return out
}

// TestBinary builds roomctl without cgo, as admins do, and runs it as a
// program against a MinIO served over TLS by a private CA (ROOMCTL_CA):
// exit codes, the environment and the CA reach it, and mc gets the CA too.
func TestBinary(t *testing.T) {
	bin := buildRoomctl(t)
	srv := miniotest.StartTLS(t)
	run := func(env []string, args ...string) (int, string) {
		cmd := exec.Command(bin, args...)
		cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}, env...)
		out, _ := cmd.CombinedOutput()
		return cmd.ProcessState.ExitCode(), string(out)
	}
	noCA := []string{"ROOMCTL_ENDPOINT=" + srv.Endpoint, "ROOMCTL_ACCESS_KEY=" + srv.AccessKey, "ROOMCTL_SECRET_KEY=" + srv.SecretKey, "ROOMCTL_BUCKET=bin"}
	env := append(noCA[:4:4], "ROOMCTL_CA="+srv.CAFile, "ROOMCTL_MC="+testenv.Tool(t, "mc"))
	if code, out := run(nil, "sessions"); code != exitUsage || !strings.Contains(out, "ROOMCTL_ENDPOINT") {
		t.Fatalf("no env: exit %d %s", code, out)
	}
	if code, out := run(noCA, "bucket", "init"); code != exitFailure || !strings.Contains(out, "certificate") {
		t.Fatalf("without the CA: exit %d %s", code, out)
	}
	if code, out := run(env, "bucket", "init"); code != 0 || !strings.Contains(out, "bucket bin created") {
		t.Fatalf("bucket init: exit %d %s", code, out)
	}
	if code, out := run(env, "sessions", "--json"); code != 0 || strings.TrimSpace(out) != "[]" {
		t.Fatalf("sessions: exit %d %q", code, out)
	}
	creds := filepath.Join(t.TempDir(), "dev.toml")
	if code, out := run(env, "provision", "201", "--apply", "--credentials-out", creds); code != 0 || !strings.Contains(out, `ca_file = "/etc/roomkiosk/clinic-ca.pem"`) {
		t.Fatalf("provision over TLS: exit %d %s", code, out)
	}
	c, err := upload.LoadCredentials(creds)
	if err != nil {
		t.Fatal(err)
	}
	admintest.CheckDeviceRights(t, srv.ClientFor(t, c.AccessKey, c.SecretKey), "bin", "201", "202")
	bad := append(env[:3:3], "ROOMCTL_BUCKET=missing-bucket", "ROOMCTL_CA="+srv.CAFile)
	if code, out := run(bad, "status"); code != exitFailure || !strings.Contains(out, "bucket does not exist") {
		t.Fatalf("missing bucket: exit %d %s", code, out)
	}
}
