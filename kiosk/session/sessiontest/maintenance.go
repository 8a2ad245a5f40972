package sessiontest

import (
	"slices"
	"strings"
	"sync"

	"roomkiosk/internal/room"
)

// Hold makes the fake hold a withdrawn session from before (a restart left
// it without a keep-or-delete choice).
func (r *Recorder) Hold(id string) { r.HoldFamily(id, 0) }

// HoldFamily is Hold for a session with children, as the real recorder
// reads the count from the held manifest.
func (r *Recorder) HoldFamily(id string, children int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.init()
	r.held[id] = true
	r.children[id] = children
}

// Held implements session.HeldLister: the sessions the fake holds, sorted,
// with the children count each started with.
func (r *Recorder) Held() ([]room.HeldRecording, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []room.HeldRecording
	for id := range r.held {
		out = append(out, room.HeldRecording{SessionID: id, Children: r.children[id]})
	}
	slices.SortFunc(out, func(a, b room.HeldRecording) int { return strings.Compare(a.SessionID, b.SessionID) })
	return out, nil
}

// HeldIDs is Held's session ids.
func (r *Recorder) HeldIDs() []string {
	held, _ := r.Held()
	ids := make([]string, len(held))
	for i, h := range held {
		ids[i] = h.SessionID
	}
	return ids
}

// Problem is one problem report the fake maintenance log got.
type Problem struct {
	Report    room.ProblemReport
	SessionID string
	Counselor string
}

// Maintenance is a fake session.MaintenanceLog that keeps what it is told.
type Maintenance struct {
	mu       sync.Mutex
	entries  []room.MaintenanceEntry
	problems []Problem
	err      error
}

// Fail makes the next calls fail with err (nil to stop failing).
func (m *Maintenance) Fail(err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.err = err
}

func (m *Maintenance) RecordMaintenance(e room.MaintenanceEntry) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err != nil {
		return m.err
	}
	m.entries = append(m.entries, e)
	return nil
}

func (m *Maintenance) ReportProblem(p room.ProblemReport, sessionID, counselorID string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err != nil {
		return m.err
	}
	m.problems = append(m.problems, Problem{Report: p, SessionID: sessionID, Counselor: counselorID})
	return nil
}

// Entries returns the technicians' entries so far.
func (m *Maintenance) Entries() []room.MaintenanceEntry {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.entries)
}

// Problems returns the problem reports so far.
func (m *Maintenance) Problems() []Problem {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.problems)
}
