// Package sessiontest provides in-memory fakes of the session core's ports
// (Recorder, Checker, Uploader) and a clock that tests move by hand.
package sessiontest

import (
	"errors"
	"slices"
	"sort"
	"sync"
	"time"

	"roomkiosk/internal/room"
	"roomkiosk/kiosk/session"
)

// Call is one call made to a fake port, in order.
type Call struct {
	Op        string // "start", "stop", "keep", "discard", "run_checks", "session_ended"
	SessionID string
	Withdrawn bool               // stop
	Info      room.SessionInfo   // start
	Reason    string             // run_checks
	Feedback  int                // session_ended
	Summary   room.Summary       // session_ended
	Decision  *room.HeldDecision // keep, discard through Settle: who decided and when
}

// Recorder is a fake session.Recorder. With a Report function set, it
// behaves like the real one: Start reports starting then recording, Stop
// reports stopped.
//
// Like the real recorder it holds a withdrawn session only when the
// withdrawal stopped a running capture, and Keep of a session it does not
// hold fails ("no withdrawn session awaiting a choice").
type Recorder struct {
	mu       sync.Mutex
	calls    []Call
	report   func(room.RecorderStatus)
	startErr error
	running  map[string]bool
	held     map[string]bool
	children map[string]int // of each session started or held (the real one's manifest count)
}

// ErrHeldResume is what Start returns to resume a session the fake holds
// (the real spool refuses it: the held manifest seals it).
var ErrHeldResume = errors.New("sessiontest: resume recording: session already sealed (held)")

// ErrNotHeld is what Keep returns for a session the fake does not hold.
var ErrNotHeld = errors.New("sessiontest: no withdrawn session awaiting a choice")

// StoppedByItself tells the fake that the session's capture ended on its own
// (disk floor): a later withdrawal holds nothing.
func (r *Recorder) StoppedByItself(id string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.running, id)
}

func (r *Recorder) init() {
	if r.running == nil {
		r.running, r.held = map[string]bool{}, map[string]bool{}
	}
	if r.children == nil {
		r.children = map[string]int{}
	}
}

// SetReport makes the fake report its state, typically to core.RecorderChanged.
func (r *Recorder) SetReport(f func(room.RecorderStatus)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.report = f
}

// FailStart makes the next Start calls fail with err (nil to stop failing).
func (r *Recorder) FailStart(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.startErr = err
}

func (r *Recorder) Start(info room.SessionInfo) error {
	r.mu.Lock()
	r.calls = append(r.calls, Call{Op: "start", SessionID: info.ID, Info: info})
	report, err := r.report, r.startErr
	r.init()
	if info.Resume && r.held[info.ID] && err == nil {
		// Like the real spool: a held session is sealed.
		err = ErrHeldResume
	}
	if err == nil {
		r.running[info.ID] = true
		if c := info.Consent.Children; c > 0 {
			r.children[info.ID] = c
		}
	}
	r.mu.Unlock()
	if err != nil {
		return err
	}
	if report != nil {
		report(room.RecorderStatus{SessionID: info.ID, State: room.RecorderStarting})
		report(room.RecorderStatus{SessionID: info.ID, State: room.RecorderRecording})
	}
	return nil
}

func (r *Recorder) Stop(id string, withdrawn bool) error {
	r.mu.Lock()
	r.calls = append(r.calls, Call{Op: "stop", SessionID: id, Withdrawn: withdrawn})
	report := r.report
	r.init()
	if withdrawn && r.running[id] {
		r.held[id] = true
	}
	delete(r.running, id)
	r.mu.Unlock()
	if report != nil {
		report(room.RecorderStatus{SessionID: id, State: room.RecorderStopped})
	}
	return nil
}

func (r *Recorder) Keep(id string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, Call{Op: "keep", SessionID: id})
	r.init()
	if !r.held[id] {
		return ErrNotHeld
	}
	delete(r.held, id)
	return nil
}

// Settle implements session.HeldSettler: a keep or a discard that says who
// decided and when.
func (r *Recorder) Settle(id string, d room.HeldDecision) error {
	if d.Keep {
		err := r.Keep(id)
		r.noteDecision(d)
		return err
	}
	err := r.Discard(id)
	r.noteDecision(d)
	return err
}

func (r *Recorder) noteDecision(d room.HeldDecision) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls[len(r.calls)-1].Decision = &d
}

func (r *Recorder) Discard(id string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, Call{Op: "discard", SessionID: id})
	r.init()
	delete(r.held, id)
	delete(r.running, id)
	return nil
}

// Calls returns the calls so far.
func (r *Recorder) Calls() []Call {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.calls)
}

// Checker is a fake session.Checker. With Results set, RunChecks delivers
// them through Deliver (typically core.ChecksUpdated).
type Checker struct {
	mu      sync.Mutex
	calls   []Call
	results []room.CheckResult
	deliver func([]room.CheckResult)
}

// SetResults makes every RunChecks deliver rs to deliver.
func (c *Checker) SetResults(rs []room.CheckResult, deliver func([]room.CheckResult)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.results, c.deliver = slices.Clone(rs), deliver
}

func (c *Checker) RunChecks(reason string) {
	c.mu.Lock()
	c.calls = append(c.calls, Call{Op: "run_checks", Reason: reason})
	rs, deliver := slices.Clone(c.results), c.deliver
	c.mu.Unlock()
	if deliver != nil {
		deliver(rs)
	}
}

// Calls returns the calls so far.
func (c *Checker) Calls() []Call {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.calls)
}

// Uploader is a fake session.Uploader.
type Uploader struct {
	mu       sync.Mutex
	calls    []Call
	statuses []room.Snapshot
}

func (u *Uploader) StatusChanged(s room.Snapshot) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.statuses = append(u.statuses, s)
}

func (u *Uploader) SessionEnded(sum room.Summary) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.calls = append(u.calls, Call{Op: "session_ended", SessionID: sum.ID, Feedback: sum.Feedback, Summary: sum})
}

// Calls returns the SessionEnded calls so far.
func (u *Uploader) Calls() []Call {
	u.mu.Lock()
	defer u.mu.Unlock()
	return slices.Clone(u.calls)
}

// Statuses returns the snapshots passed to StatusChanged so far.
func (u *Uploader) Statuses() []room.Snapshot {
	u.mu.Lock()
	defer u.mu.Unlock()
	return slices.Clone(u.statuses)
}

// Clock is a fake session.Clock. Time moves only with Advance, which runs
// due callbacks in time order on the caller's goroutine.
type Clock struct {
	mu     sync.Mutex
	now    time.Time
	seq    int
	timers []*timer
}

// NewClock returns a clock at t.
func NewClock(t time.Time) *Clock { return &Clock{now: t} }

type timer struct {
	c     *Clock
	when  time.Time
	seq   int
	f     func()
	state int // 0 pending, 1 fired, 2 stopped
}

func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *Clock) AfterFunc(d time.Duration, f func()) session.Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seq++
	t := &timer{c: c, when: c.now.Add(d), seq: c.seq, f: f}
	c.timers = append(c.timers, t)
	return t
}

func (t *timer) Stop() bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	if t.state != 0 {
		return false
	}
	t.state = 2
	return true
}

// Advance moves time forward by d, firing every timer that falls due, each
// at its own time. It returns once the callbacks have returned.
func (c *Clock) Advance(d time.Duration) {
	if d < 0 {
		panic(errors.New("sessiontest: Advance with a negative duration"))
	}
	c.mu.Lock()
	target := c.now.Add(d)
	c.mu.Unlock()
	for {
		c.mu.Lock()
		c.timers = slices.DeleteFunc(c.timers, func(t *timer) bool { return t.state != 0 })
		sort.Slice(c.timers, func(i, j int) bool {
			if !c.timers[i].when.Equal(c.timers[j].when) {
				return c.timers[i].when.Before(c.timers[j].when)
			}
			return c.timers[i].seq < c.timers[j].seq
		})
		if len(c.timers) == 0 || c.timers[0].when.After(target) {
			c.now = target
			c.mu.Unlock()
			return
		}
		t := c.timers[0]
		t.state = 1
		if t.when.After(c.now) {
			c.now = t.when
		}
		c.mu.Unlock()
		t.f()
	}
}

// Pending returns how many timers are waiting.
func (c *Clock) Pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, t := range c.timers {
		if t.state == 0 {
			n++
		}
	}
	return n
}

// Journal is an in-memory session.JournalStore.
type Journal struct {
	mu      sync.Mutex
	b       []byte
	saves   int
	failErr error
}

// Save implements session.JournalStore.
func (j *Journal) Save(b []byte) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.failErr != nil {
		return j.failErr
	}
	j.b = slices.Clone(b)
	j.saves++
	return nil
}

// Load implements session.JournalStore.
func (j *Journal) Load() ([]byte, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	return slices.Clone(j.b), nil
}

// Clear implements session.JournalStore.
func (j *Journal) Clear() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.b = nil
	return nil
}

// Bytes returns the journal as stored (nil: none).
func (j *Journal) Bytes() []byte {
	j.mu.Lock()
	defer j.mu.Unlock()
	return slices.Clone(j.b)
}

// Set replaces the stored journal (a damaged one, in tests).
func (j *Journal) Set(b []byte) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.b = slices.Clone(b)
}

// Saves counts successful saves.
func (j *Journal) Saves() int {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.saves
}

// Fail makes Save fail with err (nil: succeed again).
func (j *Journal) Fail(err error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.failErr = err
}
