package screentest

import (
	"errors"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// waitExit waits for the screen process to end and returns its exit code.
func waitExit(t *testing.T, s *Screen) int {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- s.cmd.Wait() }()
	select {
	case err := <-done:
		s.cmd = nil
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
				t.Fatalf("the screen died of %v; output:\n%s", ws.Signal(), s.Output())
			}
			return ee.ExitCode()
		}
		if err != nil {
			t.Fatal(err)
		}
		return 0
	case <-time.After(15 * time.Second):
		t.Fatalf("the screen did not exit; output:\n%s", s.Output())
	}
	return -1
}

// checkOneLine checks that the screen ended with exactly one line saying
// why, and nothing that looks like a crash.
func checkOneLine(t *testing.T, out, want string) {
	t.Helper()
	if n := strings.Count(out, want); n != 1 {
		t.Errorf("%d lines %q, want exactly one; output:\n%s", n, want, out)
	}
	for _, bad := range []string{"SIGSEGV", "goroutine ", "panic", "X connection to", "fatal"} {
		if strings.Contains(out, bad) {
			t.Errorf("output holds %q:\n%s", bad, out)
		}
	}
}

// TestScreenExitsCleanlyWhenXGoesAway (issue 13 item 7): when its X server
// goes away under it the screen logs one line and exits with
// ExitDisplayLost (3), instead of Xlib's exit(1) or a SIGSEGV in GLFW.
func TestScreenExitsCleanlyWhenXGoesAway(t *testing.T) {
	d := StartDaemon(t, DaemonConfig(t), "")
	bin := BuildScreen(t)
	for i := range 3 { // a race with the drawing thread would show up now and then
		x := StartX(t)
		s := StartScreen(t, bin, x, d.Socket)
		s.WaitScene(t, "door")
		if err := x.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		if code := waitExit(t, s); code != 3 {
			t.Fatalf("run %d: exit code %d, want 3; output:\n%s", i, code, s.Output())
		}
		checkOneLine(t, s.Output(), "the X display went away")
	}
}

// TestScreenExitsCleanlyOnSignal: SIGINT and SIGTERM end the screen with
// one line and exit code 0; so does both signals reaching the screen and
// its X server at once (Ctrl-C on a terminal that runs both).
func TestScreenExitsCleanlyOnSignal(t *testing.T) {
	d := StartDaemon(t, DaemonConfig(t), "")
	bin := BuildScreen(t)
	for _, sig := range []os.Signal{syscall.SIGINT, syscall.SIGTERM} {
		x := StartX(t)
		s := StartScreen(t, bin, x, d.Socket)
		s.WaitScene(t, "door")
		if err := s.cmd.Process.Signal(sig); err != nil {
			t.Fatal(err)
		}
		if code := waitExit(t, s); code != 0 {
			t.Fatalf("%v: exit code %d, want 0; output:\n%s", sig, code, s.Output())
		}
		checkOneLine(t, s.Output(), "roomkiosk-screen stopped")
	}
	x := StartX(t)
	s := StartScreen(t, bin, x, d.Socket)
	s.WaitScene(t, "door")
	_ = s.cmd.Process.Signal(syscall.SIGINT)
	_ = x.cmd.Process.Signal(syscall.SIGINT)
	if code := waitExit(t, s); code != 0 && code != 3 {
		t.Fatalf("SIGINT to both: exit code %d, want 0 or 3; output:\n%s", code, s.Output())
	}
	checkOneLine(t, s.Output(), "roomkiosk-screen stopped")
}
