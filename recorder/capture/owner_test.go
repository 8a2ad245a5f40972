package capture_test

import (
	"bytes"
	"context"
	"io"
	"strings"
	"syscall"
	"testing"
	"time"

	"filippo.io/age"
	"github.com/rs/zerolog"

	"roomkiosk/internal/room"
	"roomkiosk/recorder"
	"roomkiosk/recorder/alsatest"
	"roomkiosk/recorder/capture"
	"roomkiosk/recorder/recordertest"
)

// TestMicCheckYieldsToRecordingALSA (findings F6): a microphone check holds
// the real ALSA device when the session starts recording. The recorder
// cancels the check and opens the device only once the check's stream is
// closed: never two open streams; the recording is byte-exact a contiguous
// run of the speech fed (no holes from two PCMs splitting the FIFO); and a
// check asked during the recording reports the live level without opening
// the device.
func TestMicCheckYieldsToRecordingALSA(t *testing.T) {
	needALSA(t)
	src := alsatest.SpeechFor(t, 6*time.Second, rate, 1, chunk)
	id, _ := age.GenerateX25519Identity()
	st := &statuses{}
	cfg := recorder.Default()
	cfg.SpoolDir = t.TempDir()
	cfg.SegmentLength.Duration = 2 * time.Second
	cfg.RetryInterval.Duration = 200 * time.Millisecond
	cfg.FreeMarginMB = 1
	cfg.MicSpeechFor.Duration = 5 * time.Second // the check would hold the device for 6 s
	dev := &recordertest.Counting{Source: &capture.Source{Device: cfg.Device}}
	rec, err := recorder.New(recorder.Options{Config: cfg, Recipients: []age.Recipient{id.Recipient()},
		RoomID: "101", DeviceID: "101", Source: dev, OnStatus: st.add, Log: zerolog.New(io.Discard)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rec.Close() })
	check := &recorder.MicCheck{Config: cfg, Source: dev, Recorder: rec}

	feed := feeder.FeedAndHold(src, chunk, bps)
	defer feed.Stop()
	res := make(chan room.CheckResult, 1)
	go func() { res <- check.Run(context.Background()) }()
	deadline := time.Now().Add(10 * time.Second)
	for dev.Now() == 0 || feed.Written() < 8*chunk {
		if time.Now().After(deadline) {
			t.Fatal("the check never opened the device")
		}
		time.Sleep(5 * time.Millisecond)
	}
	// Keep the FIFO open across the hand-over (a microphone does not go
	// away when one reader closes it): this reader never reads, so every
	// fed byte goes to the check or to the recording.
	hold, err := syscall.Open(feeder.FIFO, syscall.O_RDONLY|syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(hold)

	const sid = "20261127T100000Z-a00f06"
	asked := time.Now()
	if err := rec.Start(sessInfo(sid)); err != nil {
		t.Fatal(err)
	}
	var r room.CheckResult
	select {
	case r = <-res:
	case <-time.After(5 * time.Second):
		t.Fatal("the check did not yield the device to the session")
	}
	if !strings.Contains(r.Value, "a session started recording") {
		t.Errorf("preempted check: %+v", r)
	}
	st.waitFor(t, "recording", 5*time.Second, func(s room.RecorderStatus) bool { return s.State == room.RecorderRecording })
	t.Logf("recording %v after Start while a check held the device", time.Since(asked).Round(time.Millisecond))
	opens := dev.Opens()
	time.Sleep(300 * time.Millisecond) // a level to report
	if r := check.Run(context.Background()); r.State != room.CheckGood || !strings.Contains(r.Value, "in use by the session") {
		t.Errorf("check during the recording: %+v", r)
	}
	if dev.Opens() != opens {
		t.Error("a check during the recording opened the device")
	}
	select {
	case <-feed.Fed():
	case <-time.After(15 * time.Second):
		t.Fatal("feeder stuck")
	}
	time.Sleep(300 * time.Millisecond)
	if err := rec.Stop(sid, false); err != nil {
		t.Fatal(err)
	}
	rec.Wait()
	if m := dev.Max(); m != 1 {
		t.Errorf("%d capture streams open at once, want 1", m)
	}

	m, segs := decryptAll(t, rec.Spool().SessionDir(sid), id)
	var got []byte
	for _, s := range segs {
		if s.end != nil {
			t.Fatalf("segment %s ended with %v", s.m.Name, s.end)
		}
		got = append(got, s.pcm...)
	}
	if len(m.Gaps) != 0 {
		t.Errorf("gaps %+v", m.Gaps)
	}
	off, n := contiguousRun(t, got, src)
	t.Logf("recording: %d bytes; from source byte %d on, %d bytes equal the source (%d fed)", len(got), off, n, len(src))
	if off+n != len(src) {
		t.Errorf("the recording holds source bytes %d..%d, want up to its end %d", off, off+n, len(src))
	}
}

// contiguousRun checks that got is zero frames (device start-up), then one
// unbroken run of src from some offset to its end (then the held feeder's
// silence), and returns the offset and the run's length in bytes.
func contiguousRun(t *testing.T, got, src []byte) (off, n int) {
	t.Helper()
	g := 0
	for g+1 < len(got) && got[g] == 0 && got[g+1] == 0 {
		g += 2
	}
	const needle = 3200 // 100 ms: speech does not repeat itself that long
	if len(got)-g < needle {
		t.Fatalf("recording has %d non-silent bytes", len(got)-g)
	}
	i := bytes.Index(src, got[g:g+needle])
	if i < 0 || i%2 != 0 {
		t.Fatalf("the recording's first audio (byte %d) is not in the source (index %d)", g, i)
	}
	rest := got[g:]
	n = min(len(rest), len(src)-i)
	if !bytes.Equal(rest[:n], src[i:i+n]) {
		k := 0
		for k < n && rest[k] == src[i+k] {
			k++
		}
		t.Fatalf("the recording leaves the source at source byte %d (hole or split device): from %d, %d bytes equal", i+k, i, k)
	}
	for _, b := range rest[n:] {
		if b != 0 {
			t.Fatalf("after the source, the recording holds non-silence")
		}
	}
	return i, n
}
