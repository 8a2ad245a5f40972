package recorder_test

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"filippo.io/age"

	"roomkiosk/internal/room"
	"roomkiosk/recorder"
	"roomkiosk/recorder/manifest"
	"roomkiosk/recorder/recordertest"
	"roomkiosk/recorder/spool"
)

const resumeHelperEnv = "ROOMKIOSK_RESUME_HELPER"

// resumePCM is what the helper's microphone hears (real time: 50 ms every
// 50 ms).
func resumePCM() []byte { return randomPCM(30) }

// recordUntilKilled records session $ROOMKIOSK_RESUME_HELPER_SID into dir
// with 1 s segments, says "REC" once it records, and goes on until killed.
func recordUntilKilled(dir string) int {
	id, err := age.ParseX25519Identity(os.Getenv(resumeHelperEnv + "_KEY"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	cfg := recorder.Default()
	cfg.SpoolDir = dir
	cfg.SegmentLength.Duration = time.Second
	var once atomic.Bool
	recording := make(chan struct{})
	rec, err := recorder.New(recorder.Options{Config: cfg, Recipients: []age.Recipient{id.Recipient()}, RoomID: "101", DeviceID: "101",
		Source:    &recordertest.Source{PCM: resumePCM(), Chunk: 1600, Every: 50 * time.Millisecond},
		FreeSpace: func(string) (uint64, error) { return 100 << 30, nil },
		OnStatus: func(s room.RecorderStatus) {
			if s.State == room.RecorderRecording && once.CompareAndSwap(false, true) {
				close(recording)
			}
		}})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	if err := rec.Start(info(os.Getenv(resumeHelperEnv + "_SID"))); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	<-recording
	fmt.Println("REC")
	select {}
}

// The daemon is SIGKILLed mid-recording and comes back: recovery leaves the
// session open, the resumed recording is a new part of the same session,
// and the one manifest has the audio of both parts with the gap between
// them (its length measured), and a consent record noting the resumption.
func TestResumeAfterKill(t *testing.T) {
	id, _ := age.GenerateX25519Identity()
	dir := t.TempDir()
	const sid = "20261102T150405Z-abc301"
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), resumeHelperEnv+"="+dir, resumeHelperEnv+"_SID="+sid, resumeHelperEnv+"_KEY="+id.String())
	out, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := bufio.NewScanner(out)
	if !lines.Scan() || lines.Text() != "REC" {
		cmd.Process.Kill()
		t.Fatalf("helper: %q", lines.Text())
	}
	time.Sleep(2500 * time.Millisecond) // two sealed segments and a .part
	killed := time.Now()
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	time.Sleep(700 * time.Millisecond) // the reboot

	g := &rig{src: &recordertest.Source{PCM: resumePCM(), Chunk: 1600, Every: 50 * time.Millisecond}, up: &recordertest.Uploader{}, st: &statusLog{}, id: id, spool: dir}
	cfg := recorder.Default()
	cfg.SpoolDir = dir
	cfg.SegmentLength.Duration = time.Second
	var err error
	g.rec, err = recorder.New(recorder.Options{Config: cfg, Recipients: []age.Recipient{id.Recipient()}, RoomID: "101", DeviceID: "101",
		Source: g.src, OnStatus: g.st.add, Uploader: g.up, FreeSpace: func(string) (uint64, error) { return 100 << 30, nil }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.rec.Close() })
	if rec, err := g.rec.Recover(sid); err != nil || len(rec) != 0 {
		t.Fatalf("recover with the session open: %v %v", rec, err)
	}
	sp := g.rec.Spool()
	if _, err := os.Stat(sp.ManifestPath(sid)); !os.IsNotExist(err) {
		t.Fatal("recovery finished the session the core resumes")
	}
	in := info(sid)
	in.Resume = true
	resumedAt := time.Now()
	if err := g.rec.Start(in); err != nil {
		t.Fatal(err)
	}
	g.st.waitFor(t, "recording again", func(s room.RecorderStatus) bool { return s.State == room.RecorderRecording && s.ResumedGap > 0 })
	gap := g.st.last().ResumedGap
	time.Sleep(1500 * time.Millisecond)
	if err := g.rec.Stop(sid, false); err != nil {
		t.Fatal(err)
	}
	g.rec.Wait()

	m, pcm := readSession(t, sp.SessionDir(sid), id)
	if m.Interrupted || m.Withdrawn || m.StopReason != recorder.ReasonEnd {
		t.Errorf("manifest: interrupted %v withdrawn %v stop %q", m.Interrupted, m.Withdrawn, m.StopReason)
	}
	if len(m.Gaps) != 1 || m.Gaps[0].Reason != recorder.GapInterrupted {
		t.Fatalf("gaps %+v, want one interrupted", m.Gaps)
	}
	g0 := m.Gaps[0]
	// The gap runs from the last audio on disk (up to a 64 KiB chunk, 2 s,
	// before the kill) to the reopen: at least the reboot, at most that
	// plus the chunk and the start-up.
	if d := time.Duration(g0.DurationNS); d != gap || d < resumedAt.Sub(killed) || d > time.Since(killed) {
		t.Errorf("gap %v (status says %v); killed %v before the resume", d, gap, resumedAt.Sub(killed))
	}
	if g0.Frames != int64(time.Duration(g0.DurationNS).Seconds()*16000) {
		t.Errorf("gap frames %d for %v", g0.Frames, time.Duration(g0.DurationNS))
	}
	partial, before := 0, int64(0)
	for _, sg := range m.Segments {
		if sg.Partial {
			partial++
		}
		if sg.Index <= g0.AfterSegment {
			before += sg.Samples
		}
	}
	if partial > 1 || g0.AfterSegment < 2 || before < 16000 {
		t.Errorf("segments %+v, gap after %d", m.Segments, g0.AfterSegment)
	}
	// Both parts are the microphone's audio: the first from the start of
	// the first helper's source, the second from the start of this one.
	src := resumePCM()
	if !bytes.Equal(pcm[:before*2], src[:before*2]) {
		t.Error("the audio before the interruption is not what the microphone heard")
	}
	after := pcm[before*2:]
	if len(after) < 16000*2 || !bytes.Equal(after, src[:len(after)]) {
		t.Errorf("the resumed part (%d bytes) is not what the microphone heard", len(after))
	}
	p, err := m.OpenPersonal(id)
	if err != nil {
		t.Fatal(err)
	}
	if r := p.Consent.Resumed; len(r) != 1 || r[0].Gap != gap || len(p.Consent.Decisions) != 1 {
		t.Errorf("consent record %+v, want one resumption of %v", p.Consent, gap)
	}
	if n := g.rec.Metrics().Resumes; n != 1 {
		t.Errorf("resumes %d", n)
	}
	if _, err := os.Stat(filepath.Join(sp.SessionDir(sid), spool.JournalName)); !os.IsNotExist(err) {
		t.Errorf("journal left after the manifest")
	}
}

// A graceful stop suspends the recording (no manifest) and the next start
// resumes it into the same session; a session already sealed cannot take a
// new part.
func TestSuspendAndResume(t *testing.T) {
	g := newRig(t, randomPCM(20), 20*time.Millisecond, time.Second)
	const sid = "20261102T150405Z-abc302"
	if err := g.rec.Start(info(sid)); err != nil {
		t.Fatal(err)
	}
	g.st.waitFor(t, "recording", func(s room.RecorderStatus) bool { return s.State == room.RecorderRecording })
	time.Sleep(600 * time.Millisecond)
	if err := g.rec.Suspend(sid); err != nil {
		t.Fatal(err)
	}
	g.rec.Wait()
	sp := g.rec.Spool()
	if _, err := os.Stat(sp.ManifestPath(sid)); !os.IsNotExist(err) {
		t.Fatal("a suspended session has a manifest")
	}
	in := info(sid)
	in.Resume = true
	if err := g.rec.Start(in); err != nil {
		t.Fatal(err)
	}
	g.st.waitFor(t, "resumed", func(s room.RecorderStatus) bool { return s.State == room.RecorderRecording && s.ResumedGap > 0 })
	time.Sleep(300 * time.Millisecond)
	g.rec.Stop(sid, false)
	g.rec.Wait()
	m, _ := readSession(t, sp.SessionDir(sid), g.id)
	if len(m.Gaps) != 1 || m.Gaps[0].Reason != recorder.GapInterrupted {
		t.Errorf("gaps %+v", m.Gaps)
	}
	if err := g.rec.Start(in); err == nil {
		t.Error("resumed a sealed session")
	}
	if _, err := manifest.Parse(mustRead(t, sp.ManifestPath(sid))); err != nil {
		t.Errorf("the manifest after a refused resume: %v", err)
	}
}

func mustRead(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
