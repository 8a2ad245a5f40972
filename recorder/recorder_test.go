package recorder_test

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"filippo.io/age"

	"roomkiosk/internal/room"
	"roomkiosk/recorder"
	"roomkiosk/recorder/manifest"
	"roomkiosk/recorder/recordertest"
	"roomkiosk/recorder/segment"
	"roomkiosk/recorder/spool"
)

type statusLog struct {
	mu sync.Mutex
	s  []room.RecorderStatus
	at []time.Time
}

func (l *statusLog) add(s room.RecorderStatus) {
	l.mu.Lock()
	l.s = append(l.s, s)
	l.at = append(l.at, time.Now())
	l.mu.Unlock()
}

func (l *statusLog) last() room.RecorderStatus {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.s) == 0 {
		return room.RecorderStatus{}
	}
	return l.s[len(l.s)-1]
}

func (l *statusLog) waitFor(t *testing.T, what string, ok func(room.RecorderStatus) bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if ok(l.last()) {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s; last status %+v", what, l.last())
}

// waitForAny waits until any status reported so far satisfies ok: for a
// state that may pass before a poll sees it (an alert raised and cleared).
func (l *statusLog) waitForAny(t *testing.T, what string, ok func(room.RecorderStatus) bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		l.mu.Lock()
		seen := slices.ContainsFunc(l.s, ok)
		l.mu.Unlock()
		if seen {
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

type rig struct {
	rec   *recorder.Recorder
	src   *recordertest.Source
	up    *recordertest.Uploader
	st    *statusLog
	id    *age.X25519Identity
	spool string
	free  atomic.Uint64
}

func newRig(t *testing.T, pcm []byte, every time.Duration, segLen time.Duration) *rig {
	t.Helper()
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	g := &rig{src: &recordertest.Source{PCM: pcm, Chunk: 3200, Every: every}, up: &recordertest.Uploader{}, st: &statusLog{}, id: id, spool: t.TempDir()}
	g.free.Store(100 << 30)
	cfg := recorder.Default()
	cfg.SpoolDir = g.spool
	cfg.SegmentLength.Duration = segLen
	cfg.RetryInterval.Duration = 100 * time.Millisecond
	cfg.SilenceAfter.Duration = time.Second
	g.rec, err = recorder.New(recorder.Options{
		Config: cfg, Recipients: []age.Recipient{id.Recipient()}, RoomID: "101", DeviceID: "101", RetentionClass: "supervision",
		Source: g.src, OnStatus: g.st.add, Uploader: g.up,
		FreeSpace:      func(string) (uint64, error) { return g.free.Load(), nil },
		DiskCheckEvery: 100 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.rec.Close() })
	return g
}

func info(id string) room.SessionInfo {
	return room.SessionInfo{ID: id, CounselorID: "c-1", Started: time.Now(), MaxLength: time.Hour,
		Consent: room.ConsentRecord{AgreementID: "rec-2026-01", TextSHA256: strings.Repeat("a", 64), Language: "en",
			Decisions: []room.Decision{{Participant: 1, Consented: true, Language: "en", At: time.Now()}}}}
}

func randomPCM(seconds float64) []byte {
	r := rand.New(rand.NewPCG(7, 9))
	n := int(seconds*16000) * 2
	b := make([]byte, n)
	for i := 0; i < n; i += 2 {
		v := int16(r.IntN(20000) - 10000)
		b[i], b[i+1] = byte(v), byte(v>>8)
	}
	return b
}

// readSession decrypts every segment of a sealed session in manifest order.
func readSession(t *testing.T, dir string, id *age.X25519Identity) (*manifest.Manifest, []byte) {
	t.Helper()
	mb, err := os.ReadFile(filepath.Join(dir, manifest.FileName))
	if err != nil {
		t.Fatal(err)
	}
	m, err := manifest.Parse(mb)
	if err != nil {
		t.Fatal(err)
	}
	var all []byte
	var startFrame int64
	for _, sg := range m.Segments {
		n, sum, err := spool.HashFile(filepath.Join(dir, sg.Name))
		if err != nil || n != sg.Bytes || sum != sg.SHA256 {
			t.Fatalf("segment %s: size %d/%d sha %s/%s err %v", sg.Name, n, sg.Bytes, sum, sg.SHA256, err)
		}
		if sg.Partial && sg.Samples == 0 {
			continue // cut before its first chunk: no audio (pull skips it too)
		}
		f, _ := os.Open(filepath.Join(dir, sg.Name))
		h, r, err := segment.Open(f, id)
		if err != nil {
			t.Fatal(err)
		}
		pcm, err := io.ReadAll(r)
		f.Close()
		if err != nil && !(sg.Partial && errors.Is(err, segment.ErrTruncated)) {
			t.Fatalf("segment %s: %v", sg.Name, err)
		}
		if h.Index != sg.Index || h.SessionID != m.SessionID || h.StartFrame != startFrame {
			t.Fatalf("segment %s header %+v, want index %d start %d", sg.Name, h, sg.Index, startFrame)
		}
		if int64(len(pcm)/2) != sg.Samples {
			t.Fatalf("segment %s: %d frames decrypted, manifest says %d", sg.Name, len(pcm)/2, sg.Samples)
		}
		startFrame += sg.Samples
		all = append(all, pcm...)
	}
	return m, all
}

func TestRolloverAndKeep(t *testing.T) {
	pcm := randomPCM(3.5)
	g := newRig(t, pcm, 0, time.Second)
	const sid = "20261102T150405Z-abc123"
	if err := g.rec.Start(info(sid)); err != nil {
		t.Fatal(err)
	}
	for g.src.Offset() < len(pcm) {
		time.Sleep(5 * time.Millisecond)
	}
	g.st.waitFor(t, "recording", func(s room.RecorderStatus) bool {
		return s.State == room.RecorderRecording || s.State == room.RecorderFault
	})
	time.Sleep(50 * time.Millisecond)
	if err := g.rec.Stop(sid, false); err != nil {
		t.Fatal(err)
	}
	g.rec.Wait()
	m, got := readSession(t, g.rec.Spool().SessionDir(sid), g.id)
	if len(m.Segments) != 4 {
		t.Fatalf("%d segments, want 4", len(m.Segments))
	}
	for i, want := range []int64{16000, 16000, 16000, 8000} {
		if m.Segments[i].Samples != want {
			t.Errorf("segment %d: %d frames, want %d", i+1, m.Segments[i].Samples, want)
		}
	}
	if m.TotalSamples() != int64(len(pcm)/2) || !bytes.Equal(got, pcm) {
		t.Fatalf("PCM differs: %d frames, want %d", m.TotalSamples(), len(pcm)/2)
	}
	if m.Withdrawn || m.Interrupted || m.StopReason != recorder.ReasonEnd || m.RoomID != "101" || m.RetentionClass != "supervision" {
		t.Fatalf("manifest flags %+v", m)
	}
	p, err := m.OpenPersonal(g.id)
	if err != nil || p.Consent.AgreementID != "rec-2026-01" {
		t.Fatalf("personal %+v %v", p, err)
	}
	if g.up.Wakes() < 1 {
		t.Fatal("uploader not woken")
	}
	// Statuses reach OnStatus in order on the publisher's goroutine, which
	// may still be delivering the last one when Wait returns.
	g.st.waitFor(t, "stopped", func(s room.RecorderStatus) bool { return s.State == room.RecorderStopped && s.SessionID == sid })
	mt := g.rec.Metrics()
	if mt.SegmentsWritten != 4 || mt.FramesCaptured != uint64(len(pcm)/2) || mt.Fsyncs == 0 {
		t.Fatalf("metrics %+v", mt)
	}
	if _, err := os.Stat(filepath.Join(g.rec.Spool().SessionDir(sid), spool.JournalName)); !os.IsNotExist(err) {
		t.Fatal("journal left behind")
	}
}

func TestDiscard(t *testing.T) {
	g := newRig(t, randomPCM(2), 0, 30*time.Second)
	const sid = "20261102T150405Z-abc124"
	if err := g.rec.Start(info(sid)); err != nil {
		t.Fatal(err)
	}
	g.st.waitFor(t, "recording", func(s room.RecorderStatus) bool { return s.State == room.RecorderRecording })
	if err := g.rec.Stop(sid, true); err != nil {
		t.Fatal(err)
	}
	if err := g.rec.Discard(sid); err != nil {
		t.Fatal(err)
	}
	g.rec.Wait()
	if _, err := os.Stat(g.rec.Spool().SessionDir(sid)); !os.IsNotExist(err) {
		t.Fatalf("session folder still there: %v", err)
	}
	b, err := os.ReadFile(g.rec.Spool().DeletionPath(sid))
	if err != nil {
		t.Fatal(err)
	}
	d, err := manifest.ParseDeletion(b)
	if err != nil || d.Reason != "withdrawn" || d.RoomID != "101" {
		t.Fatalf("deletion %+v %v", d, err)
	}
	// A Discard cut short by a power cut is finished by recovery, not undone.
	os.MkdirAll(g.rec.Spool().SessionDir(sid), 0o700)
	os.WriteFile(filepath.Join(g.rec.Spool().SessionDir(sid), "seg-000001.wav.age.part"), []byte("x"), 0o600)
	rec, err := g.rec.Recover()
	if err != nil || len(rec) != 0 {
		t.Fatalf("recover %v %v", rec, err)
	}
	if _, err := os.Stat(g.rec.Spool().SessionDir(sid)); !os.IsNotExist(err) {
		t.Fatal("recovery resurrected a deleted session")
	}
}

func TestStartRefusesWithoutSpace(t *testing.T) {
	g := newRig(t, randomPCM(1), 0, 30*time.Second)
	g.free.Store(100 << 20) // 100 MB: a 1 h session at 16 kHz needs 115 MB + margin
	err := g.rec.Start(info("20261102T150405Z-abc125"))
	if !errors.Is(err, recorder.ErrNoSpace) {
		t.Fatalf("err = %v, want ErrNoSpace", err)
	}
	if g.src.Opens() != 0 {
		t.Fatal("device opened")
	}
}

func TestDiskFloorStopsCleanly(t *testing.T) {
	g := newRig(t, randomPCM(30), 20*time.Millisecond, 30*time.Second) // about 5x real time
	const sid = "20261102T150405Z-abc126"
	if err := g.rec.Start(info(sid)); err != nil {
		t.Fatal(err)
	}
	g.st.waitFor(t, "recording", func(s room.RecorderStatus) bool { return s.State == room.RecorderRecording })
	time.Sleep(200 * time.Millisecond)
	g.free.Store(10 << 20)
	g.st.waitFor(t, "stopped", func(s room.RecorderStatus) bool { return s.State == room.RecorderStopped })
	g.rec.Wait()
	if s := g.st.last(); s.Reason != recorder.ReasonDiskFloor {
		t.Fatalf("status %+v", s)
	}
	m, _ := readSession(t, g.rec.Spool().SessionDir(sid), g.id)
	if m.StopReason != recorder.ReasonDiskFloor || len(m.Segments) != 1 || g.src.IsOpen() {
		t.Fatalf("manifest %+v open %v", m, g.src.IsOpen())
	}
}

func TestDeviceLostAndBack(t *testing.T) {
	pcm := randomPCM(20)
	g := newRig(t, pcm, 20*time.Millisecond, 30*time.Second)
	const sid = "20261102T150405Z-abc127"
	if err := g.rec.Start(info(sid)); err != nil {
		t.Fatal(err)
	}
	g.st.waitFor(t, "recording", func(s room.RecorderStatus) bool { return s.State == room.RecorderRecording })
	time.Sleep(150 * time.Millisecond)
	g.src.Unplug()
	g.st.waitFor(t, "fault with mic_lost", func(s room.RecorderStatus) bool {
		return s.State == room.RecorderFault && hasAlert(s, recorder.AlertMicLost)
	})
	time.Sleep(250 * time.Millisecond) // a few failed reopens
	g.src.Replug()
	g.st.waitFor(t, "recording again", func(s room.RecorderStatus) bool {
		return s.State == room.RecorderRecording && !hasAlert(s, recorder.AlertMicLost)
	})
	time.Sleep(150 * time.Millisecond)
	g.rec.Stop(sid, false)
	g.rec.Wait()
	m, got := readSession(t, g.rec.Spool().SessionDir(sid), g.id)
	if len(m.Segments) != 2 || len(m.Gaps) != 1 || m.Gaps[0].AfterSegment != 1 || m.Gaps[0].Reason != recorder.AlertMicLost || m.Gaps[0].DurationNS < int64(200*time.Millisecond) {
		t.Fatalf("segments %+v gaps %+v", m.Segments, m.Gaps)
	}
	if !bytes.Equal(got, pcm[:len(got)]) {
		t.Fatal("PCM differs from the source")
	}
}

func TestEndsWhileDeviceMissing(t *testing.T) {
	g := newRig(t, randomPCM(5), 20*time.Millisecond, 30*time.Second)
	g.src.Unplug()
	const sid = "20261102T150405Z-abc129"
	if err := g.rec.Start(info(sid)); err != nil {
		t.Fatal(err)
	}
	g.st.waitFor(t, "fault", func(s room.RecorderStatus) bool { return s.State == room.RecorderFault })
	time.Sleep(200 * time.Millisecond)
	g.rec.Stop(sid, false)
	g.rec.Wait()
	m, _ := readSession(t, g.rec.Spool().SessionDir(sid), g.id)
	if len(m.Segments) != 0 || len(m.Gaps) != 1 || m.Gaps[0].AfterSegment != 0 || m.Gaps[0].DurationNS < int64(150*time.Millisecond) {
		t.Fatalf("segments %+v gaps %+v", m.Segments, m.Gaps)
	}
}

func TestSilenceAlertAndLevelRate(t *testing.T) {
	pcm := make([]byte, 16000*2*4) // 4 s of digital silence
	g := newRig(t, pcm, 50*time.Millisecond, 30*time.Second)
	const sid = "20261102T150405Z-abc128"
	if err := g.rec.Start(info(sid)); err != nil {
		t.Fatal(err)
	}
	g.st.waitFor(t, "mic_silent", func(s room.RecorderStatus) bool { return hasAlert(s, recorder.AlertMicSilent) })
	g.rec.Stop(sid, false)
	g.rec.Wait()
	g.st.mu.Lock()
	defer g.st.mu.Unlock()
	// Count status updates per second while recording: at most ~4 plus state changes.
	if n := len(g.st.s); float64(n) > 4*g.st.at[n-1].Sub(g.st.at[0]).Seconds()+6 {
		t.Fatalf("%d status updates in %v", n, g.st.at[n-1].Sub(g.st.at[0]))
	}
}

func TestConfigValidateNamesKey(t *testing.T) {
	tests := []struct {
		key string
		mut func(c *recorder.Config)
	}{
		{"recording.sample_rate", func(c *recorder.Config) { c.SampleRate = 44100 }},
		{"recording.silence_threshold_dbfs", func(c *recorder.Config) { c.SilenceThreshold = 3 }},
		{"recording.silence_after", func(c *recorder.Config) { c.SilenceAfter.Duration = 0 }},
		{"recording.retry_interval", func(c *recorder.Config) { c.RetryInterval.Duration = time.Hour }},
		{"recording.disk_floor_mb", func(c *recorder.Config) { c.DiskFloorMB = 0 }},
		{"recording.free_margin_mb", func(c *recorder.Config) { c.FreeMarginMB = -1 }},
		{"recording.mic_noise_floor_dbfs", func(c *recorder.Config) { c.MicNoiseFloor = -200 }},
		{"recording.mic_speech_window", func(c *recorder.Config) { c.MicSpeechFor.Duration = time.Hour }},
	}
	if err := recorder.Default().Validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	for _, tt := range tests {
		c := recorder.Default()
		tt.mut(&c)
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), tt.key) {
			t.Errorf("%s: err = %v", tt.key, err)
		}
	}
}
