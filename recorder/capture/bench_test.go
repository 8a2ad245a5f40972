//go:build bench

package capture_test

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"filippo.io/age"

	"roomkiosk/internal/room"
	"roomkiosk/internal/testenv"
	"roomkiosk/recorder/alsatest"
)

// The CPU window: measured after warm of steady capture (start-up, the
// device's open and the first segment's header are not per second of audio),
// over window (one 30 s segment, the product default, so one seal and one
// segment start fall inside it).
const (
	warm   = 2 * time.Second
	window = 30 * time.Second
	runs   = 3 // each side; alternated, medians reported

)

// cpuRun is what one run of either side cost over the window.
type cpuRun struct {
	cpu      time.Duration // all threads of every process of the side
	switches int64         // their context switches: wake-ups
	maxRSSKB int64         // the recorder's peak RSS (getrusage)
}

func (r cpuRun) pct() float64       { return 100 * r.cpu.Seconds() / window.Seconds() }
func (r cpuRun) perSecond() float64 { return float64(r.switches) / window.Seconds() }

// sample reads the CPU time and context switches of pids.
func sample(t *testing.T, pids ...int) (time.Duration, int64) {
	t.Helper()
	var cpu time.Duration
	var sw int64
	for _, pid := range pids {
		c, err := testenv.ProcCPU(pid)
		if err != nil {
			t.Fatal(err)
		}
		s, err := testenv.ProcSwitches(pid)
		if err != nil {
			t.Fatal(err)
		}
		cpu, sw = cpu+c, sw+s
	}
	return cpu, sw
}

// recorderRun runs the recorder (the same test binary, childMain) with the
// product's segment length and measures it over the window.
func recorderRun(t *testing.T, sid string) cpuRun {
	id, _ := age.GenerateX25519Identity()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "RK_RECORDER_CHILD=1", feeder.Env(), "RK_SPOOL="+t.TempDir(),
		"RK_RECIPIENT="+id.Recipient().String(), "RK_SESSION="+sid, "RK_SEGMENT=30s",
		"RK_RECORD_FOR="+(warm+window+time.Second).String())
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	feed := feeder.FeedAndHold(alsatest.SpeechFor(t, warm+window+5*time.Second, rate, 1, chunk), chunk, bps)
	defer feed.Stop()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if line, err := bufio.NewReader(out).ReadString('\n'); err != nil || line != "recording\n" {
		t.Fatalf("child: %q %v", line, err)
	}
	time.Sleep(warm)
	c0, s0 := sample(t, cmd.Process.Pid)
	time.Sleep(window)
	c1, s1 := sample(t, cmd.Process.Pid)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("child: %v", err)
	}
	ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	return cpuRun{cpu: c1 - c0, switches: s1 - s0, maxRSSKB: ru.Maxrss}
}

// arecordChunk is arecord's own period with its defaults on this device
// (`arecord -v`: period_size 2000, buffer_size 8000): it reads 4000 bytes at
// a time, so the feeder writes it whole periods of its own, as a real device
// wakes it, and no read of the file plugin is short (a short read is padded
// with zeros: fed in the recorder's 4096-byte periods it would capture extra
// silence and be woken at the recorder's pace, not its own).
const arecordChunk = 4000

// pipelineRun runs the baseline a Linux admin would write, on the same fed
// audio: arecord -f S16_LE -r 16000 -c 1 | age -r RECIPIENT > file. Its CPU
// is both processes'.
func pipelineRun(t *testing.T) cpuRun {
	arecord := testenv.Tool(t, "arecord")
	ageBin := testenv.Tool(t, "age")
	id, _ := age.GenerateX25519Identity()
	outPath := filepath.Join(t.TempDir(), "session.wav.age")
	out, err := os.Create(outPath)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	rec := exec.Command(arecord, "-q", "-f", "S16_LE", "-r", fmt.Sprint(rate), "-c", "1")
	rec.Env = append(os.Environ(), feeder.Env())
	rec.Stdout, rec.Stderr = pw, os.Stderr
	enc := exec.Command(ageBin, "-r", id.Recipient().String())
	enc.Stdin, enc.Stdout, enc.Stderr = pr, out, os.Stderr
	feed := feeder.FeedAndHold(alsatest.SpeechFor(t, warm+window+5*time.Second, rate, 1, arecordChunk), arecordChunk, bps)
	defer feed.Stop()
	if err := enc.Start(); err != nil {
		t.Fatal(err)
	}
	if err := rec.Start(); err != nil {
		t.Fatal(err)
	}
	pr.Close()
	pw.Close()
	// arecord opened the device once the feed's first write went through.
	for t0 := time.Now(); feed.Started().IsZero(); time.Sleep(10 * time.Millisecond) {
		if time.Since(t0) > 10*time.Second {
			t.Fatal("arecord never opened the capture device")
		}
	}
	time.Sleep(warm)
	c0, s0 := sample(t, rec.Process.Pid, enc.Process.Pid)
	time.Sleep(window)
	c1, s1 := sample(t, rec.Process.Pid, enc.Process.Pid)
	rec.Process.Signal(syscall.SIGINT)
	rec.Wait()
	if err := enc.Wait(); err != nil {
		t.Fatalf("age: %v", err)
	}
	fi, err := os.Stat(outPath)
	if err != nil || fi.Size() < int64(window.Seconds()*bps) {
		t.Fatalf("the pipeline wrote %v bytes (%v), less than the window's audio", fi.Size(), err)
	}
	// No more than was fed (the speech, then the held silence, all in
	// whole periods), plus age's header and tags: a padded short read
	// would add frames.
	if fed := int64(time.Since(feed.Started()).Seconds()*bps) + arecordChunk; fi.Size() > fed+fed/4096+4096 {
		t.Fatalf("the pipeline wrote %d bytes, more than the %d fed: arecord's reads were padded", fi.Size(), fed)
	}
	return cpuRun{cpu: c1 - c0, switches: s1 - s0}
}

// TestBenchCaptureCPUAndMemory: CPU per second of real-time capture at
// 16 kHz mono through the paced ALSA FIFO against arecord | age on the same
// fed audio, alternated runs, medians; and the recorder's resident memory.
func TestBenchCaptureCPUAndMemory(t *testing.T) {
	needALSA(t)
	var recPct, pipePct, recSw, pipeSw []float64
	var rss int64
	loads := []string{}
	for i := range runs {
		r := recorderRun(t, fmt.Sprintf("20261127T100000Z-c%05d", i))
		p := pipelineRun(t)
		recPct, pipePct = append(recPct, r.pct()), append(pipePct, p.pct())
		recSw, pipeSw = append(recSw, r.perSecond()), append(pipeSw, p.perSecond())
		rss = max(rss, r.maxRSSKB)
		loads = append(loads, testenv.LoadAvg())
		t.Logf("run %d: recorder %.3f %% (%.1f wake-ups/s), pipeline %.3f %% (%.1f wake-ups/s); load %s",
			i+1, r.pct(), r.perSecond(), p.pct(), p.perSecond(), loads[i])
	}
	rp, pp := testenv.Median(recPct), testenv.Median(pipePct)
	ratio := rp / pp
	each := func(v []float64) string {
		s := make([]string, len(v))
		for i, x := range v {
			s[i] = fmt.Sprintf("%.3f", x)
		}
		return strings.Join(s, ", ")
	}
	testenv.Report(t, testenv.Figure{Name: "recorder CPU per second of real-time capture", Value: rp, Unit: "% of one core",
		Baseline: "arecord -f S16_LE -r 16000 -c 1 | age -r (both processes, same fed audio, same run)", BaseVal: pp, Ratio: ratio,
		// Issue 16: what a Pi feels is CPU per second of audio, not
		// offline throughput; issue 25: under the shell pipeline's cost.
		Target: "<= 0.8 x baseline and < 1 %", Met: ratio <= 0.8 && rp < 1,
		Note: fmt.Sprintf("16 kHz mono through ALSA's file plugin fed in real time, each side whole periods of its own (recorder 4096 bytes: 2048 frames, 128 ms; arecord 4000 bytes, its default 2000-frame period, as arecord -v shows: until 2026-12-03 it read 4000-byte periods from 3200-byte writes, every read short and padded with zeros, 1.25 x the audio; the bench now fails a pipeline that wrote more than was fed); median of %d alternated runs, each %v of steady capture after %v (30 s segments: one seal and one new segment inside), CPU of every thread from /proc/PID/task/*/schedstat; recorder %s %%, pipeline %s %%; wake-ups (context switches) per second: recorder %.1f, pipeline %.1f; load average %s. Where the time goes (strace -f, perf, per-thread schedstat): thread wake-ups (the kernel's task switch tops the profile), not audio work (meter, age, SHA-256 under 0.1 ms a second). A second of the recorder: miniaudio's audio thread wakes 7.8 times (one 128 ms period: the FIFO read and the plugin's write, as arecord's) and copies into a C ring (capture/ring.go, a C data callback on malgo's device); Go wakes 2 times (a 512 ms hand-over through the netpoller, then the meter and age in memory) and 0.5 times for each 64 KiB age chunk (write and fsync, which also wake sysmon). The pipeline: arecord 8 wakes (125 ms periods), age 8 (one per 4000-byte pipe write). Was 1.22 %% (50 ms periods, a P per core), then 0.22 %% (one P, 100 ms periods): each period's cgo callback into Go woke sysmon, which handed the callback's P to a spinning M, 3 thread wake-ups a period; the audio thread no longer enters Go. 256 ms hand-overs (the level meter 4 times a second) measured 0.11-0.13 %% here, 512 ms 0.10-0.11 %%. Periods over 128 ms do not help on a real device: miniaudio's ALSA loop reads at most 4096 bytes at once and ALSA wakes it at a power of two frames (avail_min), so one wake-up per 2048 frames stays; the rig therefore feeds no longer ones",
			runs, window, warm, each(recPct), each(pipePct), testenv.Median(recSw), testenv.Median(pipeSw), strings.Join(loads, " / "))})
	mb := float64(rss) / 1024
	testenv.Report(t, testenv.Figure{Name: "recorder resident memory", Value: mb, Unit: "MB",
		Target: "< 30 MB", Met: mb < 30,
		Note: fmt.Sprintf("peak RSS (getrusage maxrss) of a process that recorded %v, largest of %d runs: test binary, Go runtime, miniaudio and alsa-lib included", warm+window, runs)})
}

// stopToClosed records one session over real ALSA with a recorder of its
// own, then stops it (withdrawn, or an ordinary end) and measures from the
// Stop call to the capture device closed (the FIFO's reader gone, polled
// every millisecond) and to Stop's return.
func stopToClosed(t *testing.T, src []byte, id *age.X25519Identity, sid string, withdrawn bool) (closed, returned time.Duration) {
	t.Helper()
	st := &statuses{}
	rec := newRecorder(t, t.TempDir(), 30*time.Second, id, st)
	defer rec.Close()
	feed := feeder.FeedAndHold(src, chunk, bps)
	defer feed.Stop()
	if err := rec.Start(sessInfo(sid)); err != nil {
		t.Fatal(err)
	}
	st.waitFor(t, "recording", hangDeadline, func(s room.RecorderStatus) bool { return s.State == room.RecorderRecording })
	if !fifoHasReader(feeder.FIFO) {
		t.Fatal("recording reported but no device open")
	}
	time.Sleep(time.Second) // steady capture, a few hand-overs and age chunks in
	t0 := time.Now()
	if err := rec.Stop(sid, withdrawn); err != nil {
		t.Fatal(err)
	}
	returned = time.Since(t0)
	for fifoHasReader(feeder.FIFO) {
		if time.Since(t0) > hangDeadline {
			t.Fatalf("capture device still open %v after Stop", hangDeadline)
		}
		time.Sleep(time.Millisecond)
	}
	closed = time.Since(t0)
	rec.Wait()
	if withdrawn {
		if err := rec.Discard(sid); err != nil {
			t.Fatal(err)
		}
		rec.Wait()
	}
	return closed, returned
}

// TestBenchWithdrawalToCaptureClosed: the product promise that capture stops
// within 250 ms of a withdrawal (DESIGN.md), over real ALSA: Stop(withdrawn)
// to the capture device closed, over several withdrawals, against the same
// recorder ended normally (Stop(id, false)) in the same run, alternated.
func TestBenchWithdrawalToCaptureClosed(t *testing.T) {
	needALSA(t)
	const n = 8 // each side
	src := alsatest.SpeechFor(t, 3*time.Second, rate, 1, chunk)
	id, _ := age.GenerateX25519Identity()
	var wd, end, wdRet, endRet []time.Duration
	for i := range n {
		// Alternate which side goes first, so neither always follows the other.
		for j, withdrawn := range []bool{i%2 == 0, i%2 != 0} {
			closed, returned := stopToClosed(t, src, id, fmt.Sprintf("20261127T100000Z-d%04x%x", i, j), withdrawn)
			if withdrawn {
				wd, wdRet = append(wd, closed), append(wdRet, returned)
			} else {
				end, endRet = append(end, closed), append(endRet, returned)
			}
			t.Logf("run %d: withdrawn %v: capture closed after %v, Stop returned after %v", i+1, withdrawn, closed, returned)
		}
	}
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	each := func(v []time.Duration) string {
		s := make([]string, len(v))
		for i, x := range v {
			s[i] = fmt.Sprintf("%.1f", ms(x))
		}
		return strings.Join(s, ", ")
	}
	wdMax, endMax := ms(slices.Max(wd)), ms(slices.Max(end))
	testenv.Report(t, testenv.Figure{Name: "withdrawal to capture closed", Value: wdMax, Unit: "ms",
		Baseline: "the same recorder ended normally, Stop(id, false) to capture closed (same run, alternated)", BaseVal: endMax, Ratio: wdMax / endMax,
		// DESIGN.md's consent rules: capture stops within 250 ms of a withdrawal.
		Target: "< 250 ms (max)", Met: wdMax < 250,
		Note: fmt.Sprintf("largest of %d withdrawals, each after 1 s of real-time capture of 16 kHz mono speech through ALSA's file plugin with its own recorder; from the Stop(withdrawn) call to the FIFO's reader gone (polled every 1 ms); median %.1f ms (baseline median %.1f ms); each: withdrawn %s ms, ended %s ms; Stop returned (median): withdrawn %.1f ms (after the withdrawn journal is durable), ended %.1f ms; load average %s",
			n, ms(testenv.Median(wd)), ms(testenv.Median(end)), each(wd), each(end), ms(testenv.Median(wdRet)), ms(testenv.Median(endRet)), testenv.LoadAvg())})
}
