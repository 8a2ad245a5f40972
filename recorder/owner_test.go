package recorder_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"filippo.io/age"

	"roomkiosk/internal/room"
	"roomkiosk/recorder"
	"roomkiosk/recorder/recordertest"
)

// The recorder is the capture device's one owner: a session starting while
// a microphone check holds the device cancels the check and opens the
// device only once the check's stream is closed; a check asked while the
// session records reports the live level without opening the device.
func TestMicCheckYieldsToSession(t *testing.T) {
	id, _ := age.GenerateX25519Identity()
	src := &recordertest.Counting{Source: &recordertest.Source{PCM: randomPCM(20), Chunk: 1600, Every: 50 * time.Millisecond}}
	st := &statusLog{}
	cfg := recorder.Default()
	cfg.SpoolDir = t.TempDir()
	cfg.MicSpeechFor.Duration = 5 * time.Second
	rec, err := recorder.New(recorder.Options{Config: cfg, Recipients: []age.Recipient{id.Recipient()}, RoomID: "101", DeviceID: "101",
		Source: src, OnStatus: st.add, FreeSpace: func(string) (uint64, error) { return 100 << 30, nil }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rec.Close() })
	check := &recorder.MicCheck{Config: cfg, Source: src, Recorder: rec}

	res := make(chan room.CheckResult, 1)
	go func() { res <- check.Run(context.Background()) }()
	for src.Now() == 0 {
		time.Sleep(time.Millisecond)
	}
	// A second check meanwhile does not open the device a second time.
	if r := check.Run(context.Background()); r.State != room.CheckUnknown || !strings.Contains(r.Value, "another microphone check") {
		t.Errorf("second check: %+v", r)
	}
	const sid = "20261102T150405Z-abc130"
	if err := rec.Start(info(sid)); err != nil {
		t.Fatal(err)
	}
	var r room.CheckResult
	select {
	case r = <-res:
	case <-time.After(5 * time.Second):
		t.Fatal("the check did not yield to the session")
	}
	if !strings.Contains(r.Value, "a session started recording") {
		t.Errorf("preempted check: %+v", r)
	}
	st.waitFor(t, "recording", func(s room.RecorderStatus) bool { return s.State == room.RecorderRecording })
	opens := src.Opens()
	if r := check.Run(context.Background()); r.State != room.CheckGood || !strings.Contains(r.Value, "in use by the session") {
		t.Errorf("check while recording: %+v", r)
	}
	if src.Opens() != opens {
		t.Error("a check while recording opened the device")
	}
	rec.Stop(sid, false)
	rec.Wait()
	if m := src.Max(); m != 1 {
		t.Errorf("%d streams open at once, want 1", m)
	}
	// After the session the check opens the device again.
	if r := check.Run(ctxWithTimeout(t, 50*time.Millisecond)); strings.Contains(r.Value, "in use") {
		t.Errorf("check after the session: %+v", r)
	}
	if src.Opens() != opens+1 || src.Max() != 1 {
		t.Errorf("opens %d (want %d), max %d", src.Opens(), opens+1, src.Max())
	}
}

func ctxWithTimeout(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}
