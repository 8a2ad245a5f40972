//go:build linux

package control

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"roomkiosk/internal/testenv"
)

const helperEnv = "ROOMKIOSK_CONTROL_PEER_HELPER"

// TestMain turns the test binary into the peer of TestPeerCredentials when
// run with helperEnv set (as another user).
func TestMain(m *testing.M) {
	if path := os.Getenv(helperEnv); path != "" {
		peerHelper(path)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// peerHelper connects and prints whether the daemon talked.
func peerHelper(path string) {
	conn, err := net.Dial("unix", path)
	if err != nil {
		os.Stdout.WriteString("DIAL-FAILED " + err.Error() + "\n")
		return
	}
	defer conn.Close()
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	line, err := bufio.NewReader(conn).ReadString('\n')
	switch {
	case strings.Contains(line, `"snapshot"`):
		os.Stdout.WriteString("ACCEPTED\n")
	case err == io.EOF:
		os.Stdout.WriteString("REFUSED\n")
	default:
		os.Stdout.WriteString("ERROR " + err.Error() + "\n")
	}
}

// TestPeerCredentials runs real peers as other users (so it needs root)
// against a socket whose file mode lets everyone connect, so that only the
// SO_PEERCRED check decides.
func TestPeerCredentials(t *testing.T) {
	if os.Geteuid() != 0 {
		testenv.Missing(t, "root, to run peers as other users")
	}
	e := start(t)
	dir, err := os.MkdirTemp("", "rkpeer")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	// The test binary lives in a private build folder; copy it where the
	// other users can run it.
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "peer.test")
	if err := os.WriteFile(bin, b, 0o755); err != nil {
		t.Fatal(err)
	}

	const nobody, nogroup, users = 65534, 65534, 100
	path := filepath.Join(dir, "c.sock")
	var logs syncBuffer
	srv, err := Listen(path, "nogroup", e.core, zerolog.New(&logs))
	if err != nil {
		testenv.Missing(t, fmt.Sprintf("the nogroup group: %v", err))
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	if err := os.Chmod(path, 0o666); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name string
		cred syscall.Credential
		want string
	}{
		{"stranger", syscall.Credential{Uid: nobody, Gid: users, Groups: []uint32{}}, "REFUSED"},
		{"primary group", syscall.Credential{Uid: nobody, Gid: nogroup, Groups: []uint32{}}, "ACCEPTED"},
		{"supplementary group", syscall.Credential{Uid: nobody, Gid: users, Groups: []uint32{nogroup}}, "ACCEPTED"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.Command(bin)
			cmd.Env = append(os.Environ(), helperEnv+"="+path)
			cmd.Dir = dir
			cred := tt.cred
			cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &cred}
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("peer: %v\n%s", err, out)
			}
			if !strings.Contains(string(out), tt.want+"\n") {
				t.Errorf("peer printed %q, want %s", out, tt.want)
			}
		})
	}
	if l := logs.String(); !strings.Contains(l, "connection refused") || !strings.Contains(l, `"uid":65534`) {
		t.Errorf("refusal not logged with the peer's uid:\n%s", l)
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
