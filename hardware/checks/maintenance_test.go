package checks_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"roomkiosk/hardware/checks"
	"roomkiosk/internal/room"
)

func problemCodes(ps []room.ProblemReport) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.Problem)
	}
	return out
}

// TestBookSurvivesRestart: problem reports stay open across a reopened log
// (the daemon's restart) until a technician's entry, which clears them all
// and is the last maintenance from then on; the advisory check follows.
func TestBookSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	day := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	open := func() (*checks.Log, *checks.Book, *[]int) {
		l, err := checks.OpenLog(dir)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { l.Close() })
		calls := new([]int)
		b, err := checks.OpenBook(l, func(_ *room.MaintenanceEntry, open []room.ProblemReport) { *calls = append(*calls, len(open)) })
		if err != nil {
			t.Fatal(err)
		}
		return l, b, calls
	}
	checkState := func(b *checks.Book) room.CheckResult {
		return b.Check().Run(context.Background())
	}

	l, b, calls := open()
	if last, ps := b.State(); last != nil || ps != nil {
		t.Fatalf("an empty log has state %+v %+v", last, ps)
	}
	if r := checkState(b); r.State != room.CheckGood {
		t.Fatalf("check with nothing reported: %+v", r)
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(b.ReportProblem(room.ProblemReport{At: day, Problem: room.ProblemAudio}, "20260302T080000Z-abcdef", "c-1"))
	must(b.ReportProblem(room.ProblemReport{At: day.Add(time.Hour), Problem: room.ProblemClimate}, "20260302T090000Z-abcdef", "c-2"))
	must(b.ReportProblem(room.ProblemReport{At: day.Add(2 * time.Hour), Problem: room.ProblemAudio}, "20260302T100000Z-abcdef", "c-1"))
	if err := b.ReportProblem(room.ProblemReport{Problem: "the chair"}, "", ""); err == nil {
		t.Error("a problem outside the list was kept")
	}
	if !slices.Equal(*calls, []int{1, 2, 2}) {
		t.Errorf("onChange saw %v open problems", *calls)
	}
	l.Close()

	// A torn line from a power cut does not stop the reading.
	f, err := os.OpenFile(filepath.Join(dir, "2026-03-02.jsonl"), os.O_APPEND|os.O_WRONLY, 0)
	must(err)
	f.WriteString(`{"at":"2026-03-02T12:00:00Z","kind":"maintenance","act`)
	f.Close()

	l, b, _ = open()
	_, ps := b.State()
	if got := problemCodes(ps); !slices.Equal(got, []string{room.ProblemAudio, room.ProblemClimate}) {
		t.Fatalf("open after a restart: %q", got)
	}
	if r := checkState(b); r.State != room.CheckAbnormal || r.Value != "audio, climate" || r.Required {
		t.Errorf("check with two open: %+v", r)
	}
	if err := b.RecordMaintenance(room.MaintenanceEntry{Action: "fixed it"}); err == nil {
		t.Error("an action outside the list was kept")
	}
	must(b.RecordMaintenance(room.MaintenanceEntry{At: day.Add(26 * time.Hour), Action: room.ActionMicReplaced, Technician: "t-1"}))
	last, ps := b.State()
	if last == nil || last.Action != room.ActionMicReplaced || !slices.Equal(last.Cleared, []string{room.ProblemAudio, room.ProblemClimate}) || ps != nil {
		t.Fatalf("after the entry: %+v %+v", last, ps)
	}
	must(b.ReportProblem(room.ProblemReport{At: day.Add(27 * time.Hour), Problem: room.ProblemScreen}, "20260303T110000Z-abcdef", "c-1"))
	l.Close()

	_, b, _ = open()
	last, ps = b.State()
	if last == nil || last.Technician != "t-1" || !last.At.Equal(day.Add(26*time.Hour)) {
		t.Errorf("last maintenance after a restart: %+v", last)
	}
	if got := problemCodes(ps); !slices.Equal(got, []string{room.ProblemScreen}) {
		t.Errorf("open after the second restart: %q (the entry cleared the older ones)", got)
	}
	es, err := checks.Recent(dir, 10, checks.KindMaintenance, checks.KindProblem)
	must(err)
	if len(es) != 5 || es[0].Kind != checks.KindProblem || es[0].Session == "" || es[1].Kind != checks.KindMaintenance {
		t.Errorf("log entries (newest first): %+v", es)
	}
}
