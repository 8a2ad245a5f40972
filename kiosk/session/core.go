package session

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"roomkiosk/internal/room"
	"roomkiosk/kiosk/pin"
)

// Config is what the core needs from the device configuration.
type Config struct {
	Room       RoomConfig
	Counselors []Counselor
	Agreement  AgreementConfig
	Flow       FlowConfig
	MaxLength  time.Duration // recording.max_session_length; 0 = no limit

	Technicians []Technician // may be empty: then nobody records maintenance
}

// Deps are the core's ports and injectables.
type Deps struct {
	Recorder Recorder
	Checker  Checker
	Uploader Uploader
	Clock    Clock // nil: SystemClock
	// Journal keeps the open session across the daemon's restarts (nil:
	// none; a restart then forgets the session).
	Journal JournalStore
	NewID   func(time.Time) string // nil: DefaultNewID
	Log     zerolog.Logger

	// Maintenance keeps technicians' entries and problem reports (nil:
	// they are refused).
	Maintenance MaintenanceLog
}

// Plain messages for the room. Deliberately the same whoever declined, so
// nobody learns who did. Notice codes let the screen translate them.
const (
	msgNotRecordedChoice   = "Not recorded: this session is not being recorded."
	msgNotRecordedDeclined = "Not recorded: not everyone agreed, so this session is not being recorded."
	msgRecorderFailed      = "Not recorded: the recorder could not start."
	msgWithdrawn           = "Recording stopped: consent was withdrawn. Nothing more is recorded in this session."
	msgMaxLength           = "Recording stopped: the maximum session length was reached."
	msgRecorderStopped     = "Recording stopped by the recorder."
	msgResumed             = "Recording resumed after an interruption."
)

// DefaultNewID names a session by its UTC start time and 6 random hex
// digits, e.g. 20260127T093512Z-3fa9c1. The recorder and uploader use it as
// the session's folder and object name, so it must stay filename-safe.
func DefaultNewID(t time.Time) string {
	var b [3]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on Linux
	return t.UTC().Format("20060102T150405Z-") + hex.EncodeToString(b[:])
}

// Core is the room's state machine. One goroutine (Run) owns the state;
// Send, RecorderChanged, ChecksUpdated and timers post to it, and readers
// get immutable snapshots.
type Core struct {
	cfg      Config
	rec      Recorder
	checker  Checker
	uploader Uploader
	journal  JournalStore
	maint    MaintenanceLog
	clock    Clock
	newID    func(time.Time) string
	log      zerolog.Logger
	textHash map[string]string // language -> hex SHA-256 of the agreement text
	verify   func(hash, pin string) bool

	events  chan event
	done    chan struct{}
	running atomic.Bool

	// Reports from the recorder and the checker are parked here and
	// applied by Run, so a port calling back while the core is calling it
	// can never deadlock.
	pendMu     sync.Mutex
	pendRec    []room.RecorderStatus
	pendChecks [][]room.CheckResult
	pendFaults []room.Fault
	haveFaults bool
	pendMaint  *maintState
	wake       chan struct{}

	snap   atomic.Pointer[room.Snapshot]
	subMu  sync.Mutex
	subs   map[int]chan room.Snapshot
	nextID int

	st state // owned by Run's goroutine
}

type timerKind int

const (
	timerStep    timerKind = iota // abandoned screen
	timerLockout                  // PIN lockout ends
	timerMaxWarn                  // max_length_near
	timerMaxLen                   // max length reached
	numTimers
)

type event interface{}

type intentEvent struct {
	in    room.Intent
	reply chan error
}

type timerEvent struct {
	kind timerKind
	gen  uint64
	done chan struct{}
}

type pinEvent struct {
	gen       uint64
	counselor string // "" when no counselor's hash matched
	done      chan struct{}

	technician string // on the maintenance PIN pad: "" when no technician's hash matched
}

type syncEvent struct{ done chan struct{} }

type state struct {
	step room.Step
	lang string

	// PIN pad.
	digits      []byte
	pinErr      string
	wrong       int
	lockedUntil time.Time
	verifying   bool
	pinGen      uint64
	pinReply    chan error

	// Checklist.
	checks     []room.CheckResult
	faults     []room.Fault // the latest from the maintenance log, newest first
	manual     []room.ManualItem
	counselor  string // who passed the start PIN
	overridden bool
	override   string // the reason code (room.OverrideReasons)
	technician string // who opened the maintenance screen with a technician's PIN

	// Maintenance (maintenance.go).
	maint    maintState
	held     []string        // withdrawn recordings awaiting a choice, oldest first (not the open session's)
	resolved map[string]bool // held recordings settled in this run (the recorder may list them a moment longer)

	sess   *sessionState
	recSt  room.RecorderStatus // latest accepted recorder report
	timers [numTimers]Timer
	gens   [numTimers]uint64

	// What the uploader was last told.
	toldDoor      room.Door
	toldRecording bool
	toldChecks    string
	told          bool
	lastPublished room.Snapshot

	// The session journal (journal.go).
	journaled       bool          // a journal is on disk
	lastJournal     []byte        // what was last written, without its time
	pendingEnd      *room.Summary // a session closed as interrupted at start-up
	restored        bool          // the session came back from the journal
	resumeRecording bool          // ... and its recording resumes when Run starts
}

type sessionState struct {
	id           string
	started      time.Time
	counselor    string
	overridden   bool
	override     string
	participants int
	want         bool
	turn         int
	decisions    []room.Decision
	declined     bool
	recorded     bool // Recorder.Start succeeded
	startFailed  bool
	stopped      bool // Recorder.Stop called (end, max length, withdrawal)
	withdrawn    bool
	alerts       []room.Alert
	message      string
	notice       string

	recStarted  time.Time         // when Recorder.Start first succeeded
	selfStopped bool              // the recorder stopped by itself (disk floor, write failure)
	held        bool              // the withdrawal stopped a running recording: the recorder holds it
	resumptions []room.Resumption // resumed after restarts
	resumedGap  time.Duration     // the last resumption's gap
	resuming    bool              // resumed; waiting for the recorder to say it records again
	reported    []string          // problem codes reported on the feedback screen
}

// New checks cfg and deps and returns a core at the door. Call Run.
func New(cfg Config, deps Deps) (*Core, error) {
	if err := cfg.Room.Validate(); err != nil {
		return nil, fmt.Errorf("session core: %w", err)
	}
	if err := ValidateCounselors(cfg.Counselors); err != nil {
		return nil, fmt.Errorf("session core: %w", err)
	}
	for i, c := range cfg.Counselors {
		if err := pin.CheckHash(c.PINHash); err != nil {
			return nil, fmt.Errorf("session core: counselors[%d].pin_hash: %w", i, err)
		}
	}
	if err := ValidateTechnicians(cfg.Technicians, cfg.Counselors); err != nil {
		return nil, fmt.Errorf("session core: %w", err)
	}
	if err := cfg.Agreement.Validate(cfg.Room.Languages); err != nil {
		return nil, fmt.Errorf("session core: %w", err)
	}
	if err := cfg.Flow.Validate(); err != nil {
		return nil, fmt.Errorf("session core: %w", err)
	}
	if cfg.MaxLength < 0 {
		return nil, fmt.Errorf("session core: max length %v is negative", cfg.MaxLength)
	}
	if deps.Recorder == nil || deps.Checker == nil || deps.Uploader == nil {
		return nil, errors.New("session core: recorder, checker and uploader are required")
	}
	c := &Core{
		cfg:      cfg,
		rec:      deps.Recorder,
		checker:  deps.Checker,
		uploader: deps.Uploader,
		journal:  deps.Journal,
		maint:    deps.Maintenance,
		clock:    deps.Clock,
		newID:    deps.NewID,
		log:      deps.Log,
		textHash: map[string]string{},
		events:   make(chan event),
		done:     make(chan struct{}),
		wake:     make(chan struct{}, 1),
		subs:     map[int]chan room.Snapshot{},
		verify:   pin.Verify,
	}
	if c.clock == nil {
		c.clock = SystemClock()
	}
	if c.newID == nil {
		c.newID = DefaultNewID
	}
	for l, t := range cfg.Agreement.Texts {
		c.textHash[l] = room.TextSHA256(t)
	}
	c.st.step = room.StepDoor
	c.st.lang = cfg.Room.Languages[0]
	c.st.recSt = room.RecorderStatus{State: room.RecorderIdle}
	c.restore()
	s := c.build()
	s.At = c.clock.Now()
	c.st.lastPublished = s
	c.snap.Store(&s)
	return c, nil
}

// Run owns the state until ctx ends. It returns nil when ctx is cancelled.
func (c *Core) Run(ctx context.Context) error {
	if !c.running.CompareAndSwap(false, true) {
		return errors.New("session core: Run called twice")
	}
	defer close(c.done)
	c.refreshHeld()
	c.startUp()
	c.persist()
	c.publish() // tells the uploader the initial status
	for {
		select {
		case <-ctx.Done():
			c.shutdown()
			return nil
		case <-c.wake:
			c.applyPending()
		case ev := <-c.events:
			c.applyPending()
			c.handle(ev)
		}
		c.persist()
		c.publish()
	}
}

// shutdown stops what the core started, so the recorder seals its files.
func (c *Core) shutdown() {
	for k := range c.st.timers {
		c.stopTimer(timerKind(k))
	}
	if c.st.verifying {
		c.st.pinReply <- room.ErrClosed
		c.st.verifying = false
	}
	if s := c.st.sess; s != nil && s.recorded && !s.stopped && !s.selfStopped {
		// With a journal the session comes back at the next start: a
		// recorder that can suspend seals what it wrote without
		// finishing the session, so the resumed part joins it.
		if sus, ok := c.rec.(Suspender); ok && c.journal != nil && c.st.journaled {
			c.slog().Info().Msg("daemon stopping: recording suspended until the session resumes")
			if err := sus.Suspend(s.id); err != nil {
				c.slog().Error().Err(err).Msg("suspend recording at shutdown")
			}
			return // the journal still says recording: it resumes
		}
		c.slog().Info().Msg("daemon stopping: stopping the recording")
		if err := c.rec.Stop(s.id, false); err != nil {
			c.slog().Error().Err(err).Msg("stop recording at shutdown")
		}
		s.stopped = true
		c.persist()
	}
}

// Send posts an intent and waits for the core's decision.
func (c *Core) Send(ctx context.Context, in room.Intent) error {
	reply := make(chan error, 1)
	select {
	case c.events <- intentEvent{in: in, reply: reply}:
	case <-c.done:
		return room.ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-reply:
		return err
	case <-c.done:
		// A deferred reply (PIN check) may have been sent just before.
		select {
		case err := <-reply:
			return err
		default:
			return room.ErrClosed
		}
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Snapshot returns the latest published snapshot.
func (c *Core) Snapshot() room.Snapshot { return *c.snap.Load() }

// Subscribe returns a channel that holds the current snapshot at once and
// then the latest one after every change. It is latest-wins: a slow reader
// skips intermediate snapshots and never blocks the core. Call the returned
// function to unsubscribe; the channel is then no longer written.
func (c *Core) Subscribe() (<-chan room.Snapshot, func()) {
	ch := make(chan room.Snapshot, 1)
	c.subMu.Lock()
	id := c.nextID
	c.nextID++
	c.subs[id] = ch
	ch <- *c.snap.Load()
	c.subMu.Unlock()
	var once sync.Once
	return ch, func() {
		once.Do(func() {
			c.subMu.Lock()
			delete(c.subs, id)
			c.subMu.Unlock()
		})
	}
}

// RecorderChanged reports the recorder's state. It never blocks, so the
// recorder may call it from inside Start or Stop, and it does nothing on a
// nil core. Every change of session or state is kept in order; reports that
// only change levels or alerts replace the previous one, so frequent level
// updates cannot pile up.
func (c *Core) RecorderChanged(st room.RecorderStatus) {
	if c == nil {
		return // a report before the core exists (recovery at start-up) has nothing to change
	}
	st.Alerts = slices.Clone(st.Alerts)
	c.pendMu.Lock()
	if n := len(c.pendRec); n > 0 && c.pendRec[n-1].SessionID == st.SessionID && c.pendRec[n-1].State == st.State {
		c.pendRec[n-1] = st
	} else {
		c.pendRec = append(c.pendRec, st)
	}
	c.pendMu.Unlock()
	c.poke()
}

// ChecksUpdated reports check results (all or some of them, merged by
// name). It never blocks.
func (c *Core) ChecksUpdated(results []room.CheckResult) {
	if c == nil {
		return
	}
	c.pendMu.Lock()
	c.pendChecks = append(c.pendChecks, slices.Clone(results))
	c.pendMu.Unlock()
	c.poke()
}

// FaultsUpdated replaces the recent faults the maintenance screen shows
// (newest first). Like ChecksUpdated it never blocks.
func (c *Core) FaultsUpdated(faults []room.Fault) {
	if c == nil {
		return
	}
	c.pendMu.Lock()
	c.pendFaults, c.haveFaults = slices.Clone(faults), true
	c.pendMu.Unlock()
	c.poke()
}

func (c *Core) poke() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// post hands an event to Run and waits until it has been handled, so a
// fake clock's Advance returns only once its timers took effect.
func (c *Core) post(ev event, done chan struct{}) {
	select {
	case c.events <- ev:
	case <-c.done:
		return
	}
	select {
	case <-done:
	case <-c.done:
	}
}

// Ping returns once the core's goroutine has handled an event posted now.
// The daemon's watchdog uses it to tell a live core from a hung one.
func (c *Core) Ping(ctx context.Context) error {
	done := make(chan struct{})
	select {
	case c.events <- syncEvent{done: done}:
	case <-c.done:
		return room.ErrClosed
	case <-ctx.Done():
		return fmt.Errorf("ping session core: %w", ctx.Err())
	}
	select {
	case <-done:
		return nil
	case <-c.done:
		return room.ErrClosed
	case <-ctx.Done():
		return fmt.Errorf("ping session core: %w", ctx.Err())
	}
}

// sync waits until every event posted before it has been handled.
func (c *Core) sync() {
	done := make(chan struct{})
	c.post(syncEvent{done: done}, done)
}

func (c *Core) applyPending() {
	c.pendMu.Lock()
	rec, checks := c.pendRec, c.pendChecks
	c.pendRec, c.pendChecks = nil, nil
	if c.haveFaults {
		c.st.faults, c.pendFaults, c.haveFaults = c.pendFaults, nil, false
	}
	if c.pendMaint != nil {
		c.st.maint, c.pendMaint = *c.pendMaint, nil
	}
	c.pendMu.Unlock()
	for _, rs := range checks {
		c.mergeChecks(rs)
	}
	for _, r := range rec {
		c.recorderStatus(r)
	}
}

func (c *Core) mergeChecks(rs []room.CheckResult) {
	for _, r := range rs {
		i := slices.IndexFunc(c.st.checks, func(x room.CheckResult) bool { return x.Name == r.Name })
		if i < 0 {
			c.st.checks = append(c.st.checks, r)
		} else {
			c.st.checks[i] = r
		}
	}
}

func (c *Core) recorderStatus(rs room.RecorderStatus) {
	s := c.st.sess
	switch {
	case s == nil && rs.SessionID == "":
	case s != nil && rs.SessionID == s.id && s.recorded:
	default:
		return // a late report about another session, or about one not started
	}
	wasRecording := c.recording()
	c.st.recSt = rs
	if s != nil && s.resuming && rs.State == room.RecorderRecording && rs.ResumedGap > 0 {
		c.noteResumed(s, rs.ResumedGap)
	}
	if s == nil || s.stopped || s.withdrawn {
		return
	}
	if rs.State != room.RecorderStopped {
		s.selfStopped = false // the recorder runs this session (again)
		return
	}
	if !s.selfStopped {
		// The recorder stopped on its own (disk floor). Nothing of it
		// runs any more: a withdrawal now holds nothing, and ending
		// stops nothing.
		s.selfStopped = true
		s.resuming = false
		c.slog().Warn().Str("reason", rs.Reason).Msg("recorder stopped on its own")
	}
	if wasRecording {
		// Say so plainly.
		s.message, s.notice = msgRecorderStopped, room.NoticeRecorderStopped
	}
}

func (c *Core) handle(ev event) {
	switch ev := ev.(type) {
	case intentEvent:
		err := c.apply(ev.in, ev.reply)
		if err != errDeferred {
			c.persist() // on disk before the screen is told
			ev.reply <- err
		}
	case timerEvent:
		if ev.gen == c.st.gens[ev.kind] {
			c.st.timers[ev.kind] = nil
			c.timeout(ev.kind)
		}
		close(ev.done)
	case pinEvent:
		if c.st.verifying && ev.gen == c.st.pinGen {
			c.pinResult(ev.counselor, ev.technician)
		}
		close(ev.done)
	case syncEvent:
		// Publish first: whoever waits on a sync reads the snapshot next,
		// and it must hold what was applied before the sync (the pending
		// recorder report applied just above, say).
		c.publish()
		close(ev.done)
	}
}

// errDeferred tells handle that the reply will be sent later.
var errDeferred = errors.New("deferred")

func (c *Core) refuse(in room.Intent, cause error, format string, args ...any) error {
	return &room.RefusedError{Kind: in.Kind, Step: c.st.step, Reason: fmt.Sprintf(format, args...), Err: cause}
}

func (c *Core) now() time.Time { return c.clock.Now() }

func (c *Core) slog() *zerolog.Logger {
	if c.st.sess == nil {
		return &c.log
	}
	l := c.log.With().Str("session", c.st.sess.id).Logger()
	return &l
}

// apply decides one intent. Only Run's goroutine calls it.
func (c *Core) apply(in room.Intent, reply chan error) error {
	st := &c.st
	s := st.sess
	wrongStep := func() error {
		return c.refuse(in, room.ErrWrongStep, "not possible on the %s screen", st.step)
	}
	switch in.Kind {
	case room.IntentMaintenanceAction, room.IntentReportProblem, room.IntentHeldKeep, room.IntentHeldDelete:
		return c.applyMaintenance(in)

	case room.IntentLanguage:
		if !slices.Contains(c.cfg.Room.Languages, in.Language) {
			return c.refuse(in, room.ErrInvalid, "language %q is not one of this room's (%s)", in.Language, strings.Join(c.cfg.Room.Languages, ", "))
		}
		st.lang = in.Language
		c.touch()
		return nil

	case room.IntentStart, room.IntentMaintenance:
		if st.step != room.StepDoor {
			return wrongStep()
		}
		st.step = room.StepPIN
		if in.Kind == room.IntentMaintenance {
			st.step = room.StepMaintenancePIN
		}
		c.openPINPad()
		return nil

	case room.IntentPINDigit, room.IntentPINBack, room.IntentPINOK:
		if !isPINStep(st.step) {
			return wrongStep()
		}
		if st.verifying {
			return c.refuse(in, room.ErrBusy, "the PIN is being checked")
		}
		if c.locked() {
			return c.refuse(in, room.ErrLocked, "too many wrong PINs; try again after %s", st.lockedUntil.Format(time.TimeOnly))
		}
		c.touch()
		switch in.Kind {
		case room.IntentPINDigit:
			if in.Digit < 0 || in.Digit > 9 {
				return c.refuse(in, room.ErrInvalid, "digit %d is not 0-9", in.Digit)
			}
			if len(st.digits) >= 8 {
				return c.refuse(in, room.ErrInvalid, "a PIN has at most 8 digits")
			}
			st.digits = append(st.digits, byte('0'+in.Digit))
			st.pinErr = ""
		case room.IntentPINBack:
			if len(st.digits) > 0 {
				st.digits = st.digits[:len(st.digits)-1]
			}
		case room.IntentPINOK:
			if len(st.digits) < 4 {
				return c.refuse(in, room.ErrInvalid, "a PIN has at least 4 digits")
			}
			c.verifyPIN(reply)
			return errDeferred
		}
		return nil

	case room.IntentCancel:
		switch st.step {
		case room.StepPIN, room.StepMaintenancePIN, room.StepChecklist, room.StepMaintenance:
			c.toDoor()
		case room.StepParticipants, room.StepRecordChoice, room.StepConsent:
			c.slog().Info().Str("step", string(st.step)).Msg("session cancelled before it began; nothing recorded")
			c.closeSession(0, true)
		case room.StepEndPIN:
			c.closePINPad()
			st.step = room.StepInSession
		default:
			return wrongStep()
		}
		return nil

	case room.IntentCheckToggle:
		if st.step != room.StepChecklist {
			return wrongStep()
		}
		if in.Item < 0 || in.Item >= len(st.manual) {
			return c.refuse(in, room.ErrInvalid, "checklist item %d does not exist", in.Item)
		}
		st.manual[in.Item].Checked = !st.manual[in.Item].Checked
		c.touch()
		return nil

	case room.IntentCheckContinue, room.IntentCheckOverride:
		if st.step != room.StepChecklist {
			return wrongStep()
		}
		if i := slices.IndexFunc(st.manual, func(m room.ManualItem) bool { return !m.Checked }); i >= 0 {
			return c.refuse(in, room.ErrInvalid, "checklist item %d (%s) is not ticked", i, st.manual[i].Text)
		}
		failing := c.failingRequired()
		if len(failing) > 0 {
			if in.Kind == room.IntentCheckContinue {
				return c.refuse(in, room.ErrInvalid, "required check failing: %s; fix it or override with a reason", strings.Join(failing, ", "))
			}
			// A code from the fixed list, never free text: the reason goes
			// into the maintenance log, which is uploaded in the clear. The
			// refusal does not echo what was sent.
			if !room.ValidOverrideReason(in.Reason) {
				return c.refuse(in, room.ErrInvalid, "an override needs one of the reason codes %s", strings.Join(room.OverrideReasons(), ", "))
			}
			st.overridden = true
			st.override = in.Reason
		}
		c.openSession(failing)
		return nil

	case room.IntentParticipants:
		if st.step != room.StepParticipants {
			return wrongStep()
		}
		if in.Count < 1 || in.Count > room.MaxParticipants {
			return c.refuse(in, room.ErrInvalid, "participants must be 1 to %d, not %d", room.MaxParticipants, in.Count)
		}
		s.participants = in.Count
		st.step = room.StepRecordChoice
		c.touch()
		return nil

	case room.IntentRecord:
		if st.step != room.StepRecordChoice {
			return wrongStep()
		}
		s.want = in.Yes
		if !in.Yes {
			s.message, s.notice = msgNotRecordedChoice, room.NoticeNotRecordedChoice
			c.slog().Info().Msg("session not recorded: counselor's choice")
			c.enterSession()
			return nil
		}
		s.turn = 1
		st.step = room.StepConsent
		c.touch()
		return nil

	case room.IntentConsent:
		if st.step != room.StepConsent {
			return wrongStep()
		}
		if in.Participant != s.turn {
			return c.refuse(in, room.ErrInvalid, "it is participant %d's turn, not %d's", s.turn, in.Participant)
		}
		want, ok := c.textHash[in.Language]
		if !ok || !slices.Contains(c.cfg.Room.Languages, in.Language) {
			return c.refuse(in, room.ErrInvalid, "no agreement text in language %q", in.Language)
		}
		if !strings.EqualFold(in.TextSHA256, want) {
			return c.refuse(in, room.ErrInvalid, "the agreement text shown (sha256 %q) is not agreement %s in %q", in.TextSHA256, c.cfg.Agreement.ID, in.Language)
		}
		// Pages as the screen laid them out; the record keeps what it says.
		if in.Pages < 0 || in.PagesSeen < 0 || in.PagesSeen > in.Pages {
			return c.refuse(in, room.ErrInvalid, "pages seen %d of %d is impossible", in.PagesSeen, in.Pages)
		}
		if in.Yes && in.PagesSeen < in.Pages {
			return c.refuse(in, room.ErrInvalid, "agreeing needs every page of the agreement seen (%d of %d)", in.PagesSeen, in.Pages)
		}
		s.decisions = append(s.decisions, room.Decision{
			Participant: in.Participant, Consented: in.Yes, Language: in.Language,
			TextSHA256: want, At: c.now(), Pages: in.Pages, PagesSeen: in.PagesSeen,
		})
		c.touch()
		if !in.Yes {
			// Stop asking the rest; the room is told only that it is
			// not recorded, never who declined.
			s.declined = true
			s.turn = 0
			s.message, s.notice = msgNotRecordedDeclined, room.NoticeNotRecordedDeclined
			c.slog().Info().Msg("session not recorded: consent declined")
			c.enterSession()
			return nil
		}
		if s.turn < s.participants {
			s.turn++
			return nil
		}
		s.turn = 0
		c.startRecording()
		c.enterSession()
		return nil

	case room.IntentWithdraw:
		if s == nil || (st.step != room.StepInSession && st.step != room.StepEndPIN) {
			return wrongStep()
		}
		if !s.recorded {
			return c.refuse(in, room.ErrInvalid, "this session is not recorded")
		}
		if s.withdrawn {
			return c.refuse(in, room.ErrInvalid, "consent was already withdrawn")
		}
		// Stop first, in this very event: the 250 ms budget. A recording
		// that already stopped (end of its maximum length, or by itself)
		// has nothing running to hold: what it sealed is queued, and the
		// choice then keeps it as it is or deletes it.
		s.held = !s.stopped && !s.selfStopped
		if s.held {
			if err := c.rec.Stop(s.id, true); err != nil {
				c.slog().Error().Err(err).Msg("stop recording after withdrawal")
			}
		}
		s.resuming = false
		s.stopped, s.withdrawn = true, true
		c.stopTimer(timerMaxWarn)
		c.stopTimer(timerMaxLen)
		s.alerts = slices.DeleteFunc(s.alerts, func(a room.Alert) bool { return a.Code == room.AlertMaxLengthNear })
		s.message, s.notice = msgWithdrawn, room.NoticeWithdrawn
		c.closePINPad()
		st.step = room.StepWithdrawChoice
		c.slog().Info().Msg("consent withdrawn: recording stopped")
		return nil

	// The keep-or-delete choice. Until it is made the recorder holds the
	// withdrawn audio on the device (Stop(id, true) seals it out of the
	// upload queue). The choice screen has no timeout and the session
	// cannot end before it, so nobody chooses for the participants: a
	// choice still pending at a daemon stop, crash or power cut leaves the
	// audio held on the device, never uploaded and never deleted, for an
	// admin to settle (recorder/FORMAT.md, "Withdrawal hold").
	case room.IntentWithdrawKeep, room.IntentWithdrawDelete:
		if st.step != room.StepWithdrawChoice {
			return wrongStep()
		}
		if in.Kind == room.IntentWithdrawDelete {
			if err := c.rec.Discard(s.id); err != nil {
				c.slog().Error().Err(err).Msg("discard recording")
				return fmt.Errorf("delete the recording: %w", err)
			}
			c.slog().Info().Msg("withdrawn recording deleted")
		} else if s.held {
			// The recorder held the withdrawn audio out of the upload
			// queue; only this explicit choice releases it. If the
			// release fails the audio stays held on the device (never
			// uploaded, never deleted) for an admin, as after a power
			// cut: the room still leaves this screen.
			if err := c.rec.Keep(s.id); err != nil {
				c.slog().Error().Err(err).Msg("keep recording: it stays held on the device")
				s.alerts = append(s.alerts, room.Alert{Code: room.AlertKeepFailed, Message: journalAlerts[room.AlertKeepFailed], Since: c.now()})
			} else {
				c.slog().Info().Msg("withdrawn recording kept")
			}
		} else {
			c.slog().Info().Msg("withdrawn after the recording had stopped: what was recorded is kept")
		}
		c.markResolved(s.id) // the recorder may list it as held while it seals
		st.step = room.StepInSession
		return nil

	case room.IntentEnd:
		if st.step != room.StepInSession {
			return wrongStep()
		}
		st.step = room.StepEndPIN
		c.openPINPad()
		return nil

	case room.IntentFeedback:
		if st.step != room.StepFeedback {
			return wrongStep()
		}
		if in.Rating < 0 || in.Rating > 5 {
			return c.refuse(in, room.ErrInvalid, "rating must be 1 to 5, or 0 to skip, not %d", in.Rating)
		}
		c.closeSession(in.Rating, false)
		return nil
	}
	return c.refuse(in, room.ErrInvalid, "unknown intent %q", in.Kind)
}

func isPINStep(s room.Step) bool {
	return s == room.StepPIN || s == room.StepEndPIN || s == room.StepMaintenancePIN
}

func (c *Core) locked() bool {
	return !c.st.lockedUntil.IsZero() && c.now().Before(c.st.lockedUntil)
}

func (c *Core) openPINPad() {
	c.st.digits = c.st.digits[:0]
	c.st.pinErr = ""
	c.arm(timerStep, c.cfg.Flow.PINTimeout.Duration)
}

// closePINPad clears the pad and abandons a PIN check in flight.
func (c *Core) closePINPad() {
	st := &c.st
	st.digits = st.digits[:0]
	st.pinErr = ""
	if st.verifying {
		st.verifying = false
		st.pinGen++
		st.pinReply <- &room.RefusedError{Kind: room.IntentPINOK, Step: st.step, Reason: "the PIN pad was closed", Err: room.ErrWrongStep}
		st.pinReply = nil
	}
	c.stopTimer(timerStep)
}

// verifyPIN checks the typed PIN off the core's goroutine (argon2id takes a
// noticeable time on a small board, and a withdrawal must not wait for it).
func (c *Core) verifyPIN(reply chan error) {
	st := &c.st
	typed := string(st.digits)
	st.digits = st.digits[:0]
	st.verifying = true
	st.pinGen++
	st.pinReply = reply
	gen := st.pinGen
	counselors, verify := c.cfg.Counselors, c.verify
	// Technicians' PINs open the maintenance screen only: never a
	// session, never the end of one.
	var technicians []Technician
	if st.step == room.StepMaintenancePIN {
		technicians = c.cfg.Technicians
	}
	go func() {
		who, tech := "", ""
		for _, cn := range counselors {
			if verify(cn.PINHash, typed) {
				who = cn.ID
				break
			}
		}
		for _, tn := range technicians {
			if who != "" {
				break
			}
			if verify(tn.PINHash, typed) {
				tech = tn.ID
				break
			}
		}
		done := make(chan struct{})
		c.post(pinEvent{gen: gen, counselor: who, technician: tech, done: done}, done)
	}()
}

func (c *Core) pinResult(counselor, technician string) {
	st := &c.st
	reply := st.pinReply
	st.verifying, st.pinReply = false, nil
	if counselor == "" && technician == "" {
		st.wrong++
		log := c.slog().Warn().Int("attempt", st.wrong).Str("step", string(st.step))
		if st.wrong >= c.cfg.Flow.LockoutAttempts {
			st.wrong = 0
			st.lockedUntil = c.now().Add(c.cfg.Flow.LockoutFor.Duration)
			st.pinErr = "Too many wrong PINs. The PIN pad is locked for a while."
			c.arm(timerLockout, c.cfg.Flow.LockoutFor.Duration)
			log.Msg("wrong PIN: PIN pad locked")
			reply <- &room.RefusedError{Kind: room.IntentPINOK, Step: st.step, Reason: "wrong PIN; too many attempts, locked until " + st.lockedUntil.Format(time.TimeOnly), Err: room.ErrLocked}
		} else {
			st.pinErr = "Wrong PIN."
			log.Msg("wrong PIN")
			reply <- &room.RefusedError{Kind: room.IntentPINOK, Step: st.step, Reason: "wrong PIN", Err: room.ErrWrongPIN}
		}
		c.touch()
		return
	}
	st.wrong = 0
	st.pinErr = ""
	c.stopTimer(timerStep)
	switch st.step {
	case room.StepPIN:
		st.counselor = counselor
		st.overridden, st.override = false, ""
		st.manual = make([]room.ManualItem, len(c.cfg.Flow.ManualChecks))
		for i, t := range c.cfg.Flow.ManualChecks {
			st.manual[i] = room.ManualItem{ID: fmt.Sprintf("manual-%d", i+1), Text: t}
		}
		st.step = room.StepChecklist
		c.arm(timerStep, c.cfg.Flow.ConsentTimeout.Duration)
		c.log.Info().Str("counselor", counselor).Msg("counselor PIN accepted: pre-session checklist")
		c.checker.RunChecks("pre-session")
	case room.StepMaintenancePIN:
		st.step = room.StepMaintenance
		c.arm(timerStep, c.cfg.Flow.ConsentTimeout.Duration)
		if technician != "" {
			st.technician = technician
			c.log.Info().Str("technician", technician).Msg("maintenance opened by a technician")
		} else {
			st.counselor = counselor
			c.log.Info().Str("counselor", counselor).Msg("maintenance opened")
		}
		c.refreshHeld()
		c.checker.RunChecks("maintenance")
	case room.StepEndPIN:
		s := st.sess
		if s.recorded && !s.stopped && !s.selfStopped {
			if err := c.rec.Stop(s.id, false); err != nil {
				c.slog().Error().Err(err).Msg("stop recording at session end")
			}
			s.stopped = true
		}
		c.stopTimer(timerMaxWarn)
		c.stopTimer(timerMaxLen)
		st.step = room.StepFeedback
		c.arm(timerStep, c.cfg.Flow.ConsentTimeout.Duration)
		c.slog().Info().Str("counselor", counselor).Msg("session ended by counselor: feedback")
	}
	c.persist() // the end is on disk before the screen hears of it
	reply <- nil
}

func (c *Core) failingRequired() []string {
	var out []string
	for _, r := range c.st.checks {
		if r.Required && r.State == room.CheckAbnormal {
			out = append(out, r.Name)
		}
	}
	return out
}

func (c *Core) openSession(failing []string) {
	st := &c.st
	now := c.now()
	st.sess = &sessionState{
		id:         c.newID(now),
		started:    now,
		counselor:  st.counselor,
		overridden: st.overridden,
		override:   st.override,
	}
	st.step = room.StepParticipants
	st.recSt = room.RecorderStatus{State: room.RecorderIdle}
	c.observeSession(true)
	c.arm(timerStep, c.cfg.Flow.ConsentTimeout.Duration)
	l := c.slog().Info().Str("counselor", st.counselor)
	if st.overridden {
		// The reason is a code from a fixed list (never free text).
		l = l.Bool("override", true).Str("override_reason", st.override).Strs("failing_checks", failing)
	}
	l.Msg("session opened")
}

// enterSession moves to the in-session screen (recorded or not).
func (c *Core) enterSession() {
	c.stopTimer(timerStep)
	c.st.step = room.StepInSession
}

// sessionInfo is what the recorder is told of a consented session.
func (c *Core) sessionInfo(s *sessionState) room.SessionInfo {
	first := s.decisions[0]
	return room.SessionInfo{
		ID:          s.id,
		CounselorID: s.counselor,
		Started:     s.started,
		MaxLength:   c.cfg.MaxLength,
		Consent: room.ConsentRecord{
			AgreementID:   c.cfg.Agreement.ID,
			AgreementText: c.cfg.Agreement.Texts[first.Language],
			TextSHA256:    first.TextSHA256,
			Language:      first.Language,
			Decisions:     slices.Clone(s.decisions),
			Resumed:       slices.Clone(s.resumptions),
		},
		ChecksOverridden: s.overridden,
		OverrideReason:   s.override,
	}
}

func (c *Core) startRecording() {
	s := c.st.sess
	info := c.sessionInfo(s)
	// Forget any report from before this Start: Recording must follow what
	// the recorder says from now on.
	c.st.recSt = room.RecorderStatus{SessionID: s.id, State: room.RecorderStarting}
	if err := c.rec.Start(info); err != nil {
		c.st.recSt = room.RecorderStatus{State: room.RecorderIdle}
		s.startFailed = true
		s.message, s.notice = msgRecorderFailed, room.NoticeRecorderFailed
		s.alerts = append(s.alerts, room.Alert{Code: room.AlertRecorderFailed, Message: "The recorder could not start; the session is not recorded.", Since: c.now()})
		c.slog().Error().Err(err).Msg("start recording")
		return
	}
	s.recorded = true
	s.recStarted = c.now()
	c.slog().Info().Int("participants", s.participants).Msg("all participants consented: recording started")
	if c.cfg.MaxLength > 0 {
		if w := c.cfg.MaxLength - c.cfg.Flow.MaxLengthWarn.Duration; w > 0 && c.cfg.Flow.MaxLengthWarn.Duration > 0 {
			c.arm(timerMaxWarn, w)
		}
		c.arm(timerMaxLen, c.cfg.MaxLength)
	}
}

func (c *Core) closeSession(rating int, abandoned bool) {
	st := &c.st
	s := st.sess
	if s.recorded && !s.stopped && !s.selfStopped {
		// Not reachable through the flow (end stops first); kept so that
		// no path can leave a capture running for a closed session.
		if err := c.rec.Stop(s.id, false); err != nil {
			c.slog().Error().Err(err).Msg("stop recording at close")
		}
		s.stopped = true
	}
	c.slog().Info().Bool("recorded", s.recorded).Bool("withdrawn", s.withdrawn).Int("feedback", rating).Msg("session closed")
	c.uploader.SessionEnded(room.Summary{
		ID: s.id, Started: s.started, Ended: c.now(), Participants: s.participants,
		WantRecording: s.want, Declined: s.declined, Recorded: s.recorded, Withdrawn: s.withdrawn,
		Abandoned: abandoned, Feedback: rating, Resumed: len(s.resumptions),
	})
	c.observeSession(false)
	c.toDoor()
	// During the session the microphone check only deferred or followed
	// the recording: judge the room again now that it is free.
	c.checker.RunChecks("after-session")
}

// observeSession tells a recorder that wants to know that the session
// opened or closed.
func (c *Core) observeSession(open bool) {
	o, ok := c.rec.(SessionObserver)
	if !ok || c.st.sess == nil {
		return
	}
	if open {
		o.SessionOpened(c.st.sess.id)
	} else {
		o.SessionClosed(c.st.sess.id)
	}
}

// toDoor leaves whatever flow is open, closing no session (closeSession
// does that first).
func (c *Core) toDoor() {
	st := &c.st
	c.closePINPad()
	for k := range st.timers {
		if timerKind(k) != timerLockout {
			c.stopTimer(timerKind(k))
		}
	}
	st.step = room.StepDoor
	st.sess = nil
	st.manual = nil
	st.counselor = ""
	st.technician = ""
	st.overridden, st.override = false, ""
	st.recSt = room.RecorderStatus{State: room.RecorderIdle}
	st.lang = c.cfg.Room.Languages[0]
}

// touch restarts the abandoned-screen timer after input on a timed screen.
func (c *Core) touch() {
	switch c.st.step {
	case room.StepPIN, room.StepMaintenancePIN, room.StepEndPIN:
		c.arm(timerStep, c.cfg.Flow.PINTimeout.Duration)
	case room.StepChecklist, room.StepParticipants, room.StepRecordChoice, room.StepConsent, room.StepMaintenance, room.StepFeedback:
		c.arm(timerStep, c.cfg.Flow.ConsentTimeout.Duration)
	}
}

func (c *Core) timeout(k timerKind) {
	st := &c.st
	switch k {
	case timerLockout:
		st.lockedUntil = time.Time{}
		st.pinErr = ""
	case timerStep:
		switch st.step {
		case room.StepPIN, room.StepMaintenancePIN, room.StepChecklist, room.StepMaintenance:
			c.log.Info().Str("step", string(st.step)).Msg("screen abandoned: back to the door")
			c.toDoor()
		case room.StepParticipants, room.StepRecordChoice, room.StepConsent:
			c.slog().Info().Str("step", string(st.step)).Msg("session abandoned before it began; nothing recorded")
			c.closeSession(0, true)
		case room.StepEndPIN:
			c.closePINPad()
			st.step = room.StepInSession
		case room.StepFeedback:
			c.closeSession(0, false)
		}
	case timerMaxWarn:
		if s := st.sess; s != nil && s.recorded && !s.stopped {
			s.alerts = append(s.alerts, room.Alert{Code: room.AlertMaxLengthNear, Message: "The recording will stop soon: maximum session length.", Since: c.now()})
			c.slog().Info().Msg("maximum session length near")
		}
	case timerMaxLen:
		if s := st.sess; s != nil && s.recorded && !s.stopped && !s.selfStopped {
			if err := c.rec.Stop(s.id, false); err != nil {
				c.slog().Error().Err(err).Msg("stop recording at maximum length")
			}
			s.stopped = true
			s.alerts = slices.DeleteFunc(s.alerts, func(a room.Alert) bool { return a.Code == room.AlertMaxLengthNear })
			s.alerts = append(s.alerts, room.Alert{Code: room.AlertMaxLengthReached, Message: "Recording stopped: maximum session length reached.", Since: c.now()})
			s.message, s.notice = msgMaxLength, room.NoticeMaxLength
			c.slog().Warn().Msg("maximum session length reached: recording stopped")
		}
	}
}

func (c *Core) arm(k timerKind, d time.Duration) {
	c.stopTimer(k)
	c.st.gens[k]++
	gen := c.st.gens[k]
	c.st.timers[k] = c.clock.AfterFunc(d, func() {
		done := make(chan struct{})
		c.post(timerEvent{kind: k, gen: gen, done: done}, done)
	})
}

func (c *Core) stopTimer(k timerKind) {
	if t := c.st.timers[k]; t != nil {
		t.Stop()
		c.st.timers[k] = nil
	}
	c.st.gens[k]++ // a callback already on its way is ignored
}

// recording is the door's "Recording": the recorder itself reports that it
// is capturing this session, and nothing has stopped it since.
func (c *Core) recording() bool {
	s := c.st.sess
	return s != nil && s.recorded && !s.stopped && !s.withdrawn &&
		c.st.recSt.SessionID == s.id && c.st.recSt.State == room.RecorderRecording
}

func (c *Core) door() room.Door {
	switch {
	case c.st.sess != nil:
		return room.DoorInSession
	case len(c.failingRequired()) > 0:
		return room.DoorOutOfService
	}
	return room.DoorFree
}

// build makes a snapshot that shares no mutable memory with the state.
func (c *Core) build() room.Snapshot {
	st := &c.st
	s := room.Snapshot{
		RoomID:      c.cfg.Room.ID,
		RoomName:    c.cfg.Room.Name,
		Door:        c.door(),
		Recording:   c.recording(),
		Recorder:    st.recSt.State,
		Step:        st.step,
		Language:    st.lang,
		Languages:   slices.Clone(c.cfg.Room.Languages),
		PINDigits:   len(st.digits),
		PINChecking: st.verifying,
		PINError:    st.pinErr,
		Checks:      slices.Clone(st.checks),
		Faults:      slices.Clone(st.faults),
		ManualItems: slices.Clone(st.manual),
		Blocked:     len(c.failingRequired()) > 0,
		Agreement:   room.Agreement{ID: c.cfg.Agreement.ID, Texts: c.cfg.Agreement.Texts},
		MaxLength:   c.cfg.MaxLength,
		Level:       st.recSt.Level,
		Alerts:      slices.Clone(st.recSt.Alerts),
	}
	if s.Recorder == "" {
		s.Recorder = room.RecorderIdle
	}
	if c.locked() {
		s.LockedUntil = st.lockedUntil
	}
	if st.overridden {
		s.OverrideNote = "Required checks overridden by the counselor."
	}
	if ss := st.sess; ss != nil {
		s.SessionID = ss.id
		s.SessionStarted = ss.started
		s.Participants = ss.participants
		s.WantRecording = ss.want
		s.Recorded = ss.recorded
		s.ConsentTurn = ss.turn
		if !ss.declined {
			// After a decline the decisions are not published, so the
			// room cannot tell who declined.
			s.Decisions = slices.Clone(ss.decisions)
		}
		s.Withdrawn = ss.withdrawn
		s.Alerts = append(s.Alerts, ss.alerts...)
		s.Message = ss.message
		s.Notice = ss.notice
		if ss.notice == room.NoticeRecordingResumed {
			s.ResumedGap = ss.resumedGap
		}
	}
	if len(s.Alerts) == 0 {
		s.Alerts = nil
	}
	c.buildMaintenance(&s)
	return s
}

// publish stores and fans out a new snapshot if anything changed, and tells
// the uploader about door and recording changes.
// checkStates is a comparable digest of the checks' names and states.
func checkStates(cs []room.CheckResult) string {
	var b strings.Builder
	for _, r := range cs {
		b.WriteString(r.Name)
		b.WriteByte('=')
		b.WriteString(string(r.State))
		b.WriteByte(';')
	}
	return b.String()
}

func (c *Core) publish() {
	s := c.build()
	prev := c.st.lastPublished
	s.Seq, s.At = prev.Seq, prev.At
	changed := !reflect.DeepEqual(s, prev)
	if changed {
		s.Seq = prev.Seq + 1
		s.At = c.now()
		c.st.lastPublished = s
		c.snap.Store(&s)
		c.subMu.Lock()
		for _, ch := range c.subs {
			select { // latest wins
			case <-ch:
			default:
			}
			ch <- s
		}
		c.subMu.Unlock()
	}
	// The uploader hears of what status.json shows: the door, recording,
	// and each check's state (so the fleet view sees a check turn abnormal
	// while the room stays free), not of every level update.
	checks := checkStates(s.Checks) + maintDigest(s)
	if !c.st.told || s.Door != c.st.toldDoor || s.Recording != c.st.toldRecording || checks != c.st.toldChecks {
		c.st.told, c.st.toldDoor, c.st.toldRecording, c.st.toldChecks = true, s.Door, s.Recording, checks
		c.uploader.StatusChanged(c.st.lastPublished)
	}
}
