package miniotest

import (
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

// Cluster is a distributed MinIO on loopback: one server process per node,
// each with its own drives, all forming one erasure-coded server pool, as a
// practice that outgrew one server would run it on several machines.
type Cluster struct {
	Nodes     []*Node
	AccessKey string // root user
	SecretKey string // root password

	bin  string
	args []string // the pool's drive endpoints, the same on every node
}

// Node is one server process of a Cluster.
type Node struct {
	Endpoint string // http://127.0.0.1:PORT
	Host     string // 127.0.0.1:PORT
	Drives   []string

	logPath string

	mu     gosync.Mutex
	cmd    *exec.Cmd
	exited chan struct{}
}

// StartCluster runs nodes server processes with drives drives each and
// waits until every node answers the cluster health check (write quorum,
// IAM and bucket metadata loaded). It is stopped in t.Cleanup; the nodes'
// logs are printed if the test failed.
//
// On separate machines the pool is written with MinIO's expansion notation,
// `minio server http://minio{1...4}.clinic.lan/mnt/disk{1...2}`, the same
// command on every host. On one host the nodes differ by port, and MinIO
// refuses one path served by two ports on one address (the drives would be
// the same folders), while expansion only makes the cross product of ports
// and paths. So each drive is listed as its own URL
// (http://127.0.0.1:PORT/DIR/nodeN/driveM): without any "{...}" the
// arguments make one pool, in the order given, and each process serves the
// URLs carrying its own --address.
func StartCluster(t testing.TB, nodes, drives int) *Cluster {
	t.Helper()
	if nodes < 2 || drives < 1 || nodes*drives < 4 {
		t.Fatalf("miniotest: a cluster needs at least 2 nodes and 4 drives, not %d x %d", nodes, drives)
	}
	bin := testenv.Tool(t, "minio")
	dir := t.TempDir()
	c := &Cluster{
		AccessKey: "root" + randHex(6),
		SecretKey: randHex(16),
		bin:       bin,
	}
	used := map[int]bool{}
	for i := 0; i < nodes; i++ {
		port := testenv.FreePort(t)
		for used[port] {
			port = testenv.FreePort(t)
		}
		used[port] = true
		n := &Node{Host: fmt.Sprintf("127.0.0.1:%d", port), logPath: filepath.Join(dir, fmt.Sprintf("node%d.log", i+1))}
		n.Endpoint = "http://" + n.Host
		for d := 0; d < drives; d++ {
			p := filepath.Join(dir, fmt.Sprintf("node%d", i+1), fmt.Sprintf("drive%d", d+1))
			if err := os.MkdirAll(p, 0o700); err != nil {
				t.Fatal(err)
			}
			n.Drives = append(n.Drives, p)
			c.args = append(c.args, n.Endpoint+p)
		}
		c.Nodes = append(c.Nodes, n)
	}
	t.Cleanup(func() {
		for _, n := range c.Nodes {
			n.kill()
		}
		if t.Failed() {
			for i, n := range c.Nodes {
				if b, err := os.ReadFile(n.logPath); err == nil && len(b) > 0 {
					t.Logf("minio node %d log:\n%s", i+1, tail(b, 3000))
				}
			}
		}
	})
	// The nodes wait for each other to format the drives: start them all
	// before waiting for any.
	for i := range c.Nodes {
		c.spawn(t, i)
	}
	for i := range c.Nodes {
		c.waitHealthy(t, i, 2*time.Minute)
	}
	return c
}

func (c *Cluster) spawn(t testing.TB, i int) {
	t.Helper()
	n := c.Nodes[i]
	logf, err := os.OpenFile(n.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	args := append([]string{"server", "--quiet", "--address", n.Host}, c.args...)
	cmd := exec.Command(c.bin, args...)
	cmd.Env = append(os.Environ(),
		"MINIO_ROOT_USER="+c.AccessKey,
		"MINIO_ROOT_PASSWORD="+c.SecretKey,
		"MINIO_BROWSER=off",
		"MINIO_UPDATE=off",
		// Lets the drives live on the root file system (test folders),
		// which a production deployment refuses.
		"MINIO_CI_CD=1",
		// Where /.dockerenv exists (CI and development containers) MinIO
		// takes itself for orchestrated and waits forever for 127.0.0.1
		// "to resolve to a valid IP"; this names the node's own endpoint
		// instead. Without a container it is ignored: the --address
		// decides.
		"_MINIO_SERVER_LOCAL="+n.Host,
	)
	cmd.Stdout = logf
	cmd.Stderr = logf
	if err := cmd.Start(); err != nil {
		t.Fatalf("miniotest: start minio node %d: %v", i+1, err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	n.mu.Lock()
	n.cmd, n.exited = cmd, exited
	n.mu.Unlock()
}

// waitHealthy polls the node's cluster health check: 200 only once the
// node has its object layer, IAM and bucket metadata, and the pool has
// write quorum. (/minio/health/ready answers 200 before the object layer
// exists, so it says nothing about a cluster.)
func (c *Cluster) waitHealthy(t testing.TB, i int, limit time.Duration) {
	t.Helper()
	if !c.healthy(t, i, limit) {
		b, _ := os.ReadFile(c.Nodes[i].logPath)
		t.Fatalf("miniotest: minio node %d exited before it was ready:\n%s", i+1, tail(b, 4000))
	}
}

// healthy is waitHealthy that reports, instead of failing, a process that
// exited before it was healthy.
func (c *Cluster) healthy(t testing.TB, i int, limit time.Duration) bool {
	t.Helper()
	n := c.Nodes[i]
	n.mu.Lock()
	exited := n.exited
	n.mu.Unlock()
	cl := &http.Client{Timeout: 5 * time.Second}
	deadline := time.Now().Add(limit)
	for {
		select {
		case <-exited:
			return false
		default:
		}
		resp, err := cl.Get(n.Endpoint + "/minio/health/cluster")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return true
			}
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(n.logPath)
			t.Fatalf("miniotest: minio node %d not healthy on %s after %v:\n%s", i+1, n.Host, limit, tail(b, 4000))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Kill ends node i with SIGKILL, as a crash or a power cut of that machine
// would, and waits until the process is gone.
func (c *Cluster) Kill(i int) { c.Nodes[i].kill() }

func (n *Node) kill() {
	n.mu.Lock()
	cmd, exited := n.cmd, n.exited
	n.cmd, n.exited = nil, nil
	n.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Kill() // SIGKILL
	select {
	case <-exited:
	case <-time.After(10 * time.Second):
	}
}

// Restart starts node i again on its port with its drives (killing it
// first if it runs) and waits until it is healthy in the cluster.
func (c *Cluster) Restart(t testing.TB, i int) {
	t.Helper()
	c.Kill(i)
	// Right after a kill the port can still be held for a moment: try
	// again a few times before giving up.
	for attempt := 0; ; attempt++ {
		c.spawn(t, i)
		if c.healthy(t, i, 2*time.Minute) {
			return
		}
		if attempt == 5 {
			b, _ := os.ReadFile(c.Nodes[i].logPath)
			t.Fatalf("miniotest: minio node %d exited at each restart:\n%s", i+1, tail(b, 4000))
		}
		time.Sleep(300 * time.Millisecond)
	}
}

// Client returns a minio-go client with root credentials talking to node i.
func (c *Cluster) Client(t testing.TB, i int) *minio.Client {
	t.Helper()
	return c.ClientFor(t, i, c.AccessKey, c.SecretKey)
}

// ClientFor returns a minio-go client with the given credentials talking to
// node i.
func (c *Cluster) ClientFor(t testing.TB, i int, accessKey, secretKey string) *minio.Client {
	t.Helper()
	cl, err := minio.New(c.Nodes[i].Host, &minio.Options{Creds: credentials.NewStaticV4(accessKey, secretKey, "")})
	if err != nil {
		t.Fatalf("miniotest: client: %v", err)
	}
	return cl
}
