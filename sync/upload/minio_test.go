package upload

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"roomkiosk/internal/room"
	"roomkiosk/sync/layout"
	"roomkiosk/sync/miniotest"
)

const testBucket = "roomkiosk"

// deviceConfig starts nothing: it provisions room 101 on srv like roomctl
// does (write-only user, 0600 credentials file) and returns the config.
func deviceConfig(t testing.TB, srv *miniotest.Server) Config {
	t.Helper()
	ak, sk := srv.AddWriteOnlyUser(t, testBucket, "rooms/101/")
	p := filepath.Join(t.TempDir(), "device-credentials.toml")
	if err := os.WriteFile(p, []byte("access_key = \""+ak+"\"\nsecret_key = \""+sk+"\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := Default()
	cfg.Endpoint = srv.Endpoint
	cfg.Bucket = testBucket
	cfg.CredentialsFile = p
	cfg.BackoffMax = room.Duration{Duration: time.Second}
	return cfg
}

// versions lists every object version under prefix with root credentials.
func versions(t testing.TB, c *minio.Client, prefix string) map[string]int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out := map[string]int{}
	for o := range c.ListObjects(ctx, testBucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: true, WithVersions: true}) {
		if o.Err != nil {
			t.Fatalf("list versions: %v", o.Err)
		}
		out[o.Key]++
	}
	return out
}

func getObject(t testing.TB, c *minio.Client, key string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	o, err := c.GetObject(ctx, testBucket, key, minio.GetObjectOptions{})
	if err != nil {
		t.Fatalf("get %s: %v", key, err)
	}
	defer o.Close()
	b, err := io.ReadAll(o)
	if err != nil {
		t.Fatalf("read %s: %v", key, err)
	}
	return b
}

// checkArrived asserts that every expected object is in the bucket exactly
// once (one version), with the same bytes, and nothing else is there.
func checkArrived(t testing.TB, c *minio.Client, sessions []testSession) {
	t.Helper()
	checkArrivedUnder(t, c, "rooms/101/sessions/", sessions)
}

func checkArrivedUnder(t testing.TB, c *minio.Client, prefix string, sessions []testSession) {
	t.Helper()
	got := versions(t, c, prefix)
	want := map[string][]byte{}
	for _, s := range sessions {
		for k, v := range s.objects {
			want[k] = v
		}
	}
	for k, data := range want {
		switch n := got[k]; {
		case n != 1:
			t.Errorf("%s: %d versions, want exactly 1", k, n)
		case !bytes.Equal(getObject(t, c, k), data):
			t.Errorf("%s: content differs", k)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("unexpected object %s", k)
		}
	}
}

// TestOutage stops MinIO in the middle of uploading 50 segments while new
// sessions keep arriving, then restarts it: every object arrives exactly
// once with its checksum, and nothing was removed locally before its put.
func TestOutage(t *testing.T) {
	srv := miniotest.Start(t)
	srv.MakeBucket(t, testBucket, true)
	cfg := deviceConfig(t, srv)
	spool := t.TempDir()

	var sessions []testSession
	base := time.Now().Add(-time.Hour)
	for i := 0; i < 3; i++ { // 3 x 10 segments before the outage
		sessions = append(sessions, writeSession(t, spool, base.Add(time.Duration(i)*time.Minute), 10, 128<<10))
	}
	var puts atomic.Int64
	outage := make(chan struct{})
	var once sync.Once
	u := newTestUploader(t, cfg, spool, "")
	u.afterPut = func(key string) {
		// Everything still in the spool has its local copy: a put is
		// confirmed before its session is removed.
		if strings.Contains(key, "/sessions/") && puts.Add(1) == 8 {
			once.Do(func() { close(outage) })
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan struct{})
	go func() { u.Run(ctx); close(done) }()

	select {
	case <-outage:
	case <-time.After(time.Minute):
		t.Fatal("uploads did not start")
	}
	srv.Stop()
	// Recording goes on during the outage: 4 more sessions, 20 segments.
	for i := 0; i < 4; i++ {
		sessions = append(sessions, writeSession(t, spool, base.Add(time.Duration(10+i)*time.Minute), 5, 128<<10))
		u.Wake()
		time.Sleep(150 * time.Millisecond)
	}
	if m := u.Metrics(); !m.Failing || m.Permanent || m.QueueObjects == 0 {
		t.Errorf("during the outage: %+v", m)
	}
	srv.Restart(t)
	waitFor(t, "spool drained after the outage", 90*time.Second, func() bool { return spoolEmpty(t, spool) })
	cancel()
	<-done

	checkArrived(t, srv.Client(t), sessions)
	if m := u.Metrics(); m.Failures == 0 || m.QueueObjects != 0 {
		t.Errorf("after the outage: %+v", m)
	}

	// status.json with the device's write-only credentials, read by an admin.
	if err := u.PutStatus(context.Background()); err != nil {
		t.Fatal(err)
	}
	st, err := layout.ParseStatus(getObject(t, srv.Client(t), layout.StatusKey("101")))
	if err != nil {
		t.Fatal(err)
	}
	if st.Queue.Objects != 0 || st.Queue.BytesSent < 40*128<<10 || st.ClockMeasured.IsZero() ||
		st.ClockOffsetMS < -1500 || st.ClockOffsetMS > 1500 {
		t.Errorf("status after the outage: %+v", st)
	}
	for _, c := range u.Checks() {
		if r := c.Run(context.Background()); r.State != room.CheckGood {
			t.Errorf("check %s: %+v", c.Name(), r)
		}
	}
	// The probe made one object version, however often it ran.
	if n := versions(t, srv.Client(t), "rooms/101/probe/")["rooms/101/probe/dev1"]; n != 1 {
		t.Errorf("probe object has %d versions", n)
	}
}

// TestCrashBetweenPutAndDelete kills a real uploader process right after the
// server confirmed a session's manifest and before the local removal. The
// next run finishes the session with no duplicate and nothing lost.
func TestCrashBetweenPutAndDelete(t *testing.T) {
	if spool := os.Getenv("UPLOAD_CRASH_CHILD_SPOOL"); spool != "" {
		crashChild(t, spool)
		return
	}
	srv := miniotest.Start(t)
	srv.MakeBucket(t, testBucket, true)
	cfg := deviceConfig(t, srv)
	spool := t.TempDir()
	sessions := []testSession{
		writeSession(t, spool, time.Now().Add(-2*time.Hour), 3, 50<<10),
		writeSession(t, spool, time.Now().Add(-time.Hour), 3, 50<<10),
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashBetweenPutAndDelete$", "-test.count=1")
	cmd.Env = append(os.Environ(),
		"UPLOAD_CRASH_CHILD_SPOOL="+spool,
		"UPLOAD_CRASH_CHILD_ENDPOINT="+cfg.Endpoint,
		"UPLOAD_CRASH_CHILD_CREDS="+cfg.CredentialsFile,
	)
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 7 {
		t.Fatalf("child did not crash as planned: %v\n%s", err, out)
	}
	// The first session's objects are all on the server, yet its folder is
	// still in the spool: the crash came between put and removal.
	if _, err := os.Stat(sessions[0].dir); err != nil {
		t.Fatalf("first session removed before the crash: %v", err)
	}
	if n := versions(t, srv.Client(t), sessions[0].prefix)[sessions[0].prefix+"manifest.json"]; n != 1 {
		t.Fatalf("manifest not on the server before the crash (%d versions)", n)
	}

	u := newTestUploader(t, cfg, spool, "")
	if err := u.drain(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !spoolEmpty(t, spool) {
		t.Fatal("spool not empty after the restart")
	}
	checkArrived(t, srv.Client(t), sessions)
}

func crashChild(t *testing.T, spool string) {
	cfg := Default()
	cfg.Endpoint = os.Getenv("UPLOAD_CRASH_CHILD_ENDPOINT")
	cfg.Bucket = testBucket
	cfg.CredentialsFile = os.Getenv("UPLOAD_CRASH_CHILD_CREDS")
	u := newTestUploader(t, cfg, spool, "")
	u.afterPut = func(key string) {
		if strings.HasSuffix(key, "/manifest.json") {
			os.Exit(7) // no deferred functions, no cleanup: a crash
		}
	}
	err := u.drain(context.Background())
	t.Fatalf("child: drain returned without crashing: %v", err)
}

// TestTLS: with storage.ca_file the server's certificate is verified and the
// upload works; without it the upload check reports an untrusted
// certificate as a permanent problem.
func TestTLS(t *testing.T) {
	srv := miniotest.StartTLS(t)
	srv.MakeBucket(t, testBucket, true)
	cfg := deviceConfig(t, srv)
	spool := t.TempDir()

	untrusted := newTestUploader(t, cfg, spool, "")
	r := untrusted.Checks()[0].Run(context.Background())
	if r.State != room.CheckAbnormal || r.Value != "refused: TLSVerify" || !strings.Contains(r.Hint, "storage.ca_file") {
		t.Fatalf("upload check without the CA: %+v", r)
	}

	cfg.CAFile = srv.CAFile
	u := newTestUploader(t, cfg, spool, "")
	if r := u.Checks()[0].Run(context.Background()); r.State != room.CheckGood || r.Value != "reachable, TLS verified" {
		t.Fatalf("upload check with the CA: %+v", r)
	}
	s := writeSession(t, spool, time.Now(), 2, 1000)
	if err := u.drain(context.Background()); err != nil {
		t.Fatal(err)
	}
	checkArrived(t, srv.Client(t), []testSession{s})
}
