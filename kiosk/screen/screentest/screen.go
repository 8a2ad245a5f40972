package screentest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"roomkiosk/internal/testenv"
	"roomkiosk/kiosk/ui"
)

// X is an Xvfb server of the test's own, 800x480 like the kiosk panel.
type X struct {
	Display string // ":N"
	cmd     *exec.Cmd
}

// StartX starts Xvfb on a free display number (Xvfb picks it) and stops it
// at the end of the test.
func StartX(t testing.TB) *X {
	t.Helper()
	bin := testenv.Tool(t, "Xvfb")
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-displayfd", "3", "-screen", "0", "800x480x24", "-nolisten", "tcp")
	cmd.ExtraFiles = []*os.File{w}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start Xvfb: %v", err)
	}
	w.Close()
	x := &X{cmd: cmd}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	line := make(chan string, 1)
	go func() {
		s, _ := bufio.NewReader(r).ReadString('\n')
		line <- strings.TrimSpace(s)
		r.Close()
	}()
	select {
	case n := <-line:
		if _, err := strconv.Atoi(n); err != nil {
			t.Fatalf("Xvfb did not report a display (%q)", n)
		}
		x.Display = ":" + n
	case <-time.After(20 * time.Second):
		t.Fatal("Xvfb did not start within 20 s")
	}
	return x
}

// Env returns the environment for X clients of this server.
func (x *X) Env() []string {
	env := []string{"DISPLAY=" + x.Display}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "DISPLAY=") && !strings.HasPrefix(kv, "XAUTHORITY=") {
			env = append(env, kv)
		}
	}
	return env
}

var (
	buildMu  sync.Mutex
	builtBin string
)

// RemoveBuilt deletes the binary BuildScreen made; call it from TestMain
// after m.Run.
func RemoveBuilt() {
	buildMu.Lock()
	defer buildMu.Unlock()
	if builtBin != "" {
		os.RemoveAll(filepath.Dir(builtBin))
		builtBin = ""
	}
}

// BuildScreen builds cmd/roomkiosk-screen once per test binary (until
// RemoveBuilt) and returns its path.
func BuildScreen(t testing.TB) string {
	t.Helper()
	buildMu.Lock()
	defer buildMu.Unlock()
	if builtBin != "" {
		if _, err := os.Stat(builtBin); err == nil {
			return builtBin
		}
	}
	dir, err := os.MkdirTemp("", "roomkiosk-screen-bin-")
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "roomkiosk-screen")
	if err := testenv.GoBuild(testenv.ModuleRoot(t), bin, nil, "./cmd/roomkiosk-screen"); err != nil {
		t.Fatal(err)
	}
	builtBin = bin
	return bin
}

// Screen is a running roomkiosk-screen process.
type Screen struct {
	X      *X
	Bin    string
	Socket string
	Addr   string // the /ui endpoint's host:port
	Dir    string // screenshots go here
	Missed int    // taps Tap made again because the screen had not seen them
	cmd    *exec.Cmd
	out    *syncBuffer
	shots  int
	client *http.Client
}

// StartScreen runs the screen binary against socket on x and waits until
// /ui answers. Screenshots go to test-artifacts/<test name>/.
func StartScreen(t testing.TB, bin string, x *X, socket string, extra ...string) *Screen {
	t.Helper()
	s := &Screen{X: x, Bin: bin, Socket: socket, client: &http.Client{Timeout: 2 * time.Second}}
	s.Dir = filepath.Join(testenv.ModuleRoot(t), "test-artifacts", strings.ReplaceAll(t.Name(), "/", "_"))
	if err := os.MkdirAll(s.Dir, 0o755); err != nil {
		t.Fatal(err)
	}
	s.Start(t, extra...)
	t.Cleanup(s.Stop)
	return s
}

// Start (re)starts the process, on a new port.
func (s *Screen) Start(t testing.TB, extra ...string) {
	t.Helper()
	s.Addr = fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	args := append([]string{"--socket", s.Socket, "--ui-listen", s.Addr, "--log-level", "debug"}, extra...)
	cmd := exec.Command(s.Bin, args...)
	cmd.Env = s.X.Env()
	s.out = &syncBuffer{}
	cmd.Stdout, cmd.Stderr = s.out, s.out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start roomkiosk-screen: %v", err)
	}
	s.cmd = cmd
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, err := s.View(); err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("roomkiosk-screen /ui did not answer within 30 s; output:\n%s", s.out)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Pid is the screen process's id.
func (s *Screen) Pid() int { return s.cmd.Process.Pid }

// Kill kills the process at once (SIGKILL), as a crash would.
func (s *Screen) Kill() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	_ = s.cmd.Wait()
	s.cmd = nil
}

// Stop ends the process with SIGTERM, then SIGKILL after 5 s.
func (s *Screen) Stop() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = s.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		_ = s.cmd.Process.Kill()
		<-done
	}
	s.cmd = nil
}

// Output is what the process logged.
func (s *Screen) Output() string { return s.out.String() }

// View reads /ui.
func (s *Screen) View() (ui.View, error) {
	var v ui.View
	res, err := s.client.Get("http://" + s.Addr + "/ui")
	if err != nil {
		return v, err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return v, fmt.Errorf("/ui: %s", res.Status)
	}
	err = json.NewDecoder(res.Body).Decode(&v)
	return v, err
}

// WaitFor polls /ui until cond holds, failing the test after timeout.
func (s *Screen) WaitFor(t testing.TB, what string, timeout time.Duration, cond func(ui.View) bool) ui.View {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var last ui.View
	for {
		v, err := s.View()
		if err == nil {
			last = v
			if cond(v) {
				return v
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("screen: %s not reached within %v; last view: scene %q seq %d texts %q; output:\n%s",
				what, timeout, last.Scene, last.Seq, last.Texts, tail(s.out.String(), 2000))
		}
		time.Sleep(15 * time.Millisecond)
	}
}

// WaitScene waits until the screen shows scene.
func (s *Screen) WaitScene(t testing.TB, scene string) ui.View {
	t.Helper()
	return s.WaitFor(t, "scene "+scene, 10*time.Second, func(v ui.View) bool { return v.Scene == scene })
}

// Target returns a target of the current scene.
func (s *Screen) Target(t testing.TB, id string) ui.ViewTarget {
	t.Helper()
	v := s.WaitFor(t, "target "+id, 10*time.Second, func(v ui.View) bool {
		for _, tg := range v.Targets {
			if tg.ID == id && tg.Enabled {
				return true
			}
		}
		return false
	})
	for _, tg := range v.Targets {
		if tg.ID == id {
			return tg
		}
	}
	panic("unreachable")
}

// Tap taps the centre of target id like a finger: press, 50 ms, release.
// The screen sees taps that begin and end between two of its frames (its
// XInput2 press watcher, findings F2), yet a tap can still go unseen: the
// first frames after start, a window not mapped yet, a machine so loaded
// that the screen's frame comes seconds late. The screen counts the taps it
// recognised in /ui: an unseen tap is made again, after a longer wait each
// time, and a tap seen late still counts against the count from before the
// first try, so no tap (no PIN digit) is ever made twice.
func (s *Screen) Tap(t testing.TB, id string) {
	t.Helper()
	tg := s.Target(t, id)
	before, err := s.View()
	if err != nil {
		t.Fatalf("/ui: %v", err)
	}
	seen := func() bool { v, err := s.View(); return err == nil && v.Taps > before.Taps }
	const tries = 12
	wait := 2 * time.Second
	for try := 0; try < tries; try++ {
		if try > 0 {
			if seen() {
				return
			}
			s.Missed++
			t.Logf("tap on %s not seen by the screen within %v, tapping again", id, wait)
			tg = s.Target(t, id)
			wait = min(wait*3/2, 6*time.Second)
		}
		s.TapAt(t, before.Window.X+tg.Rect.X+tg.Rect.W/2, before.Window.Y+tg.Rect.Y+tg.Rect.H/2)
		deadline := time.Now().Add(wait)
		for time.Now().Before(deadline) {
			if seen() {
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	t.Fatalf("the screen saw none of %d taps on %s", tries, id)
}

// TapAt taps screen coordinates: move, let the frame the move causes pass,
// then press for 50 ms and release.
func (s *Screen) TapAt(t testing.TB, x, y float64) {
	t.Helper()
	s.xdotool(t, "mousemove", strconv.Itoa(int(x)), strconv.Itoa(int(y)), "sleep", "0.1", "mousedown", "1", "sleep", "0.05", "mouseup", "1")
}

// TapThen taps id and waits until the daemon's snapshot has moved on (the
// screen shows a newer sequence number).
func (s *Screen) TapThen(t testing.TB, id string) ui.View {
	t.Helper()
	before, _ := s.View()
	s.Tap(t, id)
	return s.WaitFor(t, "a new snapshot after tapping "+id, 10*time.Second, func(v ui.View) bool { return v.Seq > before.Seq })
}

func (s *Screen) xdotool(t testing.TB, args ...string) {
	t.Helper()
	cmd := exec.Command(testenv.Tool(t, "xdotool"), args...)
	cmd.Env = s.X.Env()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("xdotool %v: %v\n%s", args, err, out)
	}
}

// Shot saves a screenshot of the whole X screen as NN-name.png in s.Dir and
// returns its path.
func (s *Screen) Shot(t testing.TB, name string) string {
	t.Helper()
	s.shots++
	p := filepath.Join(s.Dir, fmt.Sprintf("%02d-%s.png", s.shots, name))
	cmd := exec.Command(testenv.Tool(t, "import"), "-window", "root", p)
	cmd.Env = s.X.Env()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("screenshot %s: %v\n%s", name, err, out)
	}
	return p
}

// syncBuffer collects a process's output while tests read it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}
