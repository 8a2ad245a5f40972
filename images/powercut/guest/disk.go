package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"roomkiosk/internal/room"
)

// The disk step measures what the appliance writes to its disk at the
// block layer (images/powercut TestBenchDiskWrites): the root file
// system's virtio disk, its ext4 and its jbd2 journal.
const (
	blockDev = "vda"
	// writebackSettle outlasts the journal's commit interval (commit=60 in
	// the image's fstab) and then the kernel's dirty expiry (30 s) for the
	// checkpoint of what it committed: writes made before a mark are on
	// the disk's counters by the next one.
	writebackSettle = 100 * time.Second
)

// diskWrites waits for the boot's uploads, then prints the disk's counters
// ("powercut: disk MARK ...") around an idle window of the free door and a
// recorded session (from Start until sealed and uploaded).
func diskWrites(args map[string]string) {
	idle, rec := seconds(args, "idle"), seconds(args, "record")
	for _, l := range strings.Split(readFile("/proc/mounts"), "\n") {
		if f := strings.Fields(l); len(f) > 3 && f[1] == "/" {
			quiet("disk root %s %s %s", f[0], f[2], f[3])
		}
	}
	waitQueue(false)
	time.Sleep(writebackSettle)
	diskMark("idle-start")
	before := procWrites()
	time.Sleep(idle)
	diskMark("idle-end")
	writers("idle", before)

	d := dial(context.Background())
	diskMark("session-start")
	id := d.RecordOne(pin)
	diskMark("recording")
	quiet("disk recording %s", id)
	before = procWrites()
	tracing := args["trace"] == "1" && startTrace()
	time.Sleep(rec)
	diskMark("recorded")
	writers("recording", before)
	if tracing {
		dumpTrace()
	}
	d.Send(room.Intent{Kind: room.IntentEnd})
	d.Wait("end pin", func(s room.Snapshot) bool { return s.Step == room.StepEndPIN })
	d.Digits(pin)
	d.Send(room.Intent{Kind: room.IntentPINOK})
	d.Wait("recording ended", func(s room.Snapshot) bool { return !s.Recording })
	waitQueue(false)
	diskMark("uploaded")
	time.Sleep(writebackSettle)
	diskMark("settled")
	quiet("disk done %s", id)
	_ = exec.Command("systemctl", "--no-block", "poweroff").Run()
	select {}
}

// quiet prints a line on the console without going through journald
// (the unit's stdout does): the measurement's own lines must not be writes
// on the disk it measures.
func quiet(format string, args ...any) {
	c, err := os.OpenFile("/dev/console", os.O_WRONLY|syscall.O_NOCTTY, 0)
	if err != nil {
		say(format, args...)
		return
	}
	defer c.Close()
	fmt.Fprintf(c, "powercut: "+format+"\r\n", args...)
}

func seconds(args map[string]string, k string) time.Duration {
	n, err := strconv.Atoi(args[k])
	if err != nil || n <= 0 {
		fail("powercut.%s=%q: want seconds", k, args[k])
	}
	return time.Duration(n) * time.Second
}

// diskMark prints the counters at one moment: the block device's sectors
// written, write requests and flushes (/sys/block/vda/stat fields 7, 5 and
// 16), ext4's lifetime kilobytes written, jbd2's transactions and logged
// blocks per transaction (its lifetime average), and the bytes the daemon
// and journald had dirtied (/proc/PID/io write_bytes).
func diskMark(mark string) {
	st := strings.Fields(readFile("/sys/block/" + blockDev + "/stat"))
	field := func(i int) int64 { // 1-based, as Documentation/block/stat.rst
		if i > len(st) {
			return -1
		}
		n, _ := strconv.ParseInt(st[i-1], 10, 64)
		return n
	}
	ext4, _ := strconv.ParseInt(strings.TrimSpace(readFile("/sys/fs/ext4/"+blockDev+"/lifetime_write_kbytes")), 10, 64)
	tx, logged := jbd2()
	fc, fcInel, fcBlocks := fastCommits()
	quiet("disk %s wsect %d wios %d flush %d ext4kb %d jtx %d jlogged %d daemon %d journald %d fc %d fcinel %d fcblk %d",
		mark, field(7), field(5), field(16), ext4, tx, logged,
		writeBytes("roomkiosk.service"), writeBytes("systemd-journald.service"), fc, fcInel, fcBlocks)
}

// fastCommits reads ext4's fast-commit counters of the root (-1 without
// fast commits): commits, those that fell back to a full commit
// (ineligible), and fast-commit blocks written.
func fastCommits() (commits, ineligible, blocks int64) {
	commits, ineligible, blocks = -1, -1, -1
	for _, l := range strings.Split(readFile("/proc/fs/ext4/"+blockDev+"/fc_info"), "\n") {
		f := strings.Fields(l)
		if len(f) != 2 {
			continue
		}
		n, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			continue
		}
		switch f[1] {
		case "commits":
			commits = n
		case "ineligible":
			ineligible = n
		case "numblks":
			blocks = n
		}
	}
	return
}

// procWrites is every process's /proc/PID/io write_bytes by pid and name.
func procWrites() map[string]int64 {
	w := map[string]int64{}
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		if n := ioWriteBytes(d); n >= 0 {
			w[filepath.Base(d)+"/"+strings.TrimSpace(readFile(d+"/comm"))] = n
		}
	}
	return w
}

// writers prints which processes dirtied pages in a window (new processes
// count from zero): the file system's share is then the rest.
func writers(window string, before map[string]int64) {
	var out []string
	for k, n := range procWrites() {
		if d := n - before[k]; d > 0 {
			out = append(out, fmt.Sprintf("%s=%d", k, d))
		}
	}
	sort.Strings(out)
	quiet("disk writers %s %s", window, strings.Join(out, " "))
}

func readFile(p string) string {
	b, err := os.ReadFile(p)
	if err != nil {
		return ""
	}
	return string(b)
}

// jbd2 reads the root journal's transaction count and its average logged
// blocks per transaction (-1 when absent).
func jbd2() (tx, logged int64) {
	tx, logged = -1, -1
	m, _ := filepath.Glob("/proc/fs/jbd2/" + blockDev + "-*/info")
	if len(m) == 0 {
		return
	}
	for _, l := range strings.Split(readFile(m[0]), "\n") {
		f := strings.Fields(l)
		switch {
		case len(f) > 1 && f[1] == "transactions":
			tx, _ = strconv.ParseInt(f[0], 10, 64)
		case strings.HasSuffix(strings.TrimSpace(l), "logged blocks per transaction"):
			logged, _ = strconv.ParseInt(f[0], 10, 64)
		}
	}
	return
}

// writeBytes is a unit's main process's write_bytes (-1 if unknown).
func writeBytes(unit string) int64 {
	out, err := exec.Command("systemctl", "show", "-p", "MainPID", "--value", unit).Output()
	if err != nil {
		return -1
	}
	return ioWriteBytes("/proc/" + strings.TrimSpace(string(out)))
}

// ioWriteBytes is write_bytes of the process at /proc/PID (-1 if unknown):
// the bytes it caused to be written, counted when it dirtied them.
func ioWriteBytes(procDir string) int64 {
	for _, l := range strings.Split(readFile(procDir+"/io"), "\n") {
		if v, ok := strings.CutPrefix(l, "write_bytes: "); ok {
			n, _ := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			return n
		}
	}
	return -1
}

// The trace (powercut.trace=1, ROOMKIOSK_DISK_TRACE=1 on the host) says
// what forces the journal's full commits while recording: the fsyncs
// (ext4_sync_file_enter: inode and parent), how each fast commit ended
// (ext4_fc_commit_stop) and each full commit (jbd2_start_commit), in order.
const tracefs = "/sys/kernel/tracing"

func startTrace() bool {
	if _, err := os.Stat(tracefs + "/events"); err != nil {
		_ = exec.Command("mount", "-t", "tracefs", "nodev", tracefs).Run()
	}
	w := func(p, v string) error { return os.WriteFile(tracefs+"/"+p, []byte(v), 0) }
	if err := w("buffer_size_kb", "4096"); err != nil {
		quiet("disk trace unavailable: %v", err)
		return false
	}
	for _, e := range []string{"ext4/ext4_sync_file_enter", "ext4/ext4_fc_commit_stop", "jbd2/jbd2_start_commit", "jbd2/jbd2_end_commit"} {
		if err := w("events/"+e+"/enable", "1"); err != nil {
			quiet("disk trace %s: %v", e, err)
		}
	}
	_ = w("tracing_on", "1")
	return true
}

func dumpTrace() {
	_ = os.WriteFile(tracefs+"/tracing_on", []byte("0"), 0)
	for _, l := range strings.Split(readFile(tracefs+"/trace"), "\n") {
		if l != "" && !strings.HasPrefix(l, "#") {
			quiet("disk trace %s", strings.TrimSpace(l))
		}
	}
}
