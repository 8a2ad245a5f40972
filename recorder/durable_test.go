package recorder_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"slices"
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

// When Stop(id, withdrawn) returns, the journal on disk already says
// withdrawn (issue 13 item 1: it said withdrawn=false in 20 of 20 runs).
func TestWithdrawnJournalOnDiskWhenStopReturns(t *testing.T) {
	for i := range 20 {
		g := newRig(t, randomPCM(30), 10*time.Millisecond, 30*time.Second)
		sid := fmt.Sprintf("20261102T150405Z-ab%04x", i)
		if err := g.rec.Start(info(sid)); err != nil {
			t.Fatal(err)
		}
		g.st.waitFor(t, "recording", func(s room.RecorderStatus) bool { return s.State == room.RecorderRecording })
		if err := g.rec.Stop(sid, true); err != nil {
			t.Fatalf("run %d: stop: %v", i, err)
		}
		if !recordertest.JournalWithdrawn(t, g.rec.Spool(), sid) {
			t.Fatalf("run %d: Stop(withdrawn) returned before the journal said withdrawn", i)
		}
		g.rec.Wait()
	}
}

// A failed write of the withdrawn journal is retried; when every retry
// fails Stop says so, the storage check turns abnormal and the counselor
// gets an alert; the next successful write clears the fault.
func TestWithdrawnJournalRetriedAndFaulted(t *testing.T) {
	var failLeft atomic.Int32
	restore := recorder.SetWriteJournal(func(sp spool.Spool, m *manifest.Manifest) error {
		if m.Withdrawn && failLeft.Add(-1) >= 0 {
			return errors.New("injected: input/output error")
		}
		return sp.WriteJournal(m)
	})
	t.Cleanup(restore)

	// Two failures, then a success: retried, Stop is fine.
	g := newRig(t, randomPCM(30), 10*time.Millisecond, 30*time.Second)
	const sid = "20261102T150405Z-abc201"
	if err := g.rec.Start(info(sid)); err != nil {
		t.Fatal(err)
	}
	g.st.waitFor(t, "recording", func(s room.RecorderStatus) bool { return s.State == room.RecorderRecording })
	failLeft.Store(2)
	if err := g.rec.Stop(sid, true); err != nil {
		t.Fatalf("stop after two failed writes: %v", err)
	}
	if !recordertest.JournalWithdrawn(t, g.rec.Spool(), sid) {
		t.Fatal("journal not withdrawn after the retries")
	}
	if n := g.rec.Metrics().WriteErrors; n != 2 {
		t.Errorf("write errors %d, want 2", n)
	}
	if err := g.rec.SpoolFault(); err != nil {
		t.Errorf("fault after a successful retry: %v", err)
	}
	g.rec.Wait()

	// Every attempt fails: Stop reports it, a check fault is raised.
	g = newRig(t, randomPCM(30), 10*time.Millisecond, 30*time.Second)
	const sid2 = "20261102T150405Z-abc202"
	if err := g.rec.Start(info(sid2)); err != nil {
		t.Fatal(err)
	}
	g.st.waitFor(t, "recording", func(s room.RecorderStatus) bool { return s.State == room.RecorderRecording })
	failLeft.Store(4) // holdAttempts: Stop's attempts all fail; finish's succeed
	err := g.rec.Stop(sid2, true)
	if !errors.Is(err, recorder.ErrNotDurable) {
		t.Fatalf("stop with every journal write failing: %v, want ErrNotDurable", err)
	}
	if g.rec.SpoolFault() == nil {
		// finish may already have written it; the alert says it happened.
		t.Log("fault already cleared by finish's retry")
	}
	// The alert may be raised and cleared (finish's retry) between polls.
	g.st.waitForAny(t, "spool write alert", func(s room.RecorderStatus) bool { return hasAlert(s, recorder.AlertSpoolWrite) })
	g.rec.Wait()
	// finish tried again and wrote the held manifest: the fault is gone.
	if err := g.rec.SpoolFault(); err != nil {
		t.Errorf("fault still raised after the held manifest was written: %v", err)
	}
	if _, err := os.Stat(g.rec.Spool().HeldPath(sid2)); err != nil {
		t.Errorf("no held manifest: %v", err)
	}

	// While the fault stands the storage check is abnormal.
	g = newRig(t, randomPCM(30), 10*time.Millisecond, 30*time.Second)
	const sid3 = "20261102T150405Z-abc203"
	if err := g.rec.Start(info(sid3)); err != nil {
		t.Fatal(err)
	}
	g.st.waitFor(t, "recording", func(s room.RecorderStatus) bool { return s.State == room.RecorderRecording })
	failLeft.Store(1 << 20) // the disk is gone
	if err := g.rec.Stop(sid3, true); !errors.Is(err, recorder.ErrNotDurable) {
		t.Fatalf("stop: %v", err)
	}
	g.rec.Wait()
	cfg := recorder.Default()
	cfg.SpoolDir = g.spool
	check := &recorder.StorageCheck{Config: cfg, Recorder: g.rec, FreeSpace: func(string) (uint64, error) { return 100 << 30, nil }}
	if res := check.Run(context.Background()); res.State != room.CheckAbnormal {
		t.Errorf("storage check with a failed withdrawal journal: %+v", res)
	}
	failLeft.Store(0)
}

// killHelperEnv runs this test binary as the recording process of
// TestWithdrawalSurvivesKill.
const killHelperEnv = "ROOMKIOSK_WITHDRAW_KILL_HELPER"

func TestMain(m *testing.M) {
	if dir := os.Getenv(killHelperEnv); dir != "" {
		os.Exit(withdrawKillHelper(dir))
	}
	if dir := os.Getenv(resumeHelperEnv); dir != "" {
		os.Exit(recordUntilKilled(dir))
	}
	os.Exit(m.Run())
}

// withdrawKillHelper records a session into dir, withdraws after a random
// moment, prints "ACK" once Stop returned (the core would now tell the
// room), and goes on sealing until killed.
func withdrawKillHelper(dir string) int {
	id, _ := age.GenerateX25519Identity()
	cfg := recorder.Default()
	cfg.SpoolDir = dir
	cfg.SegmentLength.Duration = time.Second
	recording := make(chan struct{})
	var once atomic.Bool
	rec, err := recorder.New(recorder.Options{Config: cfg, Recipients: []age.Recipient{id.Recipient()}, RoomID: "101", DeviceID: "101",
		Source:    &recordertest.Source{PCM: randomPCM(30), Chunk: 1600, Every: 5 * time.Millisecond},
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
	sid := os.Getenv(killHelperEnv + "_SID")
	fam := info(sid)
	fam.Consent.Adults, fam.Consent.Children = 1, 1 // the held list keeps the count across the kill
	if err := rec.Start(fam); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	<-recording
	time.Sleep(time.Duration(rand.IntN(300)) * time.Millisecond)
	if err := rec.Stop(sid, true); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	fmt.Println("ACK")
	rec.Wait()
	fmt.Println("SEALED")
	select {} // until killed
}

// A SIGKILL of the recording process at a random moment right after a
// withdrawal was acknowledged (200 trials, real files): recovery never
// makes the session uploadable (no manifest.json); it is always held.
func TestWithdrawalSurvivesKill(t *testing.T) {
	trials := 200
	if testing.Short() {
		trials = 20
	}
	r := rand.New(rand.NewPCG(13, 1))
	sealedBefore := 0
	for i := range trials {
		dir := t.TempDir()
		sid := fmt.Sprintf("20261102T150405Z-%06x", i)
		cmd := exec.Command(os.Args[0])
		cmd.Env = append(os.Environ(), killHelperEnv+"="+dir, killHelperEnv+"_SID="+sid)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		lines := bufio.NewScanner(out)
		if !lines.Scan() || lines.Text() != "ACK" {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("trial %d: the helper did not acknowledge the withdrawal (%q)", i, lines.Text())
		}
		// Mostly right after the acknowledgement, sometimes later.
		delay := time.Duration(r.IntN(2000)) * time.Microsecond
		if r.IntN(4) == 0 {
			delay = time.Duration(r.IntN(60)) * time.Millisecond
		}
		time.Sleep(delay)
		_ = cmd.Process.Signal(syscall.SIGKILL)
		go func() {
			for lines.Scan() {
			}
		}()
		_ = cmd.Wait()

		sp := spool.Spool{Root: dir}
		if _, err := os.Stat(sp.HeldPath(sid)); err == nil {
			sealedBefore++
		}
		if _, err := sp.Recover(spool.RecoverOptions{RoomID: "101", DeviceID: "101",
			Format: manifest.Format{Codec: manifest.Codec, SampleRate: 16000, Channels: 1, Bits: 16}}); err != nil {
			t.Fatalf("trial %d: recover: %v", i, err)
		}
		if _, err := os.Stat(sp.ManifestPath(sid)); err == nil {
			t.Fatalf("trial %d (killed %v after the acknowledgement): recovery made the withdrawn session uploadable", i, delay)
		}
		held, err := sp.Held()
		if want := []room.HeldRecording{{SessionID: sid, Children: 1}}; err != nil || !slices.Equal(held, want) {
			t.Fatalf("trial %d: held sessions after recovery %v (%v), want %v", i, held, err, want)
		}
	}
	t.Logf("%d trials: %d killed after the held manifest was written, %d before (recovered from the journal)", trials, sealedBefore, trials-sealedBefore)
	if sealedBefore == trials {
		t.Error("every kill came after sealing: the test never hit the window it is about")
	}
}
