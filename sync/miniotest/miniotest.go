// Package miniotest runs the pinned MinIO server (and mc client) for
// integration tests: a real server on a free loopback port with a temporary
// data folder and random root credentials, stopped when the test ends.
//
// The server and mc are AGPL programs: they run as separate processes and no
// MinIO server or admin package is imported.
package miniotest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	gosync "sync"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"roomkiosk/internal/testenv"
)

// Server is one running MinIO server.
type Server struct {
	Endpoint  string // http://127.0.0.1:PORT
	Host      string // 127.0.0.1:PORT
	AccessKey string // root user
	SecretKey string // root password
	CAFile    string // PEM of the CA that signed the server's certificate (StartTLS only)

	bin     string
	dataDir string
	mcDir   string
	logPath string

	certsDir   string       // --certs-dir (StartTLS)
	httpClient *http.Client // for the readiness probe

	mu     gosync.Mutex
	cmd    *exec.Cmd
	exited chan struct{} // closed when cmd has been reaped
}

// Start runs a fresh server and waits until it is ready. It is stopped in
// t.Cleanup; its log is printed if the test failed.
func Start(t testing.TB) *Server {
	t.Helper()
	s := newServer(t)
	s.start(t)
	return s
}

func newServer(t testing.TB) *Server {
	t.Helper()
	bin := testenv.Tool(t, "minio")
	dir := t.TempDir()
	port := testenv.FreePort(t)
	s := &Server{
		Host:      fmt.Sprintf("127.0.0.1:%d", port),
		AccessKey: "root" + randHex(6),
		SecretKey: randHex(16),
		bin:       bin,
		dataDir:   filepath.Join(dir, "data"),
		mcDir:     filepath.Join(dir, "mc"),
		logPath:   filepath.Join(dir, "minio.log"),

		httpClient: http.DefaultClient,
	}
	s.Endpoint = "http://" + s.Host
	for _, d := range []string{s.dataDir, s.mcDir} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		s.Stop()
		if t.Failed() {
			if b, err := os.ReadFile(s.logPath); err == nil && len(b) > 0 {
				t.Logf("minio log:\n%s", tail(b, 4000))
			}
		}
	})
	return s
}

func (s *Server) start(t testing.TB) {
	t.Helper()
	s.startAttempt(t, 0)
}

func (s *Server) startAttempt(t testing.TB, attempt int) {
	t.Helper()
	logf, err := os.OpenFile(s.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	args := []string{"server", s.dataDir, "--quiet", "--address", s.Host}
	if s.certsDir != "" {
		args = append(args, "--certs-dir", s.certsDir)
	}
	cmd := exec.Command(s.bin, args...)
	cmd.Env = append(os.Environ(),
		"MINIO_ROOT_USER="+s.AccessKey,
		"MINIO_ROOT_PASSWORD="+s.SecretKey,
		"MINIO_BROWSER=off", // no console: one port is enough
		"MINIO_UPDATE=off",
		"MINIO_CI_CD=1",
	)
	cmd.Stdout = logf
	cmd.Stderr = logf
	if err := cmd.Start(); err != nil {
		t.Fatalf("miniotest: start minio: %v", err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	s.mu.Lock()
	s.cmd, s.exited = cmd, exited
	s.mu.Unlock()

	deadline := time.Now().Add(60 * time.Second)
	for {
		select {
		case <-exited:
			// Right after a Stop the port can still be held for a moment:
			// try again a few times before giving up.
			if attempt < 5 {
				time.Sleep(300 * time.Millisecond)
				s.startAttempt(t, attempt+1)
				return
			}
			b, _ := os.ReadFile(s.logPath)
			t.Fatalf("miniotest: minio exited before it was ready:\n%s", tail(b, 4000))
		default:
		}
		resp, err := s.httpClient.Get(s.Endpoint + "/minio/health/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("miniotest: minio not ready on %s after 60 s", s.Host)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Stop kills the server (as a crash or an outage would) and waits until it
// is gone, so Restart can take the port again. Safe to call more than once.
func (s *Server) Stop() {
	s.mu.Lock()
	cmd, exited := s.cmd, s.exited
	s.cmd, s.exited = nil, nil
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Kill()
	select {
	case <-exited:
	case <-time.After(10 * time.Second):
	}
}

// Restart starts the server again on the same port with the same data.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	s.Stop()
	s.start(t)
}

// MC runs the pinned mc client with a private config folder, where the alias
// "local" points at this server with root credentials. It returns combined
// output.
func (s *Server) MC(t testing.TB, args ...string) (string, error) {
	t.Helper()
	bin := testenv.Tool(t, "mc")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, append([]string{"--config-dir", s.mcDir, "--no-color", "--disable-pager"}, args...)...)
	cmd.Env = append(os.Environ(),
		"MC_HOST_local="+s.scheme()+"://"+s.AccessKey+":"+s.SecretKey+"@"+s.Host,
	)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("mc %v: %w: %s", args, err, bytes.TrimSpace(out))
	}
	return string(out), nil
}

// Client returns a minio-go client with root credentials.
func (s *Server) Client(t testing.TB) *minio.Client {
	t.Helper()
	return s.ClientFor(t, s.AccessKey, s.SecretKey)
}

// ClientFor returns a minio-go client with the given credentials.
func (s *Server) ClientFor(t testing.TB, accessKey, secretKey string) *minio.Client {
	t.Helper()
	opts := &minio.Options{
		Creds:  credentials.NewStaticV4(accessKey, secretKey, ""),
		Secure: s.certsDir != "",
	}
	if s.certsDir != "" {
		opts.Transport = s.httpClient.Transport
	}
	c, err := minio.New(s.Host, opts)
	if err != nil {
		t.Fatalf("miniotest: client: %v", err)
	}
	return c
}

// MakeBucket creates a bucket. lock=true turns on object lock, which also
// turns on versioning (as the production bucket has).
func (s *Server) MakeBucket(t testing.TB, name string, lock bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.Client(t).MakeBucket(ctx, name, minio.MakeBucketOptions{ObjectLocking: lock}); err != nil {
		t.Fatalf("miniotest: make bucket %s: %v", name, err)
	}
}

// AddWriteOnlyUser creates a user whose only right is s3:PutObject under
// bucket/prefix (a room prefix from sync/layout), the way a device is provisioned, and
// returns its credentials.
func (s *Server) AddWriteOnlyUser(t testing.TB, bucket, prefix string) (accessKey, secretKey string) {
	t.Helper()
	accessKey = "dev" + randHex(6)
	secretKey = randHex(16)
	policy := map[string]any{
		"Version": "2012-10-17",
		"Statement": []map[string]any{{
			"Effect":   "Allow",
			"Action":   []string{"s3:PutObject"},
			"Resource": []string{"arn:aws:s3:::" + bucket + "/" + prefix + "*"},
		}},
	}
	b, err := json.Marshal(policy)
	if err != nil {
		t.Fatal(err)
	}
	pf := filepath.Join(s.mcDir, "policy-"+accessKey+".json")
	if err := os.WriteFile(pf, b, 0o600); err != nil {
		t.Fatal(err)
	}
	name := "put-" + accessKey
	for _, args := range [][]string{
		{"admin", "user", "add", "local", accessKey, secretKey},
		{"admin", "policy", "create", "local", name, pf},
		{"admin", "policy", "attach", "local", name, "--user", accessKey},
	} {
		if _, err := s.MC(t, args...); err != nil {
			t.Fatalf("miniotest: add write-only user: %v", err)
		}
	}
	return accessKey, secretKey
}

func (s *Server) scheme() string {
	if s.certsDir != "" {
		return "https"
	}
	return "http"
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}
