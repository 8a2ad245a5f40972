//go:build bench

package recorder_test

import (
	"crypto/sha256"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"
	"time"

	"filippo.io/age"

	"roomkiosk/internal/room"
	"roomkiosk/internal/testenv"
	"roomkiosk/recorder"
	"roomkiosk/recorder/recordertest"
)

// speechHour is one hour of 16 kHz mono PCM: espeak-ng speech repeated.
func speechHour(t *testing.T) []byte {
	espeak := testenv.Tool(t, "espeak-ng")
	sox := testenv.Tool(t, "sox")
	dir := t.TempDir()
	wav, raw := filepath.Join(dir, "s.wav"), filepath.Join(dir, "s.raw")
	if out, err := exec.Command(espeak, "-w", wav, "The quick brown fox jumps over the lazy dog, counseling session benchmark.").CombinedOutput(); err != nil {
		t.Fatalf("espeak-ng: %v %s", err, out)
	}
	if out, err := exec.Command(sox, wav, "-r", "16000", "-c", "1", "-b", "16", "-e", "signed-integer", "-t", "raw", raw).CombinedOutput(); err != nil {
		t.Fatalf("sox: %v %s", err, out)
	}
	one, err := os.ReadFile(raw)
	if err != nil {
		t.Fatal(err)
	}
	const n = 3600 * 16000 * 2
	pcm := make([]byte, 0, n+len(one))
	for len(pcm) < n {
		pcm = append(pcm, one...)
	}
	return pcm[:n]
}

type run struct {
	wall, cpu time.Duration
	mallocs   uint64
	m         recorder.Metrics
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// runPipeline records pcm through the whole recorder (fake source handing
// out chunks as fast as they are taken, without copying) and measures it.
func runPipeline(t *testing.T, pcm []byte, id *age.X25519Identity, noSync bool, chunk int) run {
	cfg := recorder.Default()
	cfg.SpoolDir = t.TempDir()
	cfg.FreeMarginMB = 1
	src := &recordertest.Source{PCM: pcm, Chunk: chunk, NoCopy: true}
	stopped := make(chan struct{}, 1)
	rec, err := recorder.New(recorder.Options{Config: cfg, Recipients: []age.Recipient{id.Recipient()}, RoomID: "101", DeviceID: "101",
		Source: src, NoSync: noSync,
		OnStatus: func(s room.RecorderStatus) {
			if s.State == room.RecorderStopped {
				stopped <- struct{}{}
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Close()
	in := room.SessionInfo{ID: "20261127T100000Z-bbbbbb", CounselorID: "c-1", MaxLength: time.Hour}
	runtime.GC()
	var ms0, ms1 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	c0, t0 := cpuTime(), time.Now()
	if err := rec.Start(in); err != nil {
		t.Fatal(err)
	}
	// MaxLength is exactly the PCM's length: the recorder stops itself
	// after the last frame and seals (reason max_length).
	<-stopped
	rec.Wait()
	r := run{wall: time.Since(t0), cpu: cpuTime() - c0, m: rec.Metrics()}
	runtime.ReadMemStats(&ms1)
	r.mallocs = ms1.Mallocs - ms0.Mallocs
	return r
}

// benchChunk is one second of audio per hand-over: the offline figure is
// about the pipeline's work per byte, not goroutine hand-overs.
const benchChunk = 32000

// cryptoFloor is the work the pipeline cannot skip, done in process with
// nothing else: one age stream per 30 s segment to the same recipient, the
// ciphertext going only into SHA-256 (no files, no meter, no hand-overs).
// It returns the CPU time taken (the process does nothing else meanwhile).
func cryptoFloor(t *testing.T, pcm []byte, id *age.X25519Identity) time.Duration {
	const seg = 30 * 16000 * 2
	c0 := cpuTime()
	for off := 0; off < len(pcm); off += seg {
		h := sha256.New()
		w, err := age.Encrypt(h, id.Recipient())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(pcm[off:min(off+seg, len(pcm))]); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		h.Sum(nil)
	}
	return cpuTime() - c0
}

// TestBenchPipelineVsAge: the offline pipeline (frames -> meter -> segments
// -> age -> files + SHA-256) on 1 hour of PCM against `age -r` encrypting
// the same PCM file, both without per-chunk fsync.
func TestBenchPipelineVsAge(t *testing.T) {
	ageBin := testenv.Tool(t, "age")
	pcm := speechHour(t)
	id, _ := age.GenerateX25519Identity()
	dir := t.TempDir()
	in := filepath.Join(dir, "hour.pcm")
	if err := os.WriteFile(in, pcm, 0o600); err != nil {
		t.Fatal(err)
	}
	mb := float64(len(pcm)) / 1e6

	// Best of three for both sides, interleaved, on a shared machine; wall
	// time and CPU time (the latter is steadier when other jobs run).
	var best run
	var bestAge, bestAgeCPU, bestFloor time.Duration
	for i := 0; i < 3; i++ {
		if d := cryptoFloor(t, pcm, id); bestFloor == 0 || d < bestFloor {
			bestFloor = d
		}
		out := filepath.Join(dir, fmt.Sprintf("out%d.age", i))
		cmd := exec.Command(ageBin, "-r", id.Recipient().String(), "-o", out, in)
		t0 := time.Now()
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("age: %v %s", err, b)
		}
		d := time.Since(t0)
		c := cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
		if bestAge == 0 || d < bestAge {
			bestAge = d
		}
		if bestAgeCPU == 0 || c < bestAgeCPU {
			bestAgeCPU = c
		}
		os.Remove(out)
		r := runPipeline(t, pcm, id, true, benchChunk)
		if best.wall == 0 || r.wall < best.wall {
			best.wall, best.m, best.mallocs = r.wall, r.m, r.mallocs
		}
		if best.cpu == 0 || r.cpu < best.cpu {
			best.cpu = r.cpu
		}
	}
	if best.m.FramesCaptured != uint64(len(pcm)/2) || best.m.SegmentsWritten != 120 {
		t.Fatalf("pipeline wrote %d frames in %d segments", best.m.FramesCaptured, best.m.SegmentsWritten)
	}
	chunks := len(pcm) / benchChunk
	ours, theirs := mb/best.wall.Seconds(), mb/bestAge.Seconds()
	ratio := ours / theirs
	testenv.Report(t, testenv.Figure{Name: "recorder pipeline vs age", Value: ours, Unit: "MB/s",
		Baseline: "age -r (same 1 h PCM file)", BaseVal: theirs, Ratio: ratio,
		// Information only (issue 16): audio arrives at 32 KB/s, so offline throughput is not what a Pi
		// feels; the recorder's target is CPU per second of real-time capture (recorder/capture).
		Target: "information (audio arrives at 0.032 MB/s; the target is CPU per second of real-time capture)", Met: true,
		Note: fmt.Sprintf("1 h 16 kHz mono (%.0f MB) in 120 segments, best of 3 wall; pipeline %v, age %v; neither fsyncs; both write "+
			"their ciphertext to files on the same disk (the test's temporary folders); the in-memory feeder queues every chunk up front, "+
			"so no scheduler wake-up of the fake is timed. The pipeline also meters every sample, SHA-256s the ciphertext for the "+
			"manifest, and creates, seals and renames 120 files with an age header (two X25519 operations) each: SHA-256 alone costs "+
			"about as much as age's ChaCha20-Poly1305, so on one core 0.8 is out of reach (see the floor figure); "+
			"%d mallocs in all (%.0f per segment; none per hand-over, see the allocation figure)", mb, best.wall, bestAge, best.mallocs, float64(best.mallocs)/120)})
	testenv.Report(t, testenv.Figure{Name: "recorder pipeline vs its mandatory crypto (CPU time)", Value: mb / best.cpu.Seconds(), Unit: "MB per CPU-second",
		Baseline: "in process: 120 age streams into SHA-256 only", BaseVal: mb / bestFloor.Seconds(), Ratio: bestFloor.Seconds() / best.cpu.Seconds(),
		Target: "information (what files and metering add)", Met: true,
		Note: fmt.Sprintf("best of 3: floor %v CPU, pipeline %v CPU; the difference is the meter, creating/writing/renaming 120 files "+
			"(kernel time) and the hand-overs. The floor alone reaches %.2f of the age CLI's MB per CPU-second, though the CLI also reads and writes a file",
			bestFloor, best.cpu, bestAgeCPU.Seconds()/bestFloor.Seconds())})
	oursCPU, theirsCPU := mb/best.cpu.Seconds(), mb/bestAgeCPU.Seconds()
	testenv.Report(t, testenv.Figure{Name: "recorder pipeline vs age (CPU time)", Value: oursCPU, Unit: "MB per CPU-second",
		Baseline: "age -r (same 1 h PCM file)", BaseVal: theirsCPU, Ratio: oursCPU / theirsCPU,
		Target: "information (see recorder CPU per second of real-time capture)", Met: true,
		Note: fmt.Sprintf("best of 3: pipeline %v CPU, age %v CPU (user+sys)", best.cpu, bestAgeCPU)})

	// Allocation per hand-over at the capture's real cadence (50 ms,
	// 1600 bytes): the same hour with 20x more hand-overs must not cost
	// more allocations than a constant per segment.
	small := runPipeline(t, pcm, id, true, 1600)
	perHand := (float64(small.mallocs) - float64(best.mallocs)) / float64(len(pcm)/1600-chunks)
	testenv.Report(t, testenv.Figure{Name: "recorder allocations per capture hand-over", Value: perHand, Unit: "mallocs",
		Target: "< 0.1 (none per frame)", Met: perHand < 0.1,
		Note: fmt.Sprintf("1 h in 1600-byte hand-overs: %d mallocs; in 32000-byte hand-overs: %d; difference over the extra hand-overs", small.mallocs, best.mallocs)})

	r := runPipeline(t, pcm, id, false, benchChunk)
	testenv.Report(t, testenv.Figure{Name: "recorder pipeline with fsync per age chunk", Value: mb / r.wall.Seconds(), Unit: "MB/s",
		Target: "information (measures the disk)", Met: true,
		Note: fmt.Sprintf("%d fsyncs in %v (%.0f µs per fsync incl. the work between); real time needs 0.032 MB/s",
			r.m.Fsyncs, r.wall, float64(r.wall.Microseconds())/float64(r.m.Fsyncs))})
}
