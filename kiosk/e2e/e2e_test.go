package e2e

import (
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"roomkiosk/internal/testenv"
	"roomkiosk/kiosk/screen/screentest"
	"roomkiosk/kiosk/ui"
	"roomkiosk/recorder/alsatest"
	"roomkiosk/recorder/manifest"
	"roomkiosk/sync/archive"
)

const roomID = "e2e-101"

// kiosk is the appliance as a passer-by, a counselor and clients meet it:
// the screen on the door, tapped through /ui.
type kiosk struct {
	*screentest.Screen
	dev *device
}

// startKiosk starts an X server and the real screen on dev's socket, its
// screenshots going to test-artifacts/<artifacts> (emptied first).
func startKiosk(t *testing.T, bin string, dev *device, artifacts string) *kiosk {
	t.Helper()
	scr := screentest.StartScreen(t, filepath.Join(bin, "roomkiosk-screen"), screentest.StartX(t), dev.socket)
	scr.Dir = filepath.Join(testenv.ModuleRoot(t), "test-artifacts", artifacts)
	if err := os.RemoveAll(scr.Dir); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(scr.Dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return &kiosk{Screen: scr, dev: dev}
}

func (k *kiosk) enterPIN(t *testing.T) {
	t.Helper()
	for _, d := range pinCode {
		k.TapThen(t, "pin-"+string(d))
	}
	k.Tap(t, "pin-ok")
}

// begin runs the counselor's part up to the consent screens: PIN, the
// checklist with every manual item ticked, the number of participants and
// the choice to record.
func (k *kiosk) begin(t *testing.T, participants int, shots string) {
	t.Helper()
	k.toParticipants(t, shots)
	k.Tap(t, "participants-"+string(rune('0'+participants)))
	k.WaitScene(t, "record_choice")
	k.Tap(t, "record-yes")
}

// toParticipants runs the counselor's PIN and checklist up to the
// participants screen.
func (k *kiosk) toParticipants(t *testing.T, shots string) {
	t.Helper()
	k.WaitFor(t, "free door", 20*time.Second, func(v ui.View) bool { return v.Scene == "door" && v.Door == "free" && v.Connected })
	k.dev.waitStatus(t, "boot checks in", 30*time.Second, func(s daemonStatus) bool { return len(s.Checks) > 0 })
	k.Tap(t, "start")
	k.WaitScene(t, "pin")
	asked := time.Now()
	k.enterPIN(t)
	k.WaitScene(t, "checklist")
	// The checks run before each session: wait until this round is in and
	// good before going on, as a counselor reading the list does.
	k.dev.waitStatus(t, "checks before the session", 30*time.Second, func(s daemonStatus) bool {
		fresh := false
		for _, c := range s.Checks {
			fresh = fresh || c.Name == "microphone" && c.At.After(asked)
		}
		return s.Step == "checklist" && failing(s) == nil && fresh
	})
	for i := range 3 {
		k.TapThen(t, "check-item-"+string(rune('0'+i)))
	}
	k.Shot(t, shots+"-checklist")
	k.Tap(t, "check-continue")
	k.WaitScene(t, "participants")
}

// consent answers the consent screens in turn.
func (k *kiosk) consent(t *testing.T, shots string, answers ...bool) {
	t.Helper()
	for i, yes := range answers {
		want := "Participant " + string(rune('1'+i)) + " of " + string(rune('0'+len(answers)))
		k.WaitFor(t, want, 10*time.Second, func(v ui.View) bool { return v.Scene == "consent" && slices.Contains(v.Texts, want) })
		if i == 0 {
			k.Shot(t, shots+"-consent")
		}
		if yes {
			k.Agree(t)
		} else {
			k.Tap(t, "consent-no")
		}
	}
}

// recording waits until the daemon, the on-air light and the screen all say
// audio is being captured, and returns the session id.
func (k *kiosk) recording(t *testing.T, shots string) string {
	t.Helper()
	s := k.dev.waitStatus(t, "recording", 20*time.Second, func(s daemonStatus) bool { return s.Recording && s.Recorder == "recording" })
	if s.Door != "in_session" {
		t.Errorf("door while recording: %q", s.Door)
	}
	v := k.WaitFor(t, "recording on screen", 10*time.Second, func(v ui.View) bool { return v.Scene == "in_session" && v.Recording })
	if !slices.Contains(v.Texts, "Recording") {
		t.Errorf("the screen does not say Recording: %q", v.Texts)
	}
	waitFor(t, "on-air light on", 5*time.Second, func() bool { return k.dev.onAir(t) == "on" })
	k.Shot(t, shots+"-recording")
	return s.SessionID
}

// end ends the session with the PIN and gives feedback (0: skip).
func (k *kiosk) end(t *testing.T, feedback int, shots string) {
	t.Helper()
	k.Tap(t, "end")
	k.WaitScene(t, "end_pin")
	k.enterPIN(t)
	k.WaitScene(t, "feedback")
	k.Shot(t, shots+"-feedback")
	if feedback == 0 {
		k.Tap(t, "feedback-skip")
	} else {
		k.Tap(t, "feedback-"+string(rune('0'+feedback)))
	}
	k.WaitFor(t, "free door", 10*time.Second, func(v ui.View) bool { return v.Scene == "door" && v.Door == "free" })
	k.Shot(t, shots+"-free")
}

func failing(s daemonStatus) []string {
	var f []string
	for _, c := range s.Checks {
		if c.State == "abnormal" {
			f = append(f, c.Name+": "+c.Value)
		}
	}
	return f
}

// TestAppliance runs the whole product as a clinic would: the admin makes
// the bucket, a key and a room's credentials with roomctl; the kiosk runs
// from its config with the sim board and a real ALSA microphone fed with
// speech; four sessions are held through the real screen (recorded,
// declined, withdrawn with delete, and killed with SIGKILL mid-recording);
// then roomctl lists, pulls, deletes and checks what arrived.
func TestAppliance(t *testing.T) {
	bin := binaries(t)
	adm := newAdmin(t, bin)
	mic := startMic(t, 10*time.Minute)
	dev := provision(t, adm, bin, roomID, mic, 5*time.Second)
	dev.start(t)

	k := startKiosk(t, bin, dev, "e2e")
	k.WaitFor(t, "free door", 30*time.Second, func(v ui.View) bool { return v.Scene == "door" && v.Door == "free" && v.Connected })
	k.Shot(t, "door")

	// Session 1: two participants consent; about 8 s (two segments) recorded.
	k.begin(t, 2, "s1")
	k.consent(t, "s1", true, true)
	s1 := k.recording(t, "s1")
	t.Logf("session 1: %s", s1)
	time.Sleep(8 * time.Second)
	k.Shot(t, "s1-recording-8s") // the level indicator moves with the speech
	if n := dev.metric(t, "roomkiosk_recorder_overrun_frames_total"); n != 0 {
		t.Errorf("the capture dropped %v frames (overruns)", n)
	}
	if n := dev.metric(t, "roomkiosk_recorder_frames_captured_total"); n < 7*rate {
		t.Errorf("/metrics: %v frames captured after 8 s of recording", n)
	}
	k.end(t, 4, "s1")
	if got := dev.onAir(t); got != "off" {
		t.Errorf("on-air light after session 1: %q", got)
	}

	// Session 2: the second participant declines: nothing is recorded, and
	// the door says so.
	k.begin(t, 2, "s2")
	k.consent(t, "s2", true, false)
	v := k.WaitFor(t, "unrecorded session", 10*time.Second, func(v ui.View) bool { return v.Scene == "in_session" && !v.Recording })
	if !slices.Contains(v.Texts, "Not recorded") {
		t.Errorf("declined session: the screen does not say Not recorded: %q", v.Texts)
	}
	k.Shot(t, "s2-not-recorded")
	st := dev.waitStatus(t, "unrecorded session", 5*time.Second, func(s daemonStatus) bool { return s.Step == "in_session" })
	s2 := st.SessionID
	if st.Recording || st.Door != "in_session" {
		t.Errorf("declined session status: door %q recording %v", st.Door, st.Recording)
	}
	time.Sleep(2 * time.Second) // the session runs a little, unrecorded
	if st, _ := dev.status(); st.Recording || dev.onAir(t) == "on" {
		t.Errorf("declined session: recording %v, on-air %q", st.Recording, dev.onAir(t))
	}
	k.end(t, 5, "s2")

	// A withdrawal: both consent, then one participant stops the recording
	// and asks for it to be deleted; the session goes on unrecorded.
	k.begin(t, 2, "sw")
	k.consent(t, "sw", true, true)
	sw := k.recording(t, "sw")
	time.Sleep(6 * time.Second) // the first segment is sealed (and maybe uploaded)
	k.Tap(t, "withdraw")
	k.WaitScene(t, "withdraw_choice")
	k.Shot(t, "sw-withdraw-choice")
	k.Tap(t, "withdraw-delete")
	k.WaitFor(t, "unrecorded after withdrawal", 10*time.Second, func(v ui.View) bool { return v.Scene == "in_session" && !v.Recording })
	k.Shot(t, "sw-withdrawn")
	if st, _ := dev.status(); st.Recording || dev.onAir(t) == "on" {
		t.Errorf("after withdrawal: recording %v, on-air %q", st.Recording, dev.onAir(t))
	}
	k.end(t, 0, "sw")

	// Session 3: recording, then the daemon dies (SIGKILL) mid-recording
	// and comes back: the session comes back with it, In session, and the
	// recording resumes by itself in a new part of the same session; the
	// counselor ends it as usual (issue 17).
	k.begin(t, 1, "s3")
	k.consent(t, "s3", true)
	s3 := k.recording(t, "s3")
	time.Sleep(7 * time.Second)
	killedAt := mic.fed()
	dev.kill()
	k.WaitFor(t, "screen notices the daemon is gone", 10*time.Second, func(v ui.View) bool { return !v.Connected })
	k.Shot(t, "s3-daemon-killed")
	dev.start(t)
	back := dev.waitStatus(t, "session 3 back, recording", 30*time.Second, func(s daemonStatus) bool {
		return s.SessionID == s3 && s.Door == "in_session" && s.Recording && s.Recorder == "recording"
	})
	if back.Step != "in_session" || back.ResumedGapS <= 0 {
		t.Errorf("after the restart: step %q, resumed gap %v s", back.Step, back.ResumedGapS)
	}
	v = k.WaitFor(t, "the resumed recording on the screen", 20*time.Second, func(v ui.View) bool {
		return v.Scene == "in_session" && v.Recording && v.Connected && slices.ContainsFunc(v.Texts, func(s string) bool {
			return strings.HasPrefix(s, "Recording resumed after an interruption")
		})
	})
	for _, s := range v.Texts {
		if strings.HasPrefix(s, "Recording resumed") && !strings.Contains(s, " s not recorded)") && !strings.Contains(s, " min not recorded)") {
			t.Errorf("the resumed recording's sentence does not say how long the gap was: %q", s)
		}
	}
	if !slices.Contains(v.Texts, "Recording") {
		t.Errorf("the resumed session's screen does not say Recording: %q", v.Texts)
	}
	waitFor(t, "on-air light on after the restart", 5*time.Second, func() bool { return dev.onAir(t) == "on" })
	if n := dev.metric(t, "roomkiosk_recorder_resumes_total"); n != 1 {
		t.Errorf("/metrics: %v recordings resumed, want 1", n)
	}
	k.Shot(t, "s3-resumed")
	time.Sleep(5 * time.Second)
	k.end(t, 3, "s3")
	if got := dev.onAir(t); got != "off" {
		t.Errorf("on-air light after session 3: %q", got)
	}

	// Everything uploads: the spool's queue drains.
	dev.waitStatus(t, "upload queue empty", 2*time.Minute, func(s daemonStatus) bool {
		n, _ := s.Queue["objects"].(float64)
		return s.Queue != nil && n == 0
	})

	// roomctl sessions lists all four: recorded, declined, withdrawn with
	// delete, and interrupted.
	var rows []archive.Session
	byID := map[string]archive.Session{}
	waitFor(t, "the recorded, declined and interrupted sessions listed", time.Minute, func() bool {
		rows = adm.Sessions(t, roomID)
		clear(byID)
		for _, r := range rows {
			byID[r.Session] = r
		}
		_, ok1 := byID[s1]
		_, ok2 := byID[s2]
		_, ok3 := byID[s3]
		return ok1 && ok2 && ok3
	})
	if r, ok := byID[s1]; !ok || r.State != "recorded" || r.Segments < 2 || r.Partial != 0 || r.Participants != 2 || r.Feedback != 4 {
		t.Errorf("session 1 row: %+v (listed %v)", r, ok)
	}
	// One session, both parts: not interrupted, one recorded gap.
	if r, ok := byID[s3]; !ok || r.State != "partial" || r.Interrupted || r.Gaps != 1 || r.Feedback != 3 {
		t.Errorf("session 3 row: %+v (listed %v)", r, ok)
	}
	// The declined session is listed from its summary: no audio, its
	// feedback kept.
	if r, ok := byID[s2]; !ok || r.State != "declined" || !r.Declined || r.Segments != 0 || r.Bytes != 0 || r.Feedback != 5 {
		t.Errorf("declined session 2 row: %+v (listed %v)", r, ok)
	}
	if len(rows) > 4 {
		t.Errorf("roomctl sessions lists %d sessions, want at most 4: %+v", len(rows), rows)
	}
	// Withdrawn with delete: its audio never left the device (held until
	// the choice); the session is still listed, from its summary.
	if r, ok := byID[sw]; !ok || r.State != "deleted" || r.Segments != 0 || r.Bytes != 0 {
		t.Errorf("withdrawn-and-deleted session row: %+v (listed %v)", r, ok)
	}
	// What the declined session leaves in the bucket: its summary, no audio.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cl := adm.Srv.Client(t)
	var s2Keys []string
	for o := range cl.ListObjects(ctx, bucket, minio.ListObjectsOptions{Prefix: "rooms/" + roomID + "/", Recursive: true}) {
		if o.Err != nil {
			t.Fatal(o.Err)
		}
		if strings.Contains(o.Key, s2) {
			s2Keys = append(s2Keys, o.Key)
			if strings.HasSuffix(o.Key, ".age") || strings.HasSuffix(o.Key, "/manifest.json") {
				t.Errorf("declined session left audio in the bucket: %s", o.Key)
			}
		}
	}
	if len(s2Keys) == 0 {
		t.Errorf("declined session %s left no record at all in the bucket (summary or feedback)", s2)
	}
	t.Logf("declined session objects: %q", s2Keys)
	// The maintenance log (every check round) reaches the bucket too.
	checkLogs := 0
	for o := range cl.ListObjects(ctx, bucket, minio.ListObjectsOptions{Prefix: "rooms/" + roomID + "/checks/", Recursive: true}) {
		if o.Err != nil {
			t.Fatal(o.Err)
		}
		checkLogs++
	}
	if checkLogs == 0 {
		t.Errorf("no maintenance log under rooms/%s/checks/", roomID)
	}

	// Withdrawn with delete: no version of any of its audio ever reached
	// the bucket (the session was held on the device until the choice).
	for o := range cl.ListObjects(ctx, bucket, minio.ListObjectsOptions{Prefix: "rooms/" + roomID + "/sessions/", Recursive: true, WithVersions: true}) {
		if o.Err != nil {
			t.Fatal(o.Err)
		}
		if strings.Contains(o.Key, sw) && (strings.HasSuffix(o.Key, ".age") || strings.HasSuffix(o.Key, "/manifest.json")) {
			t.Errorf("withdrawn-and-deleted session: %s (version %s) was uploaded", o.Key, o.VersionID)
		}
	}
	// The admin carries out the deletion request: nothing of the withdrawn
	// session's audio is left, and pull refuses it.
	t.Logf("roomctl deletions apply:\n%s", adm.Run(t, "", "deletions", "apply"))
	for o := range cl.ListObjects(ctx, bucket, minio.ListObjectsOptions{Prefix: "rooms/" + roomID + "/sessions/", Recursive: true, WithVersions: true}) {
		if o.Err != nil {
			t.Fatal(o.Err)
		}
		if strings.Contains(o.Key, sw) && strings.HasSuffix(o.Key, ".age") && !o.IsDeleteMarker {
			t.Errorf("deleted session: %s (version %s) is still stored", o.Key, o.VersionID)
		}
	}
	if _, stderr, err := adm.Try("", "pull", sw, "-i", adm.Key, "-o", filepath.Join(t.TempDir(), "sw.wav"), "--room", roomID); err == nil {
		t.Errorf("roomctl pull of the deleted session succeeded")
	} else {
		t.Logf("pull of the deleted session: %s", strings.TrimSpace(stderr))
	}
	for _, r := range adm.Sessions(t, roomID) {
		if r.Session == sw {
			if r.State != "deleted" {
				t.Errorf("the withdrawn session after deletions apply: state %q, want deleted", r.State)
			}
		}
	}

	// roomctl pull: session 1 is byte-exact what was fed.
	pcm1 := adm.Pull(t, roomID, s1, rate)
	m1, err := locate(mic.stream, pcm1)
	if err != nil {
		t.Fatalf("session 1: %v", err)
	}
	t.Logf("session 1: %d bytes pulled (%.2f s), %d leading zero bytes, at stream offset %d", len(pcm1), float64(len(pcm1))/bytesPerSec, m1.LeadingZeros, m1.Offset)
	if m1.Trailing != 0 {
		t.Errorf("session 1: only %d of %d bytes equal the fed speech (then %d bytes differ)", m1.Matched, len(pcm1)-m1.LeadingZeros, m1.Trailing)
	}
	if d := float64(m1.Matched) / bytesPerSec; d < 7 {
		t.Errorf("session 1: %.2f s of audio, want the ~8 s recorded", d)
	}

	// Session 3: one WAV with both parts: everything up to at most one age
	// chunk before the kill, then silence of exactly the recorded gap, then
	// the resumed audio.
	obj, err := cl.GetObject(ctx, bucket, byID[s3].Key, minio.GetObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	mb, err := io.ReadAll(obj)
	obj.Close()
	if err != nil {
		t.Fatal(err)
	}
	m3m, err := manifest.Parse(mb)
	if err != nil {
		t.Fatalf("session 3 manifest: %v", err)
	}
	if len(m3m.Gaps) != 1 || m3m.Gaps[0].Reason != "interrupted" || m3m.Gaps[0].Frames <= 0 {
		t.Fatalf("session 3 gaps: %+v", m3m.Gaps)
	}
	gapBytes := int(m3m.Gaps[0].Frames) * 2
	pcm3 := adm.Pull(t, roomID, s3, rate)
	sp3, err := alsatest.Spans(mic.stream, pcm3)
	if err != nil {
		t.Fatalf("session 3: %v", err)
	}
	if len(sp3) != 2 {
		t.Fatalf("session 3: %d runs of fed audio in the pulled WAV, want 2 (before and after the restart): %+v", len(sp3), sp3)
	}
	first, second := sp3[0], sp3[1]
	lost := killedAt - (first.Offset + int64(first.Len))
	silence := second.At - (first.At + first.Len)
	t.Logf("session 3: %d bytes pulled; before the kill %d bytes from offset %d, %d bytes (%.0f ms) lost at the kill; recorded gap %.2f s (%d bytes), silence in the WAV %d bytes; after the restart %d bytes from offset %d",
		len(pcm3), first.Len, first.Offset, lost, float64(lost)/bytesPerSec*1000, time.Duration(m3m.Gaps[0].DurationNS).Seconds(), gapBytes, silence, second.Len, second.Offset)
	// What was on its way from the microphone to the writer is lost too:
	// ALSA's buffer and one hand-over (FORMAT.md, "Durability").
	if lost > ageChunk+alsatest.InFlightBytes {
		t.Errorf("session 3: %d bytes lost at the kill, more than one age chunk (%d) plus what capture holds in flight (%d)", lost, ageChunk, alsatest.InFlightBytes)
	}
	if first.Len < 4*bytesPerSec || second.Len < 4*bytesPerSec {
		t.Errorf("session 3: %.2f s before the kill and %.2f s after the restart, want about 7 and 5", float64(first.Len)/bytesPerSec, float64(second.Len)/bytesPerSec)
	}
	// The silence is the recorded gap (the resumed device may start with
	// a period of zeros, FORMAT.md "Alignment").
	// A few bytes short are allowed: spans matches fed audio sample by
	// sample, so a fed sample that happens to be zero next to the gap
	// extends a run into the silence (seen: 45294 bytes for a 45296-byte gap).
	const edgeZeros = 8
	if silence < gapBytes-edgeZeros || silence > gapBytes+2*feedChunk {
		t.Errorf("session 3: %d bytes of silence between the parts, want the recorded gap of %d bytes", silence, gapBytes)
	}
	if m1.End() > first.Offset {
		t.Errorf("session 3 audio (offset %d) overlaps session 1 (ends %d)", first.Offset, m1.End())
	}

	// roomctl status: the room is Free, checks good, seen recently.
	var last string
	free := func(within time.Duration) bool {
		deadline := time.Now().Add(within)
		for !roomFreeAndGood(t, adm.Run(t, "", "status", "--json"), &last) {
			if time.Now().After(deadline) {
				return false
			}
			time.Sleep(500 * time.Millisecond)
		}
		return true
	}
	if !free(30 * time.Second) {
		t.Fatalf("roomctl status: room %s not Free with good required checks; last:\n%s", roomID, last)
	}
	t.Logf("taps not seen by the screen at once and made again: %d", k.Missed)
	out := adm.Run(t, "", "status")
	t.Logf("roomctl status:\n%s", out)
	t.Logf("roomctl sessions:\n%s", adm.Run(t, "", "sessions", "--room", roomID))
	if strings.Contains(dev.logTail(1<<20), pinCode+"\"") {
		t.Error("the daemon logged the PIN")
	}
}

// roomFreeAndGood reads `roomctl status --json`: the room is Free, not
// recording, seen recently, no check failing and every required check good.
func roomFreeAndGood(t *testing.T, out string, last *string) bool {
	t.Helper()
	*last = out
	var rs []archive.RoomStatus
	if err := json.Unmarshal([]byte(out), &rs); err != nil {
		t.Fatalf("roomctl status --json: %v\n%s", err, out)
	}
	for _, r := range rs {
		if r.Room != roomID || r.Status == nil {
			continue
		}
		if r.Status.Door != "free" || r.Status.Recording || r.Stale || len(r.Failing) != 0 || len(r.Status.Checks) == 0 {
			return false
		}
		for _, c := range r.Status.Checks {
			if c.Required && c.State != "good" {
				return false
			}
		}
		return true
	}
	return false
}
