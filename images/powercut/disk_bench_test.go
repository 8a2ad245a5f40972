//go:build bench

package powercut

import (
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"roomkiosk/internal/testenv"
)

// diskCounters is one "powercut: disk MARK ..." line of the guest's disk
// step: the root disk's block-layer counters and who dirtied pages.
type diskCounters struct {
	at       time.Time // when the host read the line (marks only)
	wsect    int64     // /sys/block/vda/stat field 7: 512-byte sectors written
	wios     int64     // field 5: write requests completed
	flush    int64     // field 16: flush requests completed
	ext4KB   int64     // /sys/fs/ext4/vda/lifetime_write_kbytes
	jtx      int64     // jbd2 transactions since mount
	jlogged  int64     // jbd2 logged blocks per transaction (lifetime average)
	daemon   int64     // the daemon's /proc/PID/io write_bytes
	journald int64     // systemd-journald's write_bytes
	fc       int64     // ext4 fast commits (/proc/fs/ext4/vda/fc_info; -1 without)
	fcInel   int64     // of them, fallen back to a full commit
	fcBlocks int64     // fast-commit blocks written
}

func (c diskCounters) bytes() int64 { return c.wsect * 512 }

var diskLine = regexp.MustCompile(`powercut: disk (\S+) wsect (-?\d+) wios (-?\d+) flush (-?\d+) ext4kb (-?\d+) jtx (-?\d+) jlogged (-?\d+) daemon (-?\d+) journald (-?\d+) fc (-?\d+) fcinel (-?\d+) fcblk (-?\d+)`)

// productIntervals turns the power-cut device config into the product's
// (configs/example.toml): 30 s segments, status every 60 s, resume window
// on (the heartbeat writes), the default backoff and retry.
func productIntervals(t testing.TB) func(string) string {
	return func(cfg string) string {
		for _, r := range [][2]string{
			{`segment_length = "10s"`, `segment_length = "30s"`},
			{`status_interval = "5s"`, `status_interval = "60s"`},
			{`backoff_max = "2s"`, ``},
			{`resume_window = "0s"`, `resume_window = "10m"`},
			{`retry_interval = "500ms"`, `retry_interval = "3s"`},
		} {
			if !strings.Contains(cfg, r[0]) {
				t.Fatalf("device config has no %s to change", r[0])
			}
			cfg = strings.Replace(cfg, r[0], r[1], 1)
		}
		return cfg
	}
}

func envSeconds(t testing.TB, name string, def int) int {
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		t.Fatalf("%s=%q: want a positive number of seconds", name, s)
	}
	return n
}

// TestBenchDiskWrites counts what the booted appliance writes to its disk at
// the block layer (the guest kernel's /sys/block/vda/stat: ext4 with its
// jbd2 journal, metadata, journald, everything), with the product's
// intervals: over an idle window of the free door scaled to a day, and over
// a recorded session from Start until sealed, uploaded and written back,
// scaled to an hour, against the session's audio. The same windows' page
// cache writes of the daemon and journald (/proc/PID/io) are read beside,
// so the file system's share is the difference.
func TestBenchDiskWrites(t *testing.T) {
	idle := envSeconds(t, "ROOMKIOSK_DISK_IDLE", 330)  // one check round (every 5 min) inside
	rec := envSeconds(t, "ROOMKIOSK_DISK_RECORD", 180) // 3 min, as kiosk/e2e's figure
	start := time.Now()
	h := setupWith(t, "disk-101", options{
		// Speech through the whole boot: boot, settle, idle, record.
		speech: time.Duration(idle+rec)*time.Second + 8*time.Minute,
		config: productIntervals(t),
	})
	// An experiment's file system change (e.g. "-O fast_commit"), on the
	// disk copy only: the figure's note names it.
	tune := os.Getenv("ROOMKIOSK_DISK_TUNE2FS")
	if tune != "" {
		out, err := exec.Command(testenv.Tool(t, "tune2fs"), append(strings.Fields(tune), h.disk)...).CombinedOutput()
		if err != nil {
			t.Fatalf("tune2fs %s: %v: %s", tune, err, out)
		}
		t.Logf("tune2fs %s: %s", tune, out)
	}
	bootArgs := []string{"powercut.idle=" + strconv.Itoa(idle), "powercut.record=" + strconv.Itoa(rec)}
	if os.Getenv("ROOMKIOSK_DISK_TRACE") == "1" {
		// Diagnosis: the guest traces the journal's commits while
		// recording and prints them (logged with -v).
		bootArgs = append(bootArgs, "powercut.trace=1")
	}
	v := h.boot("disk", bootArgs...)
	first, _ := v.waitLine(`powercut: boot \d+ step`, bootLimit)
	marks := map[string]diskCounters{}
	var id string
	mount := "unknown"
	for {
		l, m := v.waitLine(`powercut: disk (recording \S+$|done|root .*|writers .*|trace .*|\S+ wsect .*)`, bootLimit+time.Duration(idle+rec)*time.Second)
		if r, ok := strings.CutPrefix(m[1], "root "); ok {
			mount = r
			continue
		}
		if tr, ok := strings.CutPrefix(m[1], "trace "); ok {
			t.Logf("disk trace %s", tr)
			continue
		}
		if w, ok := strings.CutPrefix(m[1], "writers "); ok {
			t.Logf("disk writers (pid/name=bytes dirtied) %s", w)
			continue
		}
		if rid, ok := strings.CutPrefix(m[1], "recording "); ok && !strings.Contains(rid, " ") {
			id = rid
			continue
		}
		if m[1] == "done" {
			break
		}
		f := diskLine.FindStringSubmatch(l.text)
		if f == nil {
			t.Fatalf("boot %d: bad disk line %q", v.n, l.text)
		}
		var n [11]int64
		for i := range n {
			n[i], _ = strconv.ParseInt(f[i+2], 10, 64)
		}
		marks[f[1]] = diskCounters{at: l.at, wsect: n[0], wios: n[1], flush: n[2], ext4KB: n[3], jtx: n[4], jlogged: n[5], daemon: n[6], journald: n[7], fc: n[8], fcInel: n[9], fcBlocks: n[10]}
		t.Logf("disk %s", strings.TrimPrefix(l.text, "powercut: disk "))
	}
	v.waitPowerOff(2 * time.Minute)
	load := testenv.LoadAvg()
	for _, k := range []string{"idle-start", "idle-end", "session-start", "recording", "recorded", "uploaded", "settled"} {
		if _, ok := marks[k]; !ok {
			t.Fatalf("no disk mark %s from the guest", k)
		}
		if marks[k].wsect < 0 || marks[k].daemon < 0 {
			t.Fatalf("disk mark %s: counters missing: %+v", k, marks[k])
		}
	}
	if id == "" {
		t.Fatal("the guest named no recorded session")
	}
	var pcm int64
	for _, r := range h.adm.Sessions(t, h.room) {
		if r.Session == id {
			pcm = int64(r.Audio.Seconds()*rate+0.5) * frameBytes
		}
	}
	if pcm == 0 {
		t.Fatalf("session %s: not in the archive, or no audio", id)
	}

	d := func(a, b string) diskCounters { // b - a
		x, y := marks[a], marks[b]
		return diskCounters{wsect: y.wsect - x.wsect, wios: y.wios - x.wios, flush: y.flush - x.flush,
			ext4KB: y.ext4KB - x.ext4KB, jtx: y.jtx - x.jtx,
			daemon: y.daemon - x.daemon, journald: y.journald - x.journald,
			fc: y.fc - x.fc, fcInel: y.fcInel - x.fcInel, fcBlocks: y.fcBlocks - x.fcBlocks}
	}
	secs := func(a, b string) float64 { return marks[b].at.Sub(marks[a].at).Seconds() }

	// Idle: the free door.
	iw := d("idle-start", "idle-end")
	idleSecs := secs("idle-start", "idle-end")
	perDay := float64(iw.bytes()) * 86400 / idleSecs
	const budget = 16e6 // bytes a day at rest (kiosk/e2e's "SD card writes per idle day")

	// The session: Start (check round, journal), recording, end (seal,
	// manifest), uploads, writeback.
	steadyW := d("recording", "recorded")
	recSecs := secs("recording", "recorded")
	onceB := d("session-start", "recording").bytes() + d("recorded", "settled").bytes()
	steady := float64(steadyW.bytes()) / recSecs
	perHour := float64(onceB) + steady*3600
	audioHour := float64(rate * frameBytes * 3600)
	ratio := perHour / audioHour
	sess := d("session-start", "settled")
	chunks := float64(steadyW.daemon) / 65552 // fsync'ed age chunks while recording (about)
	// The file system's share: what reached the disk beyond the pages the
	// daemon and journald dirtied (jbd2's per-window figures are lifetime
	// averages in whole blocks, too coarse to subtract).
	fsShare := steadyW.bytes() - steadyW.daemon - steadyW.journald
	fcBytes := steadyW.fcBlocks * 4096 // the journal's block size is the file system's
	share := func(b int64) float64 { return float64(b) / recSecs / float64(rate*frameBytes) }

	testenv.Report(t, testenv.Figure{
		Name: "SD card block writes per hour of recorded session, booted image", Value: perHour / 1e6, Unit: "MB",
		Baseline: "the session's audio (16 kHz mono PCM, an hour)", BaseVal: audioHour / 1e6, Ratio: ratio,
		Target: "<= 1.15 x the audio", Met: ratio <= 1.15,
		Note: fmt.Sprintf("%sthe amd64 test image booted under qemu-system-x86_64 (TCG), the guest kernel's /sys/block/vda/stat sectors written (field 7) on the root disk (mounted %s; the Pi's fstab: rw,noatime,lazytime,commit=60, the same options) with its jbd2 journal, metadata, journald and every process; the real daemon, product intervals (30 s segments, status every 60 s, resume window on), snd-aloop fed by aplay, uploads to MinIO through user networking. "+
			"A %.0f s session (%d bytes of audio in the archive): %d bytes once (Start's check round and journal, %d; end, seal, manifest, uploads and 100 s of writeback, %d) and %.0f bytes a second while recording (%.3f x the audio's 32000), scaled to an hour. "+
			"While recording, per second: the daemon dirtied %.0f bytes (/proc/PID/io, the figure kiosk/e2e reports), journald %.0f; the disk took %.1f write requests and %.2f flushes (%.0f flushes for about %.0f fsync'ed 64 KiB age chunks) and jbd2 committed %.2f full transactions (about %d logged blocks each, its lifetime average) and ext4 %.2f fast commits (%d blocks in the window; %d fell back to a full commit): the rest, %.0f bytes a second, is the file system's (its journal's copies of the metadata the fsyncs change). "+
			"The ratio while recording, split: %.3f x the daemon's pages (each fsync'ed 65,552-byte age chunk ends inside a page the next chunk writes again: 17 pages for 16), %.3f x fast-commit blocks (one 4 KiB block per fsync'ed chunk), %.3f x full journal commits and their metadata (%d in the window: ext4 makes every folder fsync a full commit even with fast commits; the recorder fsyncs the session folder twice per 30 s segment, at the .part's creation and after the seal's rename, and the resume heartbeat's folder once a minute). "+
			"Under the design's durability rules (an fsync per 64 KiB chunk: at most one chunk lost at a power cut; 30 s segments; renames made durable by a folder fsync) the first two alone come to about 1.125 x, so 1.15 x needs one of those rules changed (images/README.md, \"What the disk takes at the block layer\"). "+
			"Whole session, Start to written back: %d bytes on the disk, %d dirtied by the daemon, %d by journald; load average %s",
			tuned(tune), mount, recSecs+secs("session-start", "recording"), pcm, onceB, d("session-start", "recording").bytes(), d("recorded", "settled").bytes(),
			steady, steady/float64(rate*frameBytes),
			float64(steadyW.daemon)/recSecs, float64(steadyW.journald)/recSecs, float64(steadyW.wios)/recSecs, float64(steadyW.flush)/recSecs, float64(steadyW.flush), chunks,
			float64(steadyW.jtx)/recSecs, marks["recorded"].jlogged, float64(steadyW.fc)/recSecs, steadyW.fcBlocks, steadyW.fcInel, float64(fsShare)/recSecs,
			share(steadyW.daemon), share(fcBytes), share(fsShare-fcBytes), steadyW.jtx,
			sess.bytes(), sess.daemon, sess.journald, load),
	})
	testenv.Report(t, testenv.Figure{
		Name: "SD card block writes per idle day, booted image", Value: perDay / 1e6, Unit: "MB",
		Baseline: "the idle budget (kiosk/e2e's SD card writes per idle day)", BaseVal: budget / 1e6, Ratio: perDay / budget,
		Target: "<= 1 x the budget (16 MB a day)", Met: perDay <= budget,
		Note: fmt.Sprintf("%sthe booted amd64 test image (as the hour's figure), free door, product intervals (checks every 5 min, status every 60 s, log level info), after the boot's uploads and 100 s of writeback: %d bytes on the root disk (/sys/block/vda/stat field 7: ext4, its journal, journald, everything) in %.0f s scaled to 24 h; in the same window the daemon dirtied %d bytes and journald %d (/proc/PID/io), the rest (%d) the file system's (%d full jbd2 transactions, %d fast commits: its journal, inode tables, bitmaps), %d write requests, %d flushes; load average %s",
			tuned(tune), iw.bytes(), idleSecs, iw.daemon, iw.journald, iw.bytes()-iw.daemon-iw.journald, iw.jtx, iw.fc, iw.wios, iw.flush, load),
	})
	t.Logf("disk bench: %v in all; power on to the guest client %.0f s; session %s", time.Since(start).Round(time.Second), first.at.Sub(v.started).Seconds(), id)
}

func tuned(tune string) string {
	if tune == "" {
		return ""
	}
	return "EXPERIMENT: disk file system changed with tune2fs " + tune + " before the boot; "
}
