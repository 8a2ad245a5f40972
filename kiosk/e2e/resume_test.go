package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"roomkiosk/internal/room"
	"roomkiosk/kiosk/control"
	"roomkiosk/kiosk/kiosktest"
	"roomkiosk/kiosk/session"
	"roomkiosk/recorder/manifest"
	"roomkiosk/recorder/spool"
)

// hostileFeed is version v of a room calendar a careless or hostile editor
// made: five bookings repeating every second since 1970, thirty daily rules
// since 1970 that never match, and (every other version) 19,000 tiny past
// events; beside them one ordinary booking whose start moves with v, so
// that the door's showing it proves the door keeps up.
func hostileFeed(v int, ordinary time.Time) []byte {
	var b strings.Builder
	b.WriteString("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n")
	for i := range 5 {
		fmt.Fprintf(&b, "BEGIN:VEVENT\r\nUID:s%d\r\nSUMMARY:Client Name\r\nDTSTART:19700101T00000%dZ\r\nDURATION:PT50M\r\nRRULE:FREQ=SECONDLY\r\nEND:VEVENT\r\n", i, i)
	}
	for i := range 30 {
		fmt.Fprintf(&b, "BEGIN:VEVENT\r\nUID:n%d\r\nDTSTART:19700101T08%02d00Z\r\nDURATION:PT50M\r\nRRULE:FREQ=DAILY;BYMONTH=4;BYMONTHDAY=31\r\nEND:VEVENT\r\n", i, i)
	}
	if v%2 == 1 {
		for i := range 19000 {
			fmt.Fprintf(&b, "BEGIN:VEVENT\r\nUID:t%d\r\nDTSTART:20201203T100000Z\r\nEND:VEVENT\r\n", i)
		}
	}
	fmt.Fprintf(&b, "BEGIN:VEVENT\r\nUID:ordinary\r\nSUMMARY:Client Name\r\nDTSTART:%s\r\nDURATION:PT50M\r\nEND:VEVENT\r\n", ordinary.UTC().Format("20060102T150405Z"))
	b.WriteString("END:VCALENDAR\r\n")
	return []byte(b.String())
}

// patientStatus reads /status with a liveness bound, not a timing one.
var patientStatus = &http.Client{Timeout: 30 * time.Second}

// TestLateKillResumesBesideAHostileCalendar: the real daemon records a
// session while its calendar feed (fetched every 30 s, as often as allowed)
// changes at every fetch among hostile versions. The door keeps showing
// each version's ordinary booking, and the recording drops no frame. Late
// in the recording (after the resume window and a heartbeat have passed
// since the session last changed) the daemon is SIGKILLed and restarted at
// once: with a 20 s window the session comes back recording, because the
// heartbeat in its journal says when the daemon was last alive.
func TestLateKillResumesBesideAHostileCalendar(t *testing.T) {
	bin := binaries(t)
	adm := newAdmin(t, bin)
	mic := startMic(t, 10*time.Minute)
	dev := provision(t, adm, bin, "late-101", mic, 5*time.Second)
	const window = 20 * time.Second
	b, err := os.ReadFile(dev.cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	cfg := strings.Replace(string(b), "consent_timeout = \"5m\"\n", fmt.Sprintf("consent_timeout = \"5m\"\nresume_window = %q\n", window.String()), 1)
	if err := os.WriteFile(dev.cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	feed := filepath.Join(dev.dir, "room.ics")
	base := time.Now().UTC().Add(24 * time.Hour).Truncate(time.Hour)
	version := 0
	write := func() time.Time {
		at := base.Add(time.Duration(version) * 10 * time.Minute)
		tmp := feed + ".tmp"
		if err := os.WriteFile(tmp, hostileFeed(version, at), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, feed); err != nil {
			t.Fatal(err)
		}
		version++
		return at
	}
	want := write()
	dev.addConfig(t, "", fmt.Sprintf("[bookings]\nfeed = %q\nrefresh = \"30s\"\ncache_file = %q\ntime_zone = \"UTC\"\n\n[backlight]\nidle_after = \"0s\"\n",
		feed, filepath.Join(dev.dir, "state", "bookings", "feed.ics")))
	dev.start(t)

	next := func() time.Time {
		var st struct {
			Bookings *room.Bookings `json:"bookings"`
		}
		// A slow answer (the machine under load) is "not yet", not a
		// failure: what is asserted is that the door follows.
		resp, err := patientStatus.Get("http://" + dev.statusAddr + "/status")
		if err != nil {
			return time.Time{}
		}
		defer resp.Body.Close()
		if err := json.NewDecoder(resp.Body).Decode(&st); err != nil || st.Bookings == nil || st.Bookings.Next == nil {
			return time.Time{}
		}
		return st.Bookings.Next.Start
	}
	waitFor(t, "the first feed's booking on the door", time.Minute, func() bool { return next().Equal(want) })

	ctx := t.Context()
	d := kiosktest.Dial(ctx, t, dev.socket, 0)
	id := d.RecordOne(pinCode)
	recAt := time.Now()
	capturedAt := dev.metric(t, "roomkiosk_recorder_frames_captured_total")
	// The feed changes before every fetch; the door follows each version.
	for range 3 {
		want = write()
		waitFor(t, fmt.Sprintf("feed version %d's booking on the door", version-1), 75*time.Second, func() bool { return next().Equal(want) })
	}
	for time.Since(recAt) < window+session.HeartbeatInterval+15*time.Second {
		time.Sleep(time.Second)
	}
	elapsed := time.Since(recAt)
	if n := dev.metric(t, "roomkiosk_recorder_overrun_frames_total"); n != 0 {
		t.Errorf("the capture dropped %v frames beside the hostile calendar", n)
	}
	if n := dev.metric(t, "roomkiosk_recorder_frames_captured_total") - capturedAt; n < (elapsed.Seconds()-3)*rate {
		t.Errorf("%v frames captured in %v of recording beside the hostile calendar, want about %v", n, elapsed.Round(time.Second), elapsed.Seconds()*rate)
	}
	st, err := dev.status()
	if err != nil || st.SessionID != id || !st.Recording {
		t.Fatalf("before the kill: %+v (%v)", st, err)
	}
	// The refused events are an advisory fault, named by position.
	bookingsCheck := ""
	for _, c := range st.Checks {
		if c.Name == "bookings" {
			bookingsCheck = c.State + ": " + c.Value
		}
	}
	if !strings.HasPrefix(bookingsCheck, "abnormal: ") || !strings.Contains(bookingsCheck, "events refused") {
		t.Errorf("the bookings check %q, want abnormal with the refused events counted", bookingsCheck)
	}
	if strings.Contains(statusJSON(t, dev), "Client Name") {
		t.Error("/status shows an event's title")
	}

	// The journal's heartbeat: written within the last heartbeat, though
	// the session has not changed since the recording started.
	jb, err := os.ReadFile(filepath.Join(dev.spool, spool.SessionJournalName))
	if err != nil {
		t.Fatal(err)
	}
	var j struct {
		Written time.Time `json:"written"`
	}
	if err := json.Unmarshal(jb, &j); err != nil {
		t.Fatal(err)
	}
	if age := time.Since(j.Written); age > session.HeartbeatInterval+5*time.Second || !j.Written.After(recAt) {
		t.Errorf("journal written %v ago (recording started %v ago): no heartbeat", age.Round(time.Second), elapsed.Round(time.Second))
	}

	dev.kill()
	dev.start(t)
	back := dev.waitStatus(t, "the session back, recording", 30*time.Second, func(s daemonStatus) bool {
		return s.SessionID == id && s.Recording && s.Recorder == "recording" || s.Door == "free"
	})
	if back.SessionID != id || !back.Recording || back.ResumedGapS <= 0 {
		t.Fatalf("killed %v into the recording (window %v): after the restart %+v, want the session back recording\n%s",
			elapsed.Round(time.Second), window, back, dev.logTail(3000))
	}
	t.Logf("killed %v into the recording, back with a %.1f s gap", elapsed.Round(time.Second), back.ResumedGapS)
}

// TestHeldKeptOnlyByTheClient: through the real daemon's control socket, a
// withdrawal whose choice a SIGKILL came before is held; the counselor's
// keep is refused, their held_ask hands the kiosk to the client on the
// withdraw screen (step held_choice), and the client's keep queues it,
// its manifest saying who decided and when. The session has a child: the
// choice after the restart is the guardian's, as before it (issue 24).
func TestHeldKeptOnlyByTheClient(t *testing.T) {
	bin := binaries(t)
	adm := newAdmin(t, bin)
	mic := startMic(t, 10*time.Minute)
	dev := provision(t, adm, bin, "held-101", mic, 5*time.Second)
	b, err := os.ReadFile(dev.cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	// No resume: the session open at the kill is closed, its withdrawn
	// recording left held.
	cfg := strings.Replace(string(b), "consent_timeout = \"5m\"\n", "consent_timeout = \"5m\"\nresume_window = \"0s\"\n", 1)
	if err := os.WriteFile(dev.cfgPath, []byte(cfg+familyConsentTOML), 0o600); err != nil {
		t.Fatal(err)
	}
	dev.start(t)
	d := kiosktest.Dial(t.Context(), t, dev.socket, 0)
	// A family session: its choice is the guardian's, after the restart too.
	id := d.RecordFamily(pinCode, 1, 1)
	time.Sleep(2 * time.Second)
	d.Send(room.Intent{Kind: room.IntentWithdraw})
	d.Wait("the guardian's withdraw choice", func(s room.Snapshot) bool { return s.Step == room.StepWithdrawChoice && s.Children == 1 })
	dev.kill()
	dev.start(t)
	d = kiosktest.Dial(t.Context(), t, dev.socket, 10*time.Second)
	d.Wait("a held recording waiting at the door", func(s room.Snapshot) bool { return s.Step == room.StepDoor && s.HeldWaiting == 1 })

	d.Send(room.Intent{Kind: room.IntentMaintenance})
	d.Wait("pin", func(s room.Snapshot) bool { return s.Step == room.StepMaintenancePIN })
	d.Digits(pinCode)
	d.Send(room.Intent{Kind: room.IntentPINOK})
	d.Wait("the counselor's maintenance screen", func(s room.Snapshot) bool { return s.Step == room.StepMaintenance && s.HeldWaiting == 1 })
	raw, err := control.Dial(t.Context(), dev.socket)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if err := raw.Send(t.Context(), room.Intent{Kind: room.IntentHeldKeep}); err == nil {
		t.Fatal("the counselor kept the held recording on their own word")
	}
	d.Send(room.Intent{Kind: room.IntentHeldAsk})
	// Children is what the screen words the guardian's choice by (kiosk/ui
	// TestHeldChoiceAsksTheGuardian); it comes from the held manifest.
	d.Wait("the guardian's choice", func(s room.Snapshot) bool { return s.Step == room.StepHeldChoice && s.Children == 1 })
	d.Send(room.Intent{Kind: room.IntentWithdrawKeep})
	d.Wait("the door, nothing waiting", func(s room.Snapshot) bool { return s.Step == room.StepDoor && s.HeldWaiting == 0 })

	// Kept: uploaded, its manifest in the archive saying who decided.
	var key string
	waitFor(t, "the kept session in the archive", time.Minute, func() bool {
		for _, r := range adm.Sessions(t, "held-101") {
			if r.Session == id && r.Key != "" {
				key = r.Key
				return true
			}
		}
		return false
	})
	obj, err := adm.Srv.Client(t).GetObject(t.Context(), bucket, key, minio.GetObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	mb, err := io.ReadAll(obj)
	obj.Close()
	if err != nil {
		t.Fatal(err)
	}
	m, err := manifest.Parse(mb)
	if err != nil {
		t.Fatal(err)
	}
	if d := m.HeldDecision; d == nil || d.By != room.DecidedByClient || !d.Keep || d.At.IsZero() || !m.Withdrawn {
		t.Errorf("the kept manifest's decision %+v (withdrawn %v), want kept by the client, with its time", d, m.Withdrawn)
	}
	if m.Children != 1 {
		t.Errorf("the kept manifest says %d children, want 1", m.Children)
	}
}
