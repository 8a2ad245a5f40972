package capture_test

// Integration tests through the real ALSA path: alsa-lib's file plugin reads
// a FIFO that alsatest feeds with espeak-ng speech at real-time pace, malgo
// captures it, and the recorder encrypts it into the spool.

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"filippo.io/age"
	"github.com/rs/zerolog"

	"roomkiosk/internal/room"
	"roomkiosk/internal/testenv"
	"roomkiosk/recorder"
	"roomkiosk/recorder/alsatest"
	"roomkiosk/recorder/capture"
	"roomkiosk/recorder/manifest"
	"roomkiosk/recorder/recordertest"
	"roomkiosk/recorder/segment"
	"roomkiosk/recorder/spool"
)

const (
	rate = 16000
	bps  = rate * 2
	// chunk is one capture period (2048 frames, 128 ms: what capture.Source
	// asks for by default): the feeder writes whole periods, as a real
	// device makes them available, so no read of the file plugin is short.
	chunk = alsatest.PeriodBytes
)

// feeder is the one ALSA "microphone" of this test process: alsa-lib reads
// ALSA_CONFIG_PATH when it first initialises, so it is set in TestMain.
var feeder *alsatest.Feeder

func TestMain(m *testing.M) {
	if os.Getenv("RK_RECORDER_CHILD") != "" {
		os.Exit(childMain())
	}
	dir, err := os.MkdirTemp("", "rk-alsa-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	feeder, err = alsatest.NewIn(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Setenv("ALSA_CONFIG_PATH", feeder.ConfPath)
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func needALSA(t *testing.T) {
	t.Helper()
	for _, p := range []string{"/usr/lib/x86_64-linux-gnu/libasound.so.2", "/usr/lib/aarch64-linux-gnu/libasound.so.2", "/usr/lib/libasound.so.2"} {
		if _, err := os.Stat(p); err == nil {
			return
		}
	}
	testenv.Missing(t, "libasound2 (the ALSA library malgo loads)")
}

type statuses struct {
	mu sync.Mutex
	s  []room.RecorderStatus
}

func (l *statuses) add(s room.RecorderStatus) { l.mu.Lock(); l.s = append(l.s, s); l.mu.Unlock() }
func (l *statuses) last() room.RecorderStatus {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.s) == 0 {
		return room.RecorderStatus{}
	}
	return l.s[len(l.s)-1]
}
func (l *statuses) waitFor(t *testing.T, what string, d time.Duration, ok func(room.RecorderStatus) bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if ok(l.last()) {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s; last status %+v", what, l.last())
}

func hasAlert(s room.RecorderStatus, code string) bool {
	for _, a := range s.Alerts {
		if a.Code == code {
			return true
		}
	}
	return false
}

func newRecorder(t *testing.T, dir string, segLen time.Duration, id *age.X25519Identity, st *statuses) *recorder.Recorder {
	t.Helper()
	cfg := recorder.Default()
	cfg.SpoolDir = dir
	cfg.SegmentLength.Duration = segLen
	cfg.RetryInterval.Duration = 200 * time.Millisecond
	cfg.FreeMarginMB = 1
	rec, err := recorder.New(recorder.Options{Config: cfg, Recipients: []age.Recipient{id.Recipient()},
		RoomID: "101", DeviceID: "101", Source: &capture.Source{Device: cfg.Device}, OnStatus: st.add,
		Log: zerolog.New(io.Discard)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rec.Close() })
	return rec
}

func sessInfo(id string) room.SessionInfo {
	return room.SessionInfo{ID: id, CounselorID: "c-1", Started: time.Now(), MaxLength: time.Hour,
		Consent: room.ConsentRecord{AgreementID: "rec-2026-01", TextSHA256: strings.Repeat("a", 64), Language: "en",
			Decisions: []room.Decision{{Participant: 1, Consented: true, Language: "en", At: time.Now()}}}}
}

type segPCM struct {
	m   manifest.Segment
	pcm []byte
	end error
}

// decryptAll reads the manifest and every segment with the identity,
// checking sizes, hashes and headers.
func decryptAll(t *testing.T, dir string, id *age.X25519Identity) (*manifest.Manifest, []segPCM) {
	t.Helper()
	mb, err := os.ReadFile(filepath.Join(dir, manifest.FileName))
	if err != nil {
		t.Fatal(err)
	}
	m, err := manifest.Parse(mb)
	if err != nil {
		t.Fatal(err)
	}
	var out []segPCM
	for _, sg := range m.Segments {
		n, sum, err := spool.HashFile(filepath.Join(dir, sg.Name))
		if err != nil || n != sg.Bytes || sum != sg.SHA256 {
			t.Fatalf("%s: size %d/%d sha %s/%s %v", sg.Name, n, sg.Bytes, sum, sg.SHA256, err)
		}
		f, err := os.Open(filepath.Join(dir, sg.Name))
		if err != nil {
			t.Fatal(err)
		}
		h, r, err := segment.Open(f, id)
		if err != nil && sg.Partial && sg.Samples == 0 && errors.Is(err, segment.ErrTruncated) {
			// Cut before its first chunk was complete: nothing to recover.
			f.Close()
			out = append(out, segPCM{sg, nil, err})
			continue
		}
		if err != nil {
			f.Close()
			t.Fatalf("%s: %v", sg.Name, err)
		}
		pcm, err := io.ReadAll(r)
		f.Close()
		if h.Index != sg.Index || h.SessionID != m.SessionID || h.SampleRate != rate {
			t.Fatalf("%s: header %+v", sg.Name, h)
		}
		if int64(len(pcm)/2) != sg.Samples {
			t.Fatalf("%s: %d frames decrypted, manifest says %d", sg.Name, len(pcm)/2, sg.Samples)
		}
		out = append(out, segPCM{sg, pcm, err})
	}
	return m, out
}

// alignedPrefix checks that got is zero frames (device start-up, the only
// alignment FORMAT.md allows) followed by a prefix of src, and returns how
// many source bytes it holds.
func alignedPrefix(t *testing.T, got, src []byte) int {
	t.Helper()
	// The source's own leading silence is indistinguishable from start-up
	// zeros, so align on the first non-zero sample of each.
	firstNZ := func(b []byte) int {
		for i := 0; i+1 < len(b); i += 2 {
			if b[i] != 0 || b[i+1] != 0 {
				return i
			}
		}
		return len(b)
	}
	g, s := firstNZ(got), firstNZ(src)
	if g == len(got) {
		return min(len(got), s) // nothing but silence so far: nothing to misalign
	}
	if g < s {
		t.Fatalf("captured audio starts %d bytes earlier than the source", s-g)
	}
	n := len(got) - (g - s)
	if n > len(src) {
		// After the source a held feeder sends silence.
		if tail := got[g-s+len(src):]; countTrailingZeros(tail) != len(tail) {
			t.Fatalf("captured %d bytes more than the source, not silence", n-len(src))
		}
		n = len(src)
	}
	// Only the aligned part: trailing silence past the source was checked above.
	if !bytes.Equal(got[g-s:g-s+n], src[:n]) {
		i := 0
		for i < n && got[g-s+i] == src[i] {
			i++
		}
		t.Fatalf("captured PCM differs from the source at source byte %d of %d", i, n)
	}
	return n
}

func scanNoPlaintext(t *testing.T, root string, src []byte) {
	t.Helper()
	r := rand.New(rand.NewPCG(3, 4))
	var probes [][]byte
	for len(probes) < 64 {
		off := r.IntN(len(src)-32) &^ 1
		p := src[off : off+32]
		if bytes.Count(p, []byte{0}) < 8 { // a run with real signal
			probes = append(probes, p)
		}
	}
	files := 0
	filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		files++
		for _, magic := range []string{"RIFF", "rksg", "WAVE"} {
			if bytes.Contains(b, []byte(magic)) {
				t.Errorf("%s holds plaintext header magic %q", path, magic)
			}
		}
		for _, p := range probes {
			if bytes.Contains(b, p) {
				t.Errorf("%s holds a run of source samples", path)
				break
			}
		}
		return nil
	})
	if files == 0 {
		t.Fatal("no files in the spool")
	}
}

// TestCaptureSpeech5s: 5 s of speech through real ALSA into encrypted
// segments (2 s segment length: rollover), decrypted with the identity and
// with the age CLI, byte-equal to the source; no plaintext in the spool.
func TestCaptureSpeech5s(t *testing.T) {
	needALSA(t)
	ageBin := testenv.Tool(t, "age")
	src := alsatest.SpeechFor(t, 5*time.Second, rate, 1, chunk)
	id, _ := age.GenerateX25519Identity()
	st := &statuses{}
	dir := t.TempDir()
	rec := newRecorder(t, dir, 2*time.Second, id, st)

	feed := feeder.FeedAndHold(src, chunk, bps)
	defer feed.Stop()
	const sid = "20261127T100000Z-a00001"
	if err := rec.Start(sessInfo(sid)); err != nil {
		t.Fatal(err)
	}
	st.waitFor(t, "recording", 5*time.Second, func(s room.RecorderStatus) bool { return s.State == room.RecorderRecording })
	select {
	case <-feed.Fed():
	case <-time.After(15 * time.Second):
		t.Fatal("feeder stuck")
	}
	// Let the last periods travel through ALSA and the pool.
	deadline := time.Now().Add(3 * time.Second)
	for rec.Metrics().FramesCaptured < uint64(len(src)/2) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if err := rec.Stop(sid, false); err != nil {
		t.Fatal(err)
	}
	rec.Wait()
	if err := feed.Stop(); err != nil {
		t.Fatal(err)
	}

	sdir := rec.Spool().SessionDir(sid)
	m, segs := decryptAll(t, sdir, id)
	if len(m.Segments) != 3 {
		t.Fatalf("%d segments, want 3 (2 s + 2 s + rest)", len(m.Segments))
	}
	var all []byte
	var total int64
	for i, s := range segs {
		if s.end != nil {
			t.Fatalf("segment %d ended with %v", i+1, s.end)
		}
		if i < 2 && s.m.Samples != 2*rate {
			t.Fatalf("segment %d: %d frames, want %d", i+1, s.m.Samples, 2*rate)
		}
		total += s.m.Samples
		all = append(all, s.pcm...)
	}
	if total != m.TotalSamples() || total < int64(len(src)/2) {
		t.Fatalf("frames: %d in segments, manifest %d, source %d", total, m.TotalSamples(), len(src)/2)
	}
	if n := alignedPrefix(t, all, src); n != len(src) {
		t.Fatalf("captured %d of %d source bytes", n, len(src))
	}
	t.Logf("captured %d frames for %d source frames (leading alignment %d frames)", total, len(src)/2, total-int64(len(src)/2))

	// The age command line tool decrypts a segment on its own; the result
	// is a WAV whose data is the same PCM.
	keyFile := filepath.Join(t.TempDir(), "key.txt")
	os.WriteFile(keyFile, []byte(id.String()+"\n"), 0o600)
	var cliPCM []byte
	for _, s := range segs {
		out, err := exec.Command(ageBin, "-d", "-i", keyFile, filepath.Join(sdir, s.m.Name)).Output()
		if err != nil {
			t.Fatalf("age -d %s: %v", s.m.Name, err)
		}
		if _, err := segment.ParseHeader(out); err != nil {
			t.Fatal(err)
		}
		cliPCM = append(cliPCM, out[segment.HeaderSize:]...)
	}
	if !bytes.Equal(cliPCM, all) {
		t.Fatal("age CLI output differs from segment.Open")
	}
	scanNoPlaintext(t, dir, src)
	if mt := rec.Metrics(); mt.Overruns != 0 || mt.SegmentsWritten != 3 {
		t.Fatalf("metrics %+v", mt)
	}
}

// fifoHasReader reports whether some process has the FIFO open for reading
// (a non-blocking open for writing fails with ENXIO otherwise).
func fifoHasReader(path string) bool {
	fd, err := syscall.Open(path, syscall.O_WRONLY|syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
	if err != nil {
		return false
	}
	syscall.Close(fd)
	return true
}

// hangDeadline bounds the waits for something that must happen: it catches
// only a hang (a device never closed), never a slow machine. How fast the
// capture closes is the benchmark figure "withdrawal to capture closed"
// (bench_test.go), not a test assertion on a shared, noisy machine.
const hangDeadline = 10 * time.Second

// waitDeviceClosed waits until nothing has the FIFO open for reading: the
// ALSA capture device is closed.
func waitDeviceClosed(t *testing.T, after string) {
	t.Helper()
	deadline := time.Now().Add(hangDeadline)
	for fifoHasReader(feeder.FIFO) {
		if time.Now().After(deadline) {
			t.Fatalf("capture device still open %v after %s (a hang)", hangDeadline, after)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestWithdrawalClosesCapture: Stop(withdrawn) over real ALSA returns only
// once the journal says withdrawn, the ALSA device (the FIFO's reader) is
// then closed, and the session is held, not queued for upload, until the
// participants choose. The 250 ms promise is measured by
// TestBenchWithdrawalToCaptureClosed.
func TestWithdrawalClosesCapture(t *testing.T) {
	needALSA(t)
	src := alsatest.SpeechFor(t, 4*time.Second, rate, 1, chunk)
	id, _ := age.GenerateX25519Identity()
	st := &statuses{}
	rec := newRecorder(t, t.TempDir(), 30*time.Second, id, st)
	feed := feeder.FeedAndHold(src, chunk, bps)
	defer feed.Stop()
	const sid = "20261127T100000Z-a00002"
	if err := rec.Start(sessInfo(sid)); err != nil {
		t.Fatal(err)
	}
	st.waitFor(t, "recording", 5*time.Second, func(s room.RecorderStatus) bool { return s.State == room.RecorderRecording })
	if !fifoHasReader(feeder.FIFO) {
		t.Fatal("recording reported but no device open")
	}
	time.Sleep(1500 * time.Millisecond)
	if err := rec.Stop(sid, true); err != nil {
		t.Fatal(err)
	}
	// What a crash right after the room was told would find.
	if !recordertest.JournalWithdrawn(t, rec.Spool(), sid) {
		t.Fatal("Stop(withdrawn) returned before the journal said withdrawn")
	}
	if _, err := os.Stat(rec.Spool().ManifestPath(sid)); !os.IsNotExist(err) {
		t.Fatalf("withdrawn session queued for upload when Stop returned: %v", err)
	}
	waitDeviceClosed(t, "the withdrawal")
	rec.Wait()
	// Held until the participants choose: no manifest.json for the uploader.
	if _, err := os.Stat(rec.Spool().ManifestPath(sid)); !os.IsNotExist(err) {
		t.Fatalf("withdrawn session queued for upload before the choice: %v", err)
	}
	hb, err := os.ReadFile(rec.Spool().HeldPath(sid))
	if err != nil {
		t.Fatal(err)
	}
	m, err := manifest.Parse(hb)
	if err != nil || !m.Withdrawn || m.StopReason != recorder.ReasonWithdrawn || len(m.Segments) == 0 {
		t.Fatalf("held manifest %+v %v", m, err)
	}
	if err := rec.Discard(sid); err != nil {
		t.Fatal(err)
	}
	rec.Wait()
	if _, err := os.Stat(rec.Spool().SessionDir(sid)); !os.IsNotExist(err) {
		t.Fatal("discarded session still in the spool")
	}
}

// TestDeviceDisappears: the FIFO writer closes and the ALSA config is
// removed (an unplugged microphone); the recorder raises mic_lost, retries,
// and resumes into a new segment when the device is back, noting the gap.
func TestDeviceDisappears(t *testing.T) {
	needALSA(t)
	src := alsatest.SpeechFor(t, 2*time.Second, rate, 1, chunk)
	id, _ := age.GenerateX25519Identity()
	st := &statuses{}
	rec := newRecorder(t, t.TempDir(), 30*time.Second, id, st)
	defer feeder.RestoreConfig(t)

	feed := feeder.Feed(src, chunk, bps) // closes the FIFO after 2 s
	const sid = "20261127T100000Z-a00003"
	if err := rec.Start(sessInfo(sid)); err != nil {
		t.Fatal(err)
	}
	st.waitFor(t, "recording", 5*time.Second, func(s room.RecorderStatus) bool { return s.State == room.RecorderRecording })
	<-feed.Fed()
	feeder.RemoveConfig(t)
	feed.Wait()
	st.waitFor(t, "mic_lost", 5*time.Second, func(s room.RecorderStatus) bool {
		return s.State == room.RecorderFault && hasAlert(s, recorder.AlertMicLost)
	})
	time.Sleep(600 * time.Millisecond) // a few failed reopens
	if s := st.last(); s.State != room.RecorderFault {
		t.Fatalf("reopened without a device: %+v", s)
	}
	feeder.RestoreConfig(t)
	feed2 := feeder.FeedAndHold(src, chunk, bps)
	defer feed2.Stop()
	st.waitFor(t, "recording again", 5*time.Second, func(s room.RecorderStatus) bool {
		return s.State == room.RecorderRecording && !hasAlert(s, recorder.AlertMicLost)
	})
	time.Sleep(time.Second)
	rec.Stop(sid, false)
	rec.Wait()
	m, segs := decryptAll(t, rec.Spool().SessionDir(sid), id)
	if len(m.Segments) != 2 || len(m.Gaps) != 1 || m.Gaps[0].AfterSegment != 1 || m.Gaps[0].Reason != recorder.AlertMicLost {
		t.Fatalf("segments %+v gaps %+v", m.Segments, m.Gaps)
	}
	if m.Gaps[0].DurationNS < int64(500*time.Millisecond) {
		t.Fatalf("gap %v too short", time.Duration(m.Gaps[0].DurationNS))
	}
	// The first segment holds the whole first feed (then at most the
	// silence the runaway device produced before it was declared lost).
	// The first segment holds the whole first feed, then what the runaway
	// device delivered before it was declared lost: at most its buffer plus
	// one period (FORMAT.md).
	first := segs[0].pcm
	if n := len(first); n < len(src) {
		t.Fatalf("first segment %d bytes, fed %d", n, len(src))
	}
	g := bytes.Index(first, src[len(src)/2:])
	if g < 0 {
		t.Fatal("first feed not found in the first segment")
	}
	end := g + len(src) - len(src)/2
	alignedPrefix(t, first[:end], src)
	if junk := len(first) - end; junk > bps/2+chunk {
		t.Fatalf("%d bytes after the feed ended, more than the device buffer", junk)
	}
	alignedPrefix(t, segs[1].pcm, src)
	t.Logf("gap %v, segment frames %d + %d", time.Duration(m.Gaps[0].DurationNS), segs[0].m.Samples, segs[1].m.Samples)
}

func countTrailingZeros(b []byte) int {
	n := 0
	for i := len(b) - 1; i >= 0 && b[i] == 0; i-- {
		n++
	}
	return n &^ 1
}

// TestMicCheck runs the microphone check against speech and against a
// missing device.
func TestMicCheck(t *testing.T) {
	needALSA(t)
	// One second of room silence, then someone speaks.
	src := append(make([]byte, bps), alsatest.SpeechFor(t, 2*time.Second, rate, 1, chunk)...)
	cfg := recorder.Default()
	cfg.MicSpeechFor.Duration = 1500 * time.Millisecond
	c := &recorder.MicCheck{Config: cfg, Source: &capture.Source{}}
	if c.Name() != "microphone" {
		t.Fatal(c.Name())
	}
	feed := feeder.FeedAndHold(src, chunk, bps)
	res := c.Run(context.Background())
	feed.Stop()
	if res.State != room.CheckGood {
		t.Fatalf("with speech: %+v", res)
	}
	feeder.RemoveConfig(t)
	defer feeder.RestoreConfig(t)
	res = c.Run(context.Background())
	if res.State != room.CheckAbnormal || res.Hint == "" {
		t.Fatalf("without device: %+v", res)
	}
}

// --- crash test -------------------------------------------------------------

// childMain records until it is killed: the parent re-executes the test
// binary with RK_RECORDER_CHILD set.
func childMain() int {
	capture.TuneRuntime() // as the daemon does
	id, err := age.ParseX25519Recipient(os.Getenv("RK_RECIPIENT"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	cfg := recorder.Default()
	cfg.SpoolDir = os.Getenv("RK_SPOOL")
	cfg.SegmentLength.Duration = 3 * time.Second
	if d, err := time.ParseDuration(os.Getenv("RK_SEGMENT")); err == nil {
		cfg.SegmentLength.Duration = d // the benchmark: the product's length
	}
	cfg.FreeMarginMB = 1
	var once sync.Once
	ready := make(chan struct{})
	rec, err := recorder.New(recorder.Options{Config: cfg, Recipients: []age.Recipient{id}, RoomID: "101", DeviceID: "101",
		Source: &capture.Source{}, Log: zerolog.New(io.Discard),
		OnStatus: func(s room.RecorderStatus) {
			if s.State == room.RecorderRecording {
				once.Do(func() { close(ready) })
			}
		}})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if err := rec.Start(sessInfo(os.Getenv("RK_SESSION"))); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	<-ready
	fmt.Println("recording")
	if d, err := time.ParseDuration(os.Getenv("RK_RECORD_FOR")); err == nil {
		// Benchmark mode: record for d, then stop cleanly and exit.
		time.Sleep(d)
		rec.Stop(os.Getenv("RK_SESSION"), false)
		rec.Close()
		return 0
	}
	select {} // until SIGKILL
}

// TestKillAndRecover SIGKILLs a recording child at a random moment, then
// recovers the spool: the interrupted session's manifest lists the partial
// segment, its prefix decrypts byte-exact, and at most one age chunk (plus
// what was still in flight in ALSA and the pool) is lost.
func TestKillAndRecover(t *testing.T) {
	needALSA(t)
	src := alsatest.SpeechFor(t, 9*time.Second, rate, 1, chunk)
	id, _ := age.GenerateX25519Identity()
	dir := t.TempDir()
	const sid = "20261127T100000Z-a00004"
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "RK_RECORDER_CHILD=1", feeder.Env(), "RK_SPOOL="+dir,
		"RK_RECIPIENT="+id.Recipient().String(), "RK_SESSION="+sid)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	feed := feeder.FeedAndHold(src, chunk, bps)
	defer feed.Stop()
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || line != "recording\n" {
		t.Fatalf("child: %q %v", line, err)
	}
	wait := 2*time.Second + time.Duration(rand.Int64N(int64(5*time.Second)))
	time.Sleep(wait)
	fed := feed.Written()
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	feed.Stop()

	cfg := recorder.Default()
	cfg.SpoolDir = dir
	rec, err := recorder.New(recorder.Options{Config: cfg, Recipients: []age.Recipient{id.Recipient()}, RoomID: "101", DeviceID: "101",
		Source: &capture.Source{}, Log: zerolog.New(io.Discard)})
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Close()
	recs, err := rec.Recover()
	if err != nil || len(recs) != 1 || recs[0].SessionID != sid || len(recs[0].Partial) != 1 {
		t.Fatalf("recover: %+v %v", recs, err)
	}
	m, segs := decryptAll(t, rec.Spool().SessionDir(sid), id)
	if !m.Interrupted || m.StopReason != "recovered" {
		t.Fatalf("manifest %+v", m)
	}
	if _, err := m.OpenPersonal(id); err != nil {
		t.Fatal(err)
	}
	var all []byte
	for i, s := range segs {
		last := i == len(segs)-1
		if s.m.Partial != last {
			t.Fatalf("segment %d partial=%v", i+1, s.m.Partial)
		}
		if last && !errors.Is(s.end, segment.ErrTruncated) {
			t.Fatalf("partial segment ended with %v, want ErrTruncated", s.end)
		}
		if !last && s.end != nil {
			t.Fatalf("segment %d: %v", i+1, s.end)
		}
		all = append(all, s.pcm...)
	}
	got := alignedPrefix(t, all, src)
	lost := int(fed) - got
	t.Logf("killed after %v: fed %d bytes, recovered %d (lost %d bytes = %v) in %d segments",
		wait, fed, got, lost, time.Duration(lost)*time.Second/bps, len(segs))
	// One age chunk, plus what ALSA's 4 periods and one hand-over (the
	// ring's, or the pool's to the writer) held: 64 KiB + 4 x 128 ms +
	// 512 ms.
	if limit := segment.ChunkSize + alsatest.InFlightBytes; lost > limit {
		t.Fatalf("lost %d bytes, more than one chunk plus in-flight audio (%d)", lost, limit)
	}
}

// TestPeriodMatchesFeeder: the rig feeds whole periods of the Source's
// default, and the default reads once a period.
func TestPeriodMatchesFeeder(t *testing.T) {
	f := recorder.Format{SampleRate: rate, Channels: 1}
	if got := capture.DefaultPeriodFrames(f) * 2; got != alsatest.PeriodBytes {
		t.Fatalf("capture's default period is %d bytes, the feeder writes %d", got, alsatest.PeriodBytes)
	}
	// A hand-over is whole periods, about 500 ms (the level meter's pace).
	hand := capture.DefaultBufferBytes(f, capture.DefaultPeriodFrames(f))
	if hand != 4*alsatest.PeriodBytes {
		t.Fatalf("hand-over %d bytes, want four periods", hand)
	}
	// The kill and power-cut tests allow what ALSA and a hand-over hold.
	if got := capture.Periods*alsatest.PeriodBytes + hand; got != alsatest.InFlightBytes {
		t.Fatalf("capture holds up to %d bytes in flight, alsatest.InFlightBytes says %d", got, alsatest.InFlightBytes)
	}
}
