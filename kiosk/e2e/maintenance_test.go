package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"roomkiosk/hardware/checks"
	"roomkiosk/internal/room"
	"roomkiosk/kiosk/ui"
)

const techCode = "5678"

// maintStatus is the part of /status this test reads.
type maintStatus struct {
	Door             string                 `json:"door"`
	Step             string                 `json:"step"`
	Checks           []room.CheckResult     `json:"checks"`
	LastMaintenance  *room.MaintenanceEntry `json:"last_maintenance"`
	ReportedProblems []room.ProblemReport   `json:"reported_problems"`
	HeldWaiting      int                    `json:"held_waiting"`
}

func (s maintStatus) check(name string) (room.CheckResult, bool) {
	i := slices.IndexFunc(s.Checks, func(c room.CheckResult) bool { return c.Name == name })
	if i < 0 {
		return room.CheckResult{}, false
	}
	return s.Checks[i], true
}

func (d *device) waitMaint(t *testing.T, what string, timeout time.Duration, cond func(maintStatus) bool) maintStatus {
	t.Helper()
	var last maintStatus
	waitFor(t, what, timeout, func() bool {
		res, err := statusClient.Get("http://" + d.statusAddr + "/status")
		if err != nil {
			return false
		}
		defer res.Body.Close()
		var s maintStatus
		if res.StatusCode != http.StatusOK || json.NewDecoder(res.Body).Decode(&s) != nil {
			return false
		}
		last = s
		return cond(s)
	})
	return last
}

// roomLine waits until `roomctl status` prints the room's row with every
// one of want in it (status.json goes up every 2 s here).
func roomLine(t *testing.T, a *admin, roomID string, want ...string) string {
	t.Helper()
	var line string
	waitFor(t, fmt.Sprintf("roomctl status shows %q", want), 30*time.Second, func() bool {
		out, _, err := a.Try("", "status")
		if err != nil {
			return false
		}
		for _, l := range strings.Split(out, "\n") {
			if strings.HasPrefix(l, roomID+" ") {
				line = l
			}
		}
		for _, w := range want {
			if !strings.Contains(line, w) {
				return false
			}
		}
		return true
	})
	return line
}

// hasText reports whether the screen shows s, whatever lines it was
// wrapped into.
func hasText(v ui.View, s string) bool { return strings.Contains(strings.Join(v.Texts, " "), s) }

func (k *kiosk) enterCode(t *testing.T, code string) {
	t.Helper()
	for _, d := range code {
		k.TapThen(t, "pin-"+string(d))
	}
	k.Tap(t, "pin-ok")
}

// TestMaintenanceProblemsAndHeld runs issue 16's parts 2 to 4 on the real
// daemon and screen, tapped through /ui: a withdrawn recording whose
// keep-or-delete choice a crash interrupted waits (a count on the
// maintenance screen, in /status and in roomctl status; nothing on the
// door) until the counselor deletes it with the PIN; a counselor reports a
// problem in one tap at the end of a session, which raises the advisory
// reported_problem check, survives a restart and shows in roomctl status;
// a technician with their own PIN records an action, which runs the checks
// and clears the problem, and roomctl status shows the last maintenance.
func TestMaintenanceProblemsAndHeld(t *testing.T) {
	bin := binaries(t)
	adm := newAdmin(t, bin)
	mic := startMic(t, 10*time.Minute)
	const roomM = "e2e-maint"
	dev := provision(t, adm, bin, roomM, mic, 5*time.Second)
	techHash := strings.TrimSpace(adm.Run(t, techCode+"\n", "pin-hash"))
	cfg, err := os.ReadFile(dev.cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	// No resume window: a session open at a crash is closed as
	// interrupted, so a withdrawal's choice is left to the maintenance
	// screen.
	s := strings.Replace(string(cfg), `consent_timeout = "5m"`, `consent_timeout = "5m"`+"\nresume_window = \"0s\"", 1)
	s += fmt.Sprintf("\n[[technicians]]\nid = \"t-e2e-1\"\npin_hash = %q\n", techHash)
	if err := os.WriteFile(dev.cfgPath, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
	dev.start(t)

	k := startKiosk(t, bin, dev, "e2e-maintenance")
	doorFree := func(v ui.View) bool { return v.Scene == "door" && v.Door == "free" && v.Connected }

	// Part 4: a withdrawn recording, then a crash before the choice.
	k.begin(t, 1, "held")
	k.consent(t, "held", true)
	sid := k.recording(t, "held")
	time.Sleep(3 * time.Second)
	k.Tap(t, "withdraw")
	k.WaitScene(t, "withdraw_choice")
	dev.kill()
	k.WaitFor(t, "screen notices the daemon is gone", 10*time.Second, func(v ui.View) bool { return !v.Connected })
	dev.start(t)
	dev.waitMaint(t, "a held recording waits", 30*time.Second, func(s maintStatus) bool { return s.Door == "free" && s.HeldWaiting == 1 })
	if _, err := os.Stat(filepath.Join(dev.spool, "sessions", sid, "manifest.held.json")); err != nil {
		t.Errorf("the withdrawn session is not held on the device: %v", err)
	}
	v := k.WaitFor(t, "free door after the crash", 30*time.Second, doorFree)
	for _, s := range v.Texts {
		if strings.Contains(s, sid) || strings.Contains(strings.ToLower(s), "decision") {
			t.Errorf("the door tells of the held recording: %q", s)
		}
	}
	k.Shot(t, "held-door")
	roomLine(t, adm, roomM, "1 WAIT FOR A DECISION")

	// A technician cannot settle it; the counselor can.
	k.Tap(t, "maintenance")
	k.WaitScene(t, "maintenance_pin")
	k.enterCode(t, techCode)
	v = k.WaitFor(t, "technician's maintenance screen", 20*time.Second, func(v ui.View) bool {
		return v.Scene == "maintenance" && hasText(v, "Record what you did")
	})
	if slices.ContainsFunc(v.Targets, func(tg ui.ViewTarget) bool {
		return tg.ID == "held-keep" || tg.ID == "held-ask" || tg.ID == "held-delete"
	}) {
		t.Error("the technician's screen offers to keep or delete a held recording")
	}
	if !hasText(v, "A recording waits for a counselor's decision") {
		t.Errorf("the technician's screen does not say a recording waits: %q", v.Texts)
	}
	k.Tap(t, "maintenance-back")
	k.WaitFor(t, "free door", 10*time.Second, doorFree)
	k.Tap(t, "maintenance")
	k.WaitScene(t, "maintenance_pin")
	k.enterPIN(t)
	k.WaitFor(t, "held recording on the maintenance screen", 20*time.Second, func(v ui.View) bool {
		return v.Scene == "maintenance" && hasText(v, "A recording waits for a decision")
	})
	k.Shot(t, "held-maintenance")
	k.Tap(t, "held-delete")
	dev.waitMaint(t, "no recording waits", 10*time.Second, func(s maintStatus) bool { return s.HeldWaiting == 0 })
	waitFor(t, "the deleted session gone from the spool", 30*time.Second, func() bool {
		_, err := os.Stat(filepath.Join(dev.spool, "sessions", sid))
		return os.IsNotExist(err)
	})
	k.WaitFor(t, "the normal maintenance screen", 10*time.Second, func(v ui.View) bool {
		return v.Scene == "maintenance" && !hasText(v, "A recording waits for a decision")
	})
	k.Tap(t, "maintenance-back")
	k.WaitFor(t, "free door", 10*time.Second, doorFree)
	if l := roomLine(t, adm, roomM, "e2e-maint"); strings.Contains(l, "WAIT FOR A DECISION") {
		// status.json may lag a put behind: wait for it to catch up.
		waitFor(t, "roomctl status without the held recording", 30*time.Second, func() bool {
			out, _, err := adm.Try("", "status")
			return err == nil && !strings.Contains(out, "WAIT FOR A DECISION")
		})
	}

	// Part 3: a problem reported in one tap at the end of a session.
	k.begin(t, 1, "problem")
	k.consent(t, "problem", true)
	k.recording(t, "problem")
	k.Tap(t, "end")
	k.WaitScene(t, "end_pin")
	k.enterPIN(t)
	k.WaitScene(t, "feedback")
	k.Tap(t, "problem-"+room.ProblemAudio)
	v = k.WaitFor(t, "the report acknowledged", 10*time.Second, func(v ui.View) bool {
		return v.Scene == "feedback" && hasText(v, "Reported to the technician. Another one?")
	})
	for _, tg := range v.Targets {
		if tg.ID == "problem-"+room.ProblemAudio && tg.Enabled {
			t.Error("the reported problem's button can be tapped again")
		}
	}
	k.Shot(t, "problem-feedback")
	k.Tap(t, "feedback-skip")
	k.WaitFor(t, "free door", 10*time.Second, doorFree)
	reported := func(s maintStatus) bool {
		c, ok := s.check(room.CheckReportedProblem)
		return ok && c.State == room.CheckAbnormal && !c.Required && len(s.ReportedProblems) == 1 && s.ReportedProblems[0].Problem == room.ProblemAudio
	}
	st := dev.waitMaint(t, "the reported problem check", 30*time.Second, reported)
	if st.Door != "free" {
		t.Errorf("an advisory reported problem changed the door: %q", st.Door)
	}
	roomLine(t, adm, roomM, " audio ")

	// It survives the daemon's restart.
	dev.stop()
	dev.start(t)
	dev.waitMaint(t, "the reported problem after a restart", 30*time.Second, reported)
	k.WaitFor(t, "free door after the restart", 30*time.Second, doorFree)

	// Part 2: the technician records an action; the checks run and the
	// problem is cleared.
	k.Tap(t, "maintenance")
	k.WaitScene(t, "maintenance_pin")
	k.enterCode(t, techCode)
	k.WaitFor(t, "technician's maintenance screen", 20*time.Second, func(v ui.View) bool {
		return v.Scene == "maintenance" && hasText(v, "Reported: Audio")
	})
	k.Shot(t, "technician")
	tapped := time.Now()
	k.Tap(t, "action-"+room.ActionMicReplaced)
	st = dev.waitMaint(t, "the maintenance recorded and the checks run", 30*time.Second, func(s maintStatus) bool {
		c, ok := s.check(room.CheckReportedProblem)
		mic, _ := s.check("microphone")
		return s.LastMaintenance != nil && s.LastMaintenance.Action == room.ActionMicReplaced && len(s.ReportedProblems) == 0 &&
			ok && c.State == room.CheckGood && c.At.After(tapped) && mic.At.After(tapped)
	})
	if st.LastMaintenance.Technician != "t-e2e-1" || !slices.Equal(st.LastMaintenance.Cleared, []string{room.ProblemAudio}) {
		t.Errorf("last maintenance %+v", st.LastMaintenance)
	}
	k.WaitFor(t, "the entry on the screen", 10*time.Second, func(v ui.View) bool {
		return v.Scene == "maintenance" && hasText(v, "Last: Microphone replaced") && hasText(v, "No reported problems")
	})
	k.Shot(t, "technician-recorded")
	k.Tap(t, "maintenance-back")
	k.WaitFor(t, "free door", 10*time.Second, doorFree)
	line := roomLine(t, adm, roomM, "microphone_replaced by t-e2e-1")
	if strings.Contains(line, " audio ") {
		t.Errorf("roomctl status still shows the cleared problem: %q", line)
	}

	// The maintenance log holds the report and the entry, by id only.
	es, err := checks.Recent(filepath.Join(dev.dir, "maintenance"), 10, checks.KindMaintenance, checks.KindProblem)
	if err != nil {
		t.Fatal(err)
	}
	if len(es) != 2 || es[0].Kind != checks.KindMaintenance || es[0].Technician != "t-e2e-1" || es[1].Kind != checks.KindProblem ||
		es[1].Problem != room.ProblemAudio || es[1].Counselor != "c-e2e-1" || es[1].Session == "" {
		t.Errorf("maintenance log entries (newest first): %+v", es)
	}
}
