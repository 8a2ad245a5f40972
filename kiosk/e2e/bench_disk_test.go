//go:build bench

package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"roomkiosk/internal/room"
	"roomkiosk/internal/testenv"
	"roomkiosk/kiosk/kiosktest"
)

// envWindow reads a window length from the environment (to shorten it while
// working on a figure), else def.
func envWindow(t *testing.T, name string, def time.Duration) time.Duration {
	if s := os.Getenv(name); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return d
	}
	return def
}

// pid is the running daemon's process id.
func (d *device) pid(t testing.TB) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.cmd == nil {
		t.Fatal("daemon not running")
	}
	return d.cmd.Process.Pid
}

func (d *device) logBytes() int64 {
	fi, err := os.Stat(filepath.Join(d.dir, fmt.Sprintf("daemon-%d.log", d.runs)))
	if err != nil {
		return 0
	}
	return fi.Size()
}

// memWatch samples the daemon's memory every second until stop; it keeps
// the sample with the largest VmRSS.
type memWatch struct {
	peak, anon, file int64 // bytes at the peak
	stop, done       chan struct{}
}

func watchMemory(pid int) *memWatch {
	w := &memWatch{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(w.done)
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			if m, err := readMem(pid); err == nil && m[0] > w.peak {
				w.peak, w.anon, w.file = m[0], m[1], m[2]
			}
			select {
			case <-w.stop:
				return
			case <-tick.C:
			}
		}
	}()
	return w
}

func (w *memWatch) end() { close(w.stop); <-w.done }

// readMem is VmRSS, RssAnon and RssFile in bytes.
func readMem(pid int) ([3]int64, error) {
	var m [3]int64
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return m, err
	}
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) < 2 {
			continue
		}
		var kb int64
		fmt.Sscan(f[1], &kb)
		switch f[0] {
		case "VmRSS:":
			m[0] = kb << 10
		case "RssAnon:":
			m[1] = kb << 10
		case "RssFile:":
			m[2] = kb << 10
		}
	}
	return m, nil
}

// TestBenchDiskWritesAndMemory measures what the real daemon writes to its
// disk (the Pi's SD card), from /proc/PID/io write_bytes: over an idle
// window with the product's intervals (checks every 5 min, status every
// 60 s, log level info), scaled to a day; and over a recorded session from
// its start until it is sealed and uploaded, against the audio's own size.
// It also samples the daemon's resident memory through the session.
func TestBenchDiskWritesAndMemory(t *testing.T) {
	idleWin := envWindow(t, "ROOMKIOSK_IDLE_WINDOW", 5*time.Minute+30*time.Second)
	recWin := envWindow(t, "ROOMKIOSK_RECORD_WINDOW", 3*time.Minute)
	bin := binaries(t)
	adm := newAdmin(t, bin)
	mic := startMic(t, idleWin+recWin+5*time.Minute)
	dev := provision(t, adm, bin, "disk-101", mic, 30*time.Second)
	// The product's intervals and log level, not the other tests' fast ones.
	cfg, err := os.ReadFile(dev.cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	s := strings.Replace(string(cfg), "[log]\nlevel = \"debug\"", "[log]\nlevel = \"info\"", 1)
	s = strings.Replace(s, "status_interval = \"2s\"", "status_interval = \"60s\"", 1)
	s = strings.Replace(s, "backoff_max = \"2s\"", "", 1)
	if err := os.WriteFile(dev.cfgPath, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
	dev.start(t)
	pid := dev.pid(t)
	ctx, cancel := context.WithTimeout(context.Background(), idleWin+recWin+10*time.Minute)
	defer cancel()
	d := kiosktest.Dial(ctx, t, dev.socket, 0)
	d.Wait("free door with the boot checks in", func(s room.Snapshot) bool {
		return s.Step == room.StepDoor && s.Door == room.DoorFree && len(s.Checks) > 0
	})
	d.Close() // a screen would stay connected; this one only drives
	// Let the boot's first uploads (status, check log) settle.
	time.Sleep(10 * time.Second)

	// Idle: a free door, nothing recorded.
	io0, err := testenv.ReadProcIO(pid)
	if err != nil {
		t.Fatal(err)
	}
	log0 := dev.logBytes()
	time.Sleep(idleWin)
	io1, err := testenv.ReadProcIO(pid)
	if err != nil {
		t.Fatal(err)
	}
	idleBytes := io1.WriteBytes - io0.WriteBytes
	idleLog := dev.logBytes() - log0
	perDay := float64(idleBytes) * float64(24*time.Hour) / float64(idleWin)
	loadIdle := testenv.LoadAvg()

	// A recorded session: from Start until sealed and uploaded.
	memAll := watchMemory(pid) // PIN checks and uploads included
	io2, _ := testenv.ReadProcIO(pid)
	log2 := dev.logBytes()
	d = kiosktest.Dial(ctx, t, dev.socket, 0) // a fresh connection gets the current snapshot
	defer d.Close()
	id := d.RecordOne(pinCode)
	t0 := time.Now()
	ioA, _ := testenv.ReadProcIO(pid)
	mem := watchMemory(pid) // while recording
	time.Sleep(recWin)
	mem.end()
	ioB, _ := testenv.ReadProcIO(pid)
	d.Send(room.Intent{Kind: room.IntentEnd})
	d.Wait("end pin", func(s room.Snapshot) bool { return s.Step == room.StepEndPIN })
	for _, c := range pinCode {
		d.Send(room.Intent{Kind: room.IntentPINDigit, Digit: int(c - '0')})
	}
	d.Send(room.Intent{Kind: room.IntentPINOK})
	d.Wait("recording ended", func(s room.Snapshot) bool { return !s.Recording })
	recorded := time.Since(t0)
	dev.waitStatus(t, "upload queue empty", 3*time.Minute, func(s daemonStatus) bool {
		n, _ := s.Queue["objects"].(float64)
		return s.Queue != nil && n == 0
	})
	memAll.end()
	io3, _ := testenv.ReadProcIO(pid)
	recLog := dev.logBytes() - log2
	loadRec := testenv.LoadAvg()
	dev.stop()

	// The audio's own size: what the archive holds for the session.
	var pcm int64
	for _, r := range adm.Sessions(t, dev.room) {
		if r.Session == id {
			pcm = int64(r.Audio.Seconds() * bytesPerSec)
		}
	}
	if pcm == 0 {
		pcm = int64(recorded.Seconds() * bytesPerSec)
	}
	// Per hour: what a session writes once (the pre-session check round,
	// the journal, the last segment's seal, manifest, summary, upload
	// state) plus an hour of what recording writes per second.
	once := (ioA.WriteBytes - io2.WriteBytes) + (io3.WriteBytes - ioB.WriteBytes)
	steady := float64(ioB.WriteBytes-ioA.WriteBytes) / recWin.Seconds()
	perHour := float64(once) + steady*3600
	audioHour := float64(bytesPerSec * 3600)
	ratio := perHour / audioHour
	sessBytes := io3.WriteBytes - io2.WriteBytes
	testenv.Report(t, testenv.Figure{
		Name: "SD card writes per hour of recorded session", Value: perHour / 1e6, Unit: "MB",
		Baseline: "the session's audio (16 kHz mono PCM, an hour)", BaseVal: audioHour / 1e6, Ratio: ratio,
		Target: "<= 1.15 x the audio", Met: ratio <= 1.15,
		Note: fmt.Sprintf("real daemon (sim board, ALSA capture fed in real time, uploader to MinIO, 30 s segments, fsync per 64 KiB age chunk), /proc/PID/io write_bytes (page cache pages dirtied: the filesystem's own journal is not in it); a %v session (%d bytes of audio in the archive) wrote %d bytes from Start until sealed and uploaded: %d once per session (check round, journal, seal, manifest, upload state) and %.0f bytes a second while recording (%.3f x the audio's 32000: each fsync'ed 65552-byte age chunk leaves a partly written page that the next chunk dirties again), scaled to an hour; %d bytes of the daemon's own log lines (on the appliance journald writes those); load average %s",
			recorded.Round(time.Second), pcm, sessBytes, once, steady, steady/bytesPerSec, recLog, loadRec),
	})
	const budget = 16e6 // bytes a day at rest; see the note
	testenv.Report(t, testenv.Figure{
		Name: "SD card writes per idle day", Value: perDay / 1e6, Unit: "MB",
		Baseline: "", Target: "<= 16 MB a day", Met: perDay <= budget,
		Note: fmt.Sprintf("free door, product intervals (checks every 5 min, status every 60 s, log level info): %d bytes (/proc/PID/io write_bytes, pages dirtied; the filesystem's journal not included) in %v scaled to 24 h, %d of them log lines; at rest the daemon writes only after a check round (the maintenance log's line and the check-log upload cursor, each fsync'ed): status goes to the server, not the card. Budget: 16 MB a day, 5.8 GB a year, is under 0.1 %% of the write endurance of a 32 GB SD card (about 3000 full writes), with room for the resume heartbeat (one 4 KiB journal page a minute: 5.9 MB a day); load average %s",
			idleBytes, idleWin, idleLog, loadIdle),
	})
	testenv.Report(t, testenv.Figure{
		Name: "daemon resident memory while recording", Value: float64(mem.peak) / (1 << 20), Unit: "MB",
		Baseline: "", Target: "< 32 MB (was < 40 MB)", Met: mem.peak < 32<<20,
		Note: fmt.Sprintf("largest VmRSS of the real roomkiosk daemon sampled every second through %v of recording (sim board, ALSA capture, 30 s segments, their uploads): private (RssAnon) %.1f MB, mapped files (RssFile: the binary, libc, alsa-lib) %.1f MB. From Start to the last upload, PIN checks included, the peak was %.1f MB: argon2id's 19 MiB block (the PIN hash's floor) is live during each check and given back right after it; load average %s",
			recWin, float64(mem.anon)/(1<<20), float64(mem.file)/(1<<20), float64(memAll.peak)/(1<<20), loadRec),
	})
}
