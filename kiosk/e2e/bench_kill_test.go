//go:build bench

package e2e

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"roomkiosk/internal/room"
	"roomkiosk/internal/testenv"
	"roomkiosk/kiosk/control"
	"roomkiosk/sync/archive"
)

// driver holds a session through the daemon's real control socket, as the
// screen does (the reliability figures need no pixels).
type driver struct {
	t   testing.TB
	c   *control.Client
	ctx context.Context
}

func dial(t testing.TB, ctx context.Context, socket string) *driver {
	t.Helper()
	c, err := control.Dial(ctx, socket)
	if err != nil {
		t.Fatalf("dial control socket: %v", err)
	}
	return &driver{t: t, c: c, ctx: ctx}
}

func (d *driver) send(in room.Intent) {
	d.t.Helper()
	if err := d.c.Send(d.ctx, in); err != nil {
		d.t.Fatalf("send %s: %v", in.Kind, err)
	}
}

func (d *driver) wait(what string, cond func(room.Snapshot) bool) room.Snapshot {
	d.t.Helper()
	timeout := time.After(30 * time.Second)
	for {
		select {
		case s, ok := <-d.c.Snapshots():
			if !ok {
				d.t.Fatalf("control socket closed while waiting for %s", what)
			}
			if cond(s) {
				return s
			}
		case <-timeout:
			d.t.Fatalf("%s: not within 30 s", what)
		}
	}
}

// recordOne takes the room from Free to a recording session with one
// participant and returns the session id.
func (d *driver) recordOne() string {
	d.t.Helper()
	// The boot round first (its microphone check holds the device).
	d.wait("free door with the boot checks in", func(s room.Snapshot) bool {
		return s.Step == room.StepDoor && s.Door == room.DoorFree && len(s.Checks) > 0
	})
	d.send(room.Intent{Kind: room.IntentStart})
	d.wait("pin", func(s room.Snapshot) bool { return s.Step == room.StepPIN })
	for _, c := range pinCode {
		d.send(room.Intent{Kind: room.IntentPINDigit, Digit: int(c - '0')})
	}
	asked := time.Now()
	d.send(room.Intent{Kind: room.IntentPINOK})
	// Wait for the pre-session round, as a counselor reading the
	// checklist does.
	snap := d.wait("checklist with fresh checks", func(s room.Snapshot) bool {
		return s.Step == room.StepChecklist && !s.Blocked && micCheckedSince(s.Checks, asked)
	})
	for i := range snap.ManualItems {
		d.send(room.Intent{Kind: room.IntentCheckToggle, Item: i})
	}
	d.wait("items ticked", func(s room.Snapshot) bool {
		return !slices.ContainsFunc(s.ManualItems, func(m room.ManualItem) bool { return !m.Checked })
	})
	d.send(room.Intent{Kind: room.IntentCheckContinue})
	d.wait("participants", func(s room.Snapshot) bool { return s.Step == room.StepParticipants })
	d.send(room.Intent{Kind: room.IntentParticipants, Count: 1})
	d.wait("record choice", func(s room.Snapshot) bool { return s.Step == room.StepRecordChoice })
	d.send(room.Intent{Kind: room.IntentRecord, Yes: true})
	snap = d.wait("consent", func(s room.Snapshot) bool { return s.Step == room.StepConsent })
	text := snap.Agreement.Texts["en"]
	d.send(room.Intent{Kind: room.IntentConsent, Participant: 1, Yes: true, Language: "en", TextSHA256: room.TextSHA256(text)})
	snap = d.wait("recording", func(s room.Snapshot) bool { return s.Recording })
	return snap.SessionID
}

// TestBenchSIGKILL kills the real daemon with SIGKILL 20 times at a random
// moment of a recording, restarts it each time, and measures what each
// kill cost: every session must come back (interrupted, uploaded, pulled
// by roomctl) with at most one age chunk of audio lost.
func TestBenchSIGKILL(t *testing.T) {
	const kills = 20
	bin := binaries(t)
	adm := newAdmin(t, bin)
	mic := startMic(t, 15*time.Minute)
	dev := provision(t, adm, bin, "kill-101", mic, 3*time.Second)
	rng := rand.New(rand.NewPCG(20, uint64(time.Now().UnixNano())))

	type kill struct {
		id         string
		start, fed int64 // stream offsets fed when recording began and at the kill
	}
	var ks []kill
	var rss int64 // the daemon's largest resident set while recording, kB
	for i := 0; i < kills; i++ {
		dev.start(t)
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		d := dial(t, ctx, dev.socket)
		id := d.recordOne()
		start := mic.fed()
		// Anywhere in the first three segments, on or off a chunk boundary.
		time.Sleep(time.Duration(500+rng.IntN(8000)) * time.Millisecond)
		if kb, err := dev.rssKB(); err == nil {
			rss = max(rss, kb)
		} else {
			t.Errorf("daemon memory: %v", err)
		}
		ks = append(ks, kill{id: id, start: start, fed: mic.fed()})
		dev.kill()
		d.c.Close()
		cancel()
	}
	dev.start(t) // recovers the last one
	dev.waitStatus(t, "upload queue empty", 3*time.Minute, func(s daemonStatus) bool {
		n, _ := s.Queue["objects"].(float64)
		return s.Queue != nil && n == 0
	})
	dev.stop()

	rows := adm.sessions(t, dev.room)
	byID := map[string]archive.Session{}
	for _, r := range rows {
		byID[r.Session] = r
	}
	var losses []float64
	recovered, worst, gaps := 0, int64(0), 0
	for _, k := range ks {
		r := byID[k.id]
		if r.State != "interrupted" {
			t.Errorf("session %s: state %q, want interrupted", k.id, r.State)
			continue
		}
		gaps += r.Gaps
		ss, err := spans(mic.stream, adm.pull(t, dev.room, k.id))
		if err != nil {
			t.Errorf("session %s (%d segments, %d partial, %d gaps): %v", k.id, r.Segments, r.Partial, r.Gaps, err)
			continue
		}
		end := k.start // nothing recovered: everything since the start is lost
		if len(ss) > 0 {
			end = ss[len(ss)-1].Offset + int64(ss[len(ss)-1].Len)
		}
		if len(ss) > 1 {
			t.Logf("session %s: %d runs of audio (%d recorded gaps): %+v", k.id, len(ss), r.Gaps, ss)
		}
		recovered++
		lost := k.fed - end
		worst = max(worst, lost)
		losses = append(losses, float64(lost)/bytesPerSec*1000)
	}
	slices.Sort(losses)
	median := 0.0
	if n := len(losses); n > 0 {
		median = losses[n/2]
		if n%2 == 0 {
			median = (losses[n/2-1] + losses[n/2]) / 2
		}
	}
	chunkMS := float64(ageChunk) / bytesPerSec * 1000
	testenv.Report(t, testenv.Figure{
		Name: "sigkill sessions recovered", Value: float64(recovered), Unit: "sessions",
		Baseline: "SIGKILLs of the recording daemon", BaseVal: kills, Ratio: float64(recovered) / kills,
		Target: "= 1 (all recovered)", Met: recovered == kills,
		Note: "real roomkiosk process killed at a random moment of a recording, restarted, uploaded, pulled with roomctl",
	})
	testenv.Report(t, testenv.Figure{
		Name: "sigkill audio lost per kill max", Value: float64(worst) / bytesPerSec * 1000, Unit: "ms",
		Baseline: "one age chunk (64 KiB of 16 kHz mono)", BaseVal: chunkMS, Ratio: float64(worst) / ageChunk,
		Target: "<= 1 (plus what was still in the capture pipe)", Met: worst <= ageChunk+2*feedChunk,
		Note: fmt.Sprintf("%d kills; fed audio not in the pulled prefix, FIFO in flight included", kills),
	})
	testenv.Report(t, testenv.Figure{
		Name: "sigkill audio lost per kill median", Value: median, Unit: "ms",
		Baseline: "one age chunk (64 KiB of 16 kHz mono)", BaseVal: chunkMS, Ratio: median / chunkMS,
		Target: "<= 1", Met: median <= chunkMS,
		Note: fmt.Sprintf("%d kills; %d mic-lost gaps recorded inside the sessions", kills, gaps),
	})
	testenv.Report(t, testenv.Figure{
		Name: "daemon resident memory while recording", Value: float64(rss) / 1024, Unit: "MB",
		Baseline: "", Target: "< 32 MB (was < 40 MB)", Met: rss < 32*1024,
		Note: fmt.Sprintf("largest VmRSS of the real roomkiosk daemon over %d recordings (sim board, ALSA capture, uploader)", kills),
	})
	if recovered != kills || worst > ageChunk+2*feedChunk {
		t.Errorf("recovered %d of %d; worst loss %d bytes", recovered, kills, worst)
	}
}

func micCheckedSince(cs []room.CheckResult, t time.Time) bool {
	for _, c := range cs {
		if c.Name == "microphone" {
			return c.At.After(t)
		}
	}
	return false
}
