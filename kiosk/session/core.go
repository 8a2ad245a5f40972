package session

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
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
	Consent    ConsentConfig // family sessions: guardian and assent texts (zero: none)
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
	msgNotRecordedChoice     = "Not recorded: this session is not being recorded."
	msgNotRecordedDeclined   = "Not recorded: not everyone agreed, so this session is not being recorded."
	msgRecorderFailed        = "Not recorded: the recorder could not start."
	msgWithdrawn             = "Recording stopped: consent was withdrawn. Nothing more is recorded in this session."
	msgMaxLength             = "Recording stopped: the maximum session length was reached."
	msgRecorderStopped       = "Recording stopped by the recorder."
	msgResumed               = "Recording resumed after an interruption."
	msgNotRecordedNoGuardian = "Not recorded: a child cannot be recorded without a parent or guardian present."
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
	// ... of the guardian agreement and of the child's assent.
	guardianHash, assentHash map[string]string
	verify                   func(hash, pin string) bool

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
	if cfg.Consent.MinorAge == 0 {
		cfg.Consent.MinorAge = room.DefaultMinorAge
	}
	if err := cfg.Consent.Validate(cfg.Room.Languages, cfg.Agreement.ID); err != nil {
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
	c.guardianHash, c.assentHash = hashTexts(cfg.Consent.Guardian.Texts), hashTexts(cfg.Consent.Assent.Texts)
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

// apply decides one intent. Only Run's goroutine calls it. Each step's
// intents are decided in that step's file.
func (c *Core) apply(in room.Intent, reply chan error) error {
	switch in.Kind {
	case room.IntentMaintenanceAction, room.IntentReportProblem, room.IntentHeldKeep, room.IntentHeldDelete, room.IntentHeldAsk:
		return c.applyMaintenance(in)
	case room.IntentLanguage:
		return c.applyLanguage(in)
	case room.IntentStart, room.IntentMaintenance:
		return c.applyOpenPINPad(in)
	case room.IntentPINDigit, room.IntentPINBack, room.IntentPINOK:
		return c.applyPIN(in, reply)
	case room.IntentCancel:
		return c.applyCancel(in)
	case room.IntentCheckToggle:
		return c.applyCheckToggle(in)
	case room.IntentCheckContinue, room.IntentCheckOverride:
		return c.applyCheckContinue(in)
	case room.IntentParticipants:
		return c.applyParticipants(in)
	case room.IntentRecord:
		return c.applyRecord(in)
	case room.IntentConsent:
		return c.applyConsent(in)
	case room.IntentWithdraw:
		return c.applyWithdraw(in)
	case room.IntentWithdrawKeep, room.IntentWithdrawDelete:
		return c.applyWithdrawChoice(in)
	case room.IntentEnd:
		return c.applyEnd(in)
	case room.IntentFeedback:
		return c.applyFeedback(in)
	}
	return c.refuse(in, room.ErrInvalid, "unknown intent %q", in.Kind)
}

// wrongStep refuses an intent the current screen does not take.
func (c *Core) wrongStep(in room.Intent) error {
	return c.refuse(in, room.ErrWrongStep, "not possible on the %s screen", c.st.step)
}
