//go:build bench

package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"roomkiosk/internal/testenv"
	"roomkiosk/kiosk/screen/screentest"
	"roomkiosk/kiosk/ui"
)

// restWindow is how long the appliance is watched at rest (issue 16: five
// minutes, so that a round of checks on their default interval falls in
// it); ROOMKIOSK_REST_WINDOW shortens it while working on the figure.
func restWindow(t *testing.T) time.Duration {
	if s := os.Getenv("ROOMKIOSK_REST_WINDOW"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil {
			t.Fatalf("ROOMKIOSK_REST_WINDOW: %v", err)
		}
		return d
	}
	return 5 * time.Minute
}

// procUse is a process's CPU time and context switches (all its threads:
// each voluntary switch is a sleep and so a wake-up, each involuntary one
// a preemption while awake).
type procUse struct {
	cpu      time.Duration
	switches int64
	threads  int
}

func readUse(pid int) (procUse, error) {
	var u procUse
	cpu, err := screentest.CPUTime(pid)
	if err != nil {
		return u, err
	}
	u.cpu = cpu
	tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err != nil {
		return u, fmt.Errorf("read threads: %w", err)
	}
	for _, task := range tasks {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/status", pid, task.Name()))
		if err != nil {
			continue // the thread ended meanwhile
		}
		u.threads++
		for _, l := range strings.Split(string(b), "\n") {
			k, v, ok := strings.Cut(l, ":")
			if ok && (k == "voluntary_ctxt_switches" || k == "nonvoluntary_ctxt_switches") {
				n, _ := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
				u.switches += n
			}
		}
	}
	return u, nil
}

// watch measures pids over d: CPU in % of one core and switches a second,
// per pid. Threads that ended during d are not counted (at rest none do).
func watch(t *testing.T, d time.Duration, pids ...int) (cpuPct, perSec []float64) {
	t.Helper()
	before := make([]procUse, len(pids))
	for i, p := range pids {
		u, err := readUse(p)
		if err != nil {
			t.Fatal(err)
		}
		before[i] = u
	}
	w0 := time.Now()
	time.Sleep(d)
	wall := time.Since(w0)
	for i, p := range pids {
		u, err := readUse(p)
		if err != nil {
			t.Fatal(err)
		}
		cpuPct = append(cpuPct, 100*float64(u.cpu-before[i].cpu)/float64(wall))
		perSec = append(perSec, float64(u.switches-before[i].switches)/wall.Seconds())
	}
	return cpuPct, perSec
}

// TestBenchAtRest: the whole appliance on a free door (the real daemon with
// the sim board, an ALSA microphone and a MinIO to upload to, the real
// screen on its own Xvfb), checks on their default interval, log level info,
// product defaults: the screen sleeps after 2 idle minutes, and the figure
// is the 5 minutes after that (a door at rest all day is asleep); the awake
// minutes before are reported as information. Against the naive ebiten loop
// on an Xvfb of its own in the same run.
func TestBenchAtRest(t *testing.T) {
	window := restWindow(t)
	bin := binaries(t)
	adm := newAdmin(t, bin)
	mic := startMic(t, 2*time.Minute)
	dev := provision(t, adm, bin, roomID, mic, 30*time.Second)
	// The test device's config speeds things up for the functional tests;
	// at rest the defaults count.
	cfg, err := os.ReadFile(dev.cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	s := strings.Replace(string(cfg), `level = "debug"`, `level = "info"`, 1)
	s = strings.Replace(s, `status_interval = "2s"`, ``, 1)
	s = strings.Replace(s, `backoff_max = "2s"`, ``, 1)
	s = strings.Replace(s, "[backlight]\nidle_after = \"0s\"\n", "", 1) // the product's: the screen sleeps after 2 min
	if err := os.WriteFile(dev.cfgPath, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
	dev.start(t)
	x := screentest.StartX(t)
	scr := screentest.StartScreen(t, filepath.Join(bin, "roomkiosk-screen"), x, dev.socket)
	scr.WaitFor(t, "free door", 60*time.Second, func(v ui.View) bool { return v.Scene == "door" && v.Door == "free" && v.Connected })
	dev.waitStatus(t, "boot checks in", 60*time.Second, func(s daemonStatus) bool { return len(s.Checks) > 0 })
	time.Sleep(5 * time.Second) // start-up work (first upload, first status) done

	dev.mu.Lock()
	dpid := dev.cmd.Process.Pid
	dev.mu.Unlock()
	xpid, err := xvfbPid(x)
	if err != nil {
		t.Fatal(err)
	}
	// Awake: the door as the last person left it, until the screen sleeps
	// (the default 2 min); then at rest: the window, asleep.
	a0 := time.Now()
	acpu, asw := watchUntil(t, func() bool { return screenDimmed(t, dev) }, 5*time.Minute, dpid, scr.Pid(), xpid)
	awake := time.Since(a0)
	v0, _ := scr.View()
	cpu, sw := watch(t, window, dpid, scr.Pid(), xpid)
	v1, _ := scr.View()
	st, err := dev.status()
	if err != nil {
		t.Fatal(err)
	}
	if st.Door != "free" || !screenDimmed(t, dev) {
		t.Fatalf("door %q, screen dimmed %v at the end of the window, want a free door asleep", st.Door, screenDimmed(t, dev))
	}
	scr.Stop()

	naive := startNaiveLoop(t)
	time.Sleep(2 * time.Second)
	nx, err := xvfbPidOf(naive.xvfb)
	if err != nil {
		t.Fatal(err)
	}
	nwin := min(window, 30*time.Second) // it burns a core; its rate is steady
	ncpu, nsw := watch(t, nwin, naive.cmd.Process.Pid, nx)

	ours := cpu[0] + cpu[1]
	wake := sw[0] + sw[1]
	note := fmt.Sprintf("%v on a free door once the screen sleeps (checks on their default 5 min, status.json every 60 s, upload queue looked at every 30 s); daemon %.3f %% and %.1f switches/s, screen %.3f %% and %.1f/s (%d frames painted), its Xvfb %.3f %% and %.1f/s; load average %s",
		window.Round(time.Second), cpu[0], sw[0], cpu[1], sw[1], v1.Frames-v0.Frames, cpu[2], sw[2], loadavg())
	testenv.Report(t, testenv.Figure{
		Name: "appliance at rest CPU (daemon + screen)", Value: ours, Unit: "% of one core",
		Baseline: "naive ebiten loop (process + its Xvfb)", BaseVal: ncpu[0] + ncpu[1], Ratio: ours / (ncpu[0] + ncpu[1]),
		Target: "<= 0.1 %", Met: ours <= 0.1, Note: note,
	})
	testenv.Report(t, testenv.Figure{
		Name: "appliance at rest wake-ups (daemon + screen)", Value: wake, Unit: "context switches/s",
		Baseline: "naive ebiten loop (process + its Xvfb)", BaseVal: nsw[0] + nsw[1], Ratio: wake / (nsw[0] + nsw[1]),
		Target: "<= 5 /s", Met: wake <= 5,
		Note: fmt.Sprintf("context switches of all threads (voluntary and involuntary) from /proc/PID/task/*/status; Xvfb adds %.1f/s; %s", sw[2], note),
	})
	testenv.Report(t, testenv.Figure{
		Name: "appliance awake on a free door wake-ups (daemon + screen)", Value: asw[0] + asw[1], Unit: "context switches/s",
		Target: "information (the minutes before the screen sleeps)", Met: true,
		Note: fmt.Sprintf("%v from start-up until the screen slept; daemon %.3f %% and %.1f/s, screen %.3f %% and %.1f/s (it repaints the clock every minute), Xvfb %.3f %% and %.1f/s; the daemon's figure includes this test's /status polls every 2 s",
			awake.Round(time.Second), acpu[0], asw[0], acpu[1], asw[1], acpu[2], asw[2]),
	})
}

// watchUntil is watch over the time until cond holds (polled every 2 s,
// which the figures then include: a few HTTP requests to /status).
func watchUntil(t *testing.T, cond func() bool, limit time.Duration, pids ...int) (cpuPct, perSec []float64) {
	t.Helper()
	before := make([]procUse, len(pids))
	for i, p := range pids {
		u, err := readUse(p)
		if err != nil {
			t.Fatal(err)
		}
		before[i] = u
	}
	w0 := time.Now()
	for !cond() {
		if time.Since(w0) > limit {
			t.Fatalf("not within %v", limit)
		}
		time.Sleep(2 * time.Second)
	}
	wall := time.Since(w0)
	for i, p := range pids {
		u, err := readUse(p)
		if err != nil {
			t.Fatal(err)
		}
		cpuPct = append(cpuPct, 100*float64(u.cpu-before[i].cpu)/float64(wall))
		perSec = append(perSec, float64(u.switches-before[i].switches)/wall.Seconds())
	}
	return cpuPct, perSec
}

func loadavg() string {
	b, _ := os.ReadFile("/proc/loadavg")
	return strings.TrimSpace(string(b))
}

// xvfbPid finds the Xvfb serving x (screentest does not export its
// process): the Xvfb whose command line names no display but whose
// display socket is x's, found through /proc.
func xvfbPid(x *screentest.X) (int, error) { return xvfbPidOf(x) }

func xvfbPidOf(x *screentest.X) (int, error) {
	n := strings.TrimPrefix(x.Display, ":")
	sock := "/tmp/.X11-unix/X" + n
	// The server holds a listening socket at sock; the process that opened
	// it lists "@/tmp/.X11-unix/Xn" or the path in /proc/net/unix with its
	// inode, and the inode among its fds.
	b, err := os.ReadFile("/proc/net/unix")
	if err != nil {
		return 0, err
	}
	inodes := map[string]bool{}
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) >= 8 && (f[7] == sock || f[7] == "@"+sock) {
			inodes[f[6]] = true
		}
	}
	procs, _ := os.ReadDir("/proc")
	for _, p := range procs {
		pid, err := strconv.Atoi(p.Name())
		if err != nil {
			continue
		}
		comm, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
		if strings.TrimSpace(string(comm)) != "Xvfb" {
			continue
		}
		fds, _ := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
		for _, fd := range fds {
			l, _ := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", pid, fd.Name()))
			if strings.HasPrefix(l, "socket:[") && inodes[strings.TrimSuffix(strings.TrimPrefix(l, "socket:["), "]")] {
				return pid, nil
			}
		}
	}
	return 0, fmt.Errorf("no Xvfb process serves display %s", x.Display)
}

type naiveLoop struct {
	cmd  *exec.Cmd
	xvfb *screentest.X
}

// startNaiveLoop builds and starts the naive ebiten program (it redraws
// every frame) on an Xvfb of its own.
func startNaiveLoop(t *testing.T) naiveLoop {
	t.Helper()
	b := filepath.Join(t.TempDir(), "naive")
	if err := testenv.GoBuild(testenv.ModuleRoot(t), b, nil, "./kiosk/screen/internal/naive"); err != nil {
		t.Fatal(err)
	}
	x := screentest.StartX(t)
	cmd := exec.Command(b)
	cmd.Env = x.Env()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Signal(syscall.SIGKILL); _ = cmd.Wait() })
	return naiveLoop{cmd: cmd, xvfb: x}
}
