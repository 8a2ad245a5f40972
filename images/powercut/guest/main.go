// Command powercut-guest is the power-cut test's client inside the booted
// amd64 test image (images/powercut). It holds a session through the daemon's
// real control socket, as the screen does, and prints what it did and what
// the daemon had captured to the serial console, so the host knows what was
// on its way to the disk at the moment it killed QEMU.
//
//	powercut-guest canaries  report the canary files of earlier boots (before the daemon starts)
//	powercut-guest net       configure the QEMU user-network interface
//	powercut-guest run       do this boot's step, named on the kernel command line
//
// Kernel command line (set by the host for each boot):
//
//	powercut.boot=N         boot number (canary names)
//	powercut.step=STEP      record | idle | end | withdraw | final | disk
//	powercut.hookdelay=MS   end: how long after the manifest's temp file
//	                        appears the daemon is frozen (SIGSTOP)
//	powercut.idle=S         disk: the idle window, seconds
//	powercut.record=S       disk: the recorded window, seconds
//	powercut.trace=1        disk: trace the journal's commits while recording
//
// Every line it prints starts with "powercut: ". It never prints personal
// data (there is none: the sessions are a test's).
package main

import (
	"bufio"
	"context"
	"crypto/sha256"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unsafe"

	"roomkiosk/internal/room"
	"roomkiosk/kiosk/kiosktest"
	"roomkiosk/recorder/spool"
)

const (
	socket    = "/run/roomkiosk/control.sock"
	statusURL = "http://127.0.0.1:8089"
	spoolDir  = "/var/lib/roomkiosk/spool"
	// canaryDir holds the disk-mode proof: one file written with fsync and
	// one without, just before the host's cut (see images/README.md).
	canaryDir = "/var/lib/roomkiosk-powercut"
	canarySz  = 256 << 10
	pin       = "1234"
	// loopback playback substream status: hw_ptr is what aplay has fed into
	// the loopback's capture side, in frames since aplay started.
	playbackStatus = "/proc/asound/Loopback/pcm0p/sub0/status"
)

func say(format string, args ...any) {
	// One write per line: the console interleaves whole lines only.
	fmt.Fprintf(os.Stdout, "powercut: "+format+"\n", args...)
}

func fail(format string, args ...any) {
	say("FAIL "+format, args...)
	os.Exit(1)
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: powercut-guest canaries|net|run")
		os.Exit(2)
	}
	switch os.Args[1] {
	case "net":
		if err := network(); err != nil {
			fail("network: %v", err)
		}
	case "canaries":
		checkCanaries()
	case "run":
		run()
	default:
		fmt.Fprintln(os.Stderr, "usage: powercut-guest canaries|net|run")
		os.Exit(2)
	}
}

// network gives the first Ethernet interface QEMU's user-network address
// (10.0.2.15, the host's loopback as 10.0.2.2): a static address, so that
// the image needs no DHCP client.
func network() error {
	ents, err := os.ReadDir("/sys/class/net")
	if err != nil {
		return err
	}
	var ifc string
	for _, e := range ents {
		if e.Name() != "lo" {
			ifc = e.Name()
			break
		}
	}
	if ifc == "" {
		return fmt.Errorf("no network interface")
	}
	for _, args := range [][]string{
		{"link", "set", "lo", "up"},
		{"link", "set", ifc, "up"},
		{"addr", "replace", "10.0.2.15/24", "dev", ifc},
		{"route", "replace", "default", "via", "10.0.2.2"},
	} {
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			return fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, out)
		}
	}
	say("network: %s 10.0.2.15/24", ifc)
	return nil
}

func cmdline() map[string]string {
	b, err := os.ReadFile("/proc/cmdline")
	if err != nil {
		fail("read /proc/cmdline: %v", err)
	}
	out := map[string]string{}
	for _, f := range strings.Fields(string(b)) {
		if k, v, ok := strings.Cut(f, "="); ok && strings.HasPrefix(k, "powercut.") {
			out[strings.TrimPrefix(k, "powercut.")] = v
		}
	}
	return out
}

func run() {
	args := cmdline()
	boot, step := args["boot"], args["step"]
	say("boot %s step %s", boot, step)
	waitHTTP()
	ctx := context.Background()
	switch step {
	case "record":
		d := dial(ctx)
		id := d.RecordOne(pin)
		c0 := metric("roomkiosk_recorder_frames_captured_total")
		writeCanaries(boot)
		say("recording %s frames-at-start %d", id, c0)
		progress(nil)
	case "idle":
		// The host cuts power while the uploader sends the recovered
		// session (its proxy sees the PUT).
		progress(nil)
	case "end":
		d := dial(ctx)
		id := d.RecordOne(pin)
		say("recording %s", id)
		// Progress goes on through the end (PIN typing included) until the
		// hook freezes the daemon: the host needs it to tell a capture
		// overrun from a loss.
		go progress(nil)
		time.Sleep(6 * time.Second)
		delay, _ := strconv.Atoi(args["hookdelay"])
		hooked := armManifestHook(id, time.Duration(delay)*time.Millisecond)
		d.Send(room.Intent{Kind: room.IntentEnd})
		d.Wait("end pin", func(s room.Snapshot) bool { return s.Step == room.StepEndPIN })
		d.Digits(pin)
		// The last figure before the stop: the manifest lists at least this.
		say("ending %s captured %d", id, metric("roomkiosk_recorder_frames_captured_total"))
		d.Send(room.Intent{Kind: room.IntentPINOK})
		<-hooked
		select {} // the host cuts the power now
	case "withdraw":
		waitQueueEmpty()
		d := dial(ctx)
		id := d.RecordOne(pin)
		say("recording %s", id)
		deadline := time.Now().Add(4 * time.Second)
		progress(func() bool { return time.Now().After(deadline) })
		d.Send(room.Intent{Kind: room.IntentWithdraw})
		d.Wait("withdraw choice", func(s room.Snapshot) bool {
			return s.Step == room.StepWithdrawChoice && !s.Recording
		})
		for i := 0; ; i++ {
			if (spool.Spool{Root: spoolDir}).IsHeld(id) {
				break
			}
			if i > 300 {
				fail("withdrawn session %s has no manifest.held.json", id)
			}
			time.Sleep(100 * time.Millisecond)
		}
		say("held %s", id)
		waitQueueEmpty()
		say("idle with %s held", id)
		select {} // the host cuts the power while the session is held
	case "disk":
		diskWrites(args)
	case "final":
		waitQueueEmpty()
		held, _ := filepath.Glob(filepath.Join(spool.Spool{Root: spoolDir}.SessionsDir(), "*", spool.HeldName))
		for _, h := range held {
			say("held-after-boot %s", filepath.Base(filepath.Dir(h)))
		}
		say("done")
		_ = exec.Command("systemctl", "--no-block", "poweroff").Run()
		select {}
	default:
		fail("unknown step %q", step)
	}
}

// progress prints the daemon's captured frames, the audio fed into the
// loopback, the upload queue and the daemon's overrun frames every 100 ms until stop says so (never, for
// nil): the host keeps the last line it saw before the cut.
func progress(stop func() bool) {
	for stop == nil || !stop() {
		m := metrics()
		say("progress captured %d fed %d queue %d overrun %d", int64(m["roomkiosk_recorder_frames_captured_total"]),
			fedFrames(), int64(m["roomkiosk_upload_queue_objects"]), int64(m["roomkiosk_recorder_overrun_frames_total"]))
		time.Sleep(100 * time.Millisecond)
	}
}

// fedFrames is the loopback playback's hardware pointer (-1 if unknown).
func fedFrames() int64 {
	b, err := os.ReadFile(playbackStatus)
	if err != nil {
		return -1
	}
	for _, l := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(l, ":")
		if ok && strings.TrimSpace(k) == "hw_ptr" {
			n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			if err == nil {
				return n
			}
		}
	}
	return -1
}

func waitQueueEmpty() { waitQueue(true) }

// waitQueue waits until the upload queue is empty; report prints its
// length every second (the disk step keeps quiet: its lines would be
// journald's writes on the disk it measures).
func waitQueue(report bool) {
	// Several looks in a row: right after boot the uploader may not have
	// scanned the spool yet.
	zero := 0
	for i := 0; zero < 5; i++ {
		if i > 6000 {
			fail("upload queue not empty within 10 min")
		}
		if n, ok := metrics()["roomkiosk_upload_queue_objects"]; ok && n == 0 {
			zero++
		} else {
			zero = 0
		}
		if report && i%10 == 0 {
			m := metrics()
			say("queue %d failures %d", int64(m["roomkiosk_upload_queue_objects"]), int64(m["roomkiosk_upload_failures_total"]))
		}
		time.Sleep(100 * time.Millisecond)
	}
	if report {
		say("queue empty")
	}
}

var httpc = &http.Client{Timeout: 2 * time.Second}

func waitHTTP() {
	for i := 0; ; i++ {
		res, err := httpc.Get(statusURL + "/healthz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				say("daemon answers")
				return
			}
		}
		if i > 6000 {
			fail("daemon status endpoint: not within 10 min")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func metrics() map[string]float64 {
	out := map[string]float64{}
	res, err := httpc.Get(statusURL + "/metrics")
	if err != nil {
		return out
	}
	defer res.Body.Close()
	sc := bufio.NewScanner(res.Body)
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) == 2 && !strings.HasPrefix(f[0], "#") {
			if v, err := strconv.ParseFloat(f[1], 64); err == nil {
				out[f[0]] = v
			}
		}
	}
	return out
}

func metric(name string) int64 { return int64(metrics()[name]) }

// guestFail makes the driver's failures the guest's: printed, exit 1.
type guestFail struct{}

func (guestFail) Helper()                           {}
func (guestFail) Fatalf(format string, args ...any) { fail(format, args...) }

// dial holds sessions through the control socket, as the screen does,
// waiting up to a minute for the daemon to listen.
func dial(ctx context.Context) *kiosktest.Driver {
	d := kiosktest.Dial(ctx, guestFail{}, socket, time.Minute)
	d.Patience = 3 * time.Minute
	return d
}

// armManifestHook watches the session's folder and freezes the daemon
// (SIGSTOP) delay after the manifest's temp file appears, so that the host's
// cut lands while the manifest is being written (between its creation and
// the folder's fsync after the rename, for small delays). The returned
// channel is closed once the daemon is frozen and the folder listed.
func armManifestHook(id string, delay time.Duration) <-chan struct{} {
	dir := filepath.Join(spoolDir, "sessions", id)
	fd, err := syscall.InotifyInit1(syscall.IN_CLOEXEC)
	if err != nil {
		fail("inotify: %v", err)
	}
	if _, err := syscall.InotifyAddWatch(fd, dir, syscall.IN_CREATE|syscall.IN_MOVED_TO); err != nil {
		fail("inotify watch %s: %v", dir, err)
	}
	pid := daemonPID()
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 64<<10)
		for {
			n, err := syscall.Read(fd, buf)
			if err != nil {
				fail("inotify read: %v", err)
			}
			for off := 0; off+syscall.SizeofInotifyEvent <= n; {
				ev := (*syscall.InotifyEvent)(unsafe.Pointer(&buf[off]))
				nameb := buf[off+syscall.SizeofInotifyEvent : off+syscall.SizeofInotifyEvent+int(ev.Len)]
				name := strings.TrimRight(string(nameb), "\x00")
				off += syscall.SizeofInotifyEvent + int(ev.Len)
				if !strings.HasPrefix(name, ".manifest.json.tmp") && name != "manifest.json" {
					continue
				}
				if delay > 0 {
					time.Sleep(delay)
				}
				if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
					fail("stop daemon %d: %v", pid, err)
				}
				var names []string
				ents, _ := os.ReadDir(dir)
				for _, e := range ents {
					names = append(names, e.Name())
				}
				say("manifest-hook %s event %s delay %v: daemon frozen; folder holds %s", id, name, delay, strings.Join(names, ","))
				return
			}
		}
	}()
	return done
}

func daemonPID() int {
	out, err := exec.Command("systemctl", "show", "-p", "MainPID", "--value", "roomkiosk.service").Output()
	if err != nil {
		fail("daemon pid: %v", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(out)))
	if err != nil || pid <= 0 {
		fail("daemon pid: %q", out)
	}
	return pid
}

// canary is the content of boot's canary files: distinct per boot, so an
// old file cannot pass for a new one.
func canary(boot string) []byte {
	b := make([]byte, 0, canarySz)
	for i := 0; len(b) < canarySz; i++ {
		s := sha256.Sum256([]byte(fmt.Sprintf("powercut canary boot %s block %d", boot, i)))
		b = append(b, s[:]...)
	}
	return b[:canarySz]
}

// writeCanaries writes canary-sync-N (fsync'ed, folder fsync'ed) and
// canary-nosync-N (left in the page cache) at the start of the recording
// that the host will cut, well within the kernel's 30 s dirty expiry.
func writeCanaries(boot string) {
	if err := os.MkdirAll(canaryDir, 0o755); err != nil {
		fail("canary: %v", err)
	}
	data := canary(boot)
	if err := os.WriteFile(filepath.Join(canaryDir, "canary-nosync-"+boot), data, 0o644); err != nil {
		fail("canary: %v", err)
	}
	f, err := os.Create(filepath.Join(canaryDir, "canary-sync-"+boot))
	if err == nil {
		_, err = f.Write(data)
	}
	if err == nil {
		err = f.Sync()
	}
	if f != nil {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err == nil {
		var d *os.File
		if d, err = os.Open(canaryDir); err == nil {
			err = d.Sync()
			d.Close()
		}
	}
	if err != nil {
		fail("canary: %v", err)
	}
	say("canaries written boot %s", boot)
}

// checkCanaries reports the canaries of every earlier boot that wrote
// some: for each, the fsync'ed and the other file, as whole (exactly what
// was written), missing, short-N (fewer bytes) or different (zeros where
// the data never reached the disk, or another boot's).
func checkCanaries() {
	ents, err := os.ReadDir(canaryDir)
	if err != nil || len(ents) == 0 {
		say("canaries none")
		return
	}
	var boots []string
	for _, e := range ents {
		name := e.Name()
		for _, p := range []string{"canary-sync-", "canary-nosync-"} {
			if b, ok := strings.CutPrefix(name, p); ok && !slices.Contains(boots, b) {
				boots = append(boots, b)
			}
		}
	}
	for _, boot := range boots {
		for _, kind := range []string{"sync", "nosync"} {
			name := "canary-" + kind + "-" + boot
			b, err := os.ReadFile(filepath.Join(canaryDir, name))
			state := "whole"
			switch {
			case os.IsNotExist(err):
				state = "missing"
			case err != nil:
				state = "unreadable"
			case len(b) < canarySz:
				state = fmt.Sprintf("short-%d", len(b))
			case string(b) != string(canary(boot)):
				state = "different"
			}
			say("canary %s %s", name, state)
		}
	}
}
