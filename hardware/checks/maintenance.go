package checks

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"roomkiosk/internal/room"
)

// Book is the maintenance side of the maintenance log: technicians' entries
// (KindMaintenance) and counselors' problem reports (KindProblem). It
// implements session.MaintenanceLog. What is open is derived from the log
// itself at start (a problem stays open until a later technician's entry),
// so it survives the daemon's restart with nothing else on disk; the log's
// day files go to the bucket like faults. A problem reported longer ago than
// checks.log_keep_days is pruned with its day file, and with it its report.
type Book struct {
	log      *Log
	now      func() time.Time
	onChange func(last *room.MaintenanceEntry, open []room.ProblemReport)

	mu   sync.Mutex
	last *room.MaintenanceEntry
	open []room.ProblemReport
}

// OpenBook reads the log's maintenance entries and problem reports, oldest
// first, to know the last maintenance and the problems still open. onChange
// (may be nil) hears of every change after that; the daemon wires the
// core's MaintenanceUpdated.
func OpenBook(l *Log, onChange func(*room.MaintenanceEntry, []room.ProblemReport)) (*Book, error) {
	b := &Book{log: l, now: time.Now, onChange: onChange}
	files, err := l.Files()
	if err != nil {
		return nil, fmt.Errorf("open maintenance book: %w", err)
	}
	for _, f := range files {
		es, err := readDay(f, []Kind{KindMaintenance, KindProblem})
		if err != nil {
			return nil, fmt.Errorf("open maintenance book: %w", err)
		}
		for _, e := range es {
			b.apply(e)
		}
	}
	return b, nil
}

// apply folds one entry into the state. Malformed entries (a code not in
// the lists: a log written by something else) are skipped.
func (b *Book) apply(e Entry) {
	switch e.Kind {
	case KindMaintenance:
		if !room.ValidMaintenanceAction(e.Action) {
			return
		}
		b.last = &room.MaintenanceEntry{At: e.At, Action: e.Action, Technician: e.Technician, Cleared: slices.Clone(e.Cleared)}
		b.open = nil // a technician's entry clears every problem reported before it
	case KindProblem:
		if !room.ValidProblem(e.Problem) {
			return
		}
		if !slices.ContainsFunc(b.open, func(p room.ProblemReport) bool { return p.Problem == e.Problem }) {
			b.open = append(b.open, room.ProblemReport{At: e.At, Problem: e.Problem})
		}
	}
}

// State returns the last maintenance (nil if none) and the open problems,
// first reported first.
func (b *Book) State() (*room.MaintenanceEntry, []room.ProblemReport) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.stateLocked()
}

func (b *Book) stateLocked() (*room.MaintenanceEntry, []room.ProblemReport) {
	var last *room.MaintenanceEntry
	if b.last != nil {
		e := *b.last
		e.Cleared = slices.Clone(b.last.Cleared)
		last = &e
	}
	return last, slices.Clone(b.open)
}

// RecordMaintenance implements session.MaintenanceLog: the entry is on disk
// (fsync'ed) when it returns, and it clears every open problem (its Cleared
// says which, whatever the caller listed).
func (b *Book) RecordMaintenance(me room.MaintenanceEntry) error {
	if !room.ValidMaintenanceAction(me.Action) {
		return fmt.Errorf("record maintenance: %q is not a maintenance action", me.Action)
	}
	b.mu.Lock()
	if me.At.IsZero() {
		me.At = b.now()
	}
	me.Cleared = nil
	for _, p := range b.open {
		me.Cleared = append(me.Cleared, p.Problem)
	}
	e := Entry{At: me.At, Kind: KindMaintenance, Action: me.Action, Technician: me.Technician, Cleared: me.Cleared}
	if err := b.log.Record(e); err != nil {
		b.mu.Unlock()
		return fmt.Errorf("record maintenance: %w", err)
	}
	e.At = e.At.UTC()
	b.apply(e)
	last, open := b.stateLocked()
	b.mu.Unlock()
	if b.onChange != nil {
		b.onChange(last, open)
	}
	return nil
}

// ReportProblem implements session.MaintenanceLog: the report is on disk
// when it returns and the problem stays open until a technician's entry.
func (b *Book) ReportProblem(p room.ProblemReport, sessionID, counselorID string) error {
	if !room.ValidProblem(p.Problem) {
		return fmt.Errorf("report problem: %q is not a problem code", p.Problem)
	}
	b.mu.Lock()
	if p.At.IsZero() {
		p.At = b.now()
	}
	e := Entry{At: p.At, Kind: KindProblem, Problem: p.Problem, Session: sessionID, Counselor: counselorID}
	if err := b.log.Record(e); err != nil {
		b.mu.Unlock()
		return fmt.Errorf("report problem: %w", err)
	}
	e.At = e.At.UTC()
	b.apply(e)
	last, open := b.stateLocked()
	b.mu.Unlock()
	if b.onChange != nil {
		b.onChange(last, open)
	}
	return nil
}

// Check is the advisory "reported_problem" check: abnormal while a reported
// problem waits for a technician. Put it in the runner's list (and leave it
// out of checks.required: a report never closes the room by itself).
func (b *Book) Check() Check {
	return Func(room.CheckReportedProblem, func(context.Context) room.CheckResult {
		_, open := b.State()
		if len(open) == 0 {
			return Good(room.CheckReportedProblem, "none", "none open")
		}
		codes := make([]string, len(open))
		for i, p := range open {
			codes[i] = p.Problem
		}
		return Abnormal(room.CheckReportedProblem, strings.Join(codes, ", "), "none open",
			"A technician checks it and clears it here")
	})
}
