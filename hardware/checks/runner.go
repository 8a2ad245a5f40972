package checks

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"roomkiosk/hardware"
	"roomkiosk/internal/room"
)

// Reasons a round runs (free text is allowed too; these are the usual ones).
const (
	ReasonBoot     = "boot"
	ReasonInterval = "interval"
	ReasonSession  = "session" // before a session starts
	ReasonDemand   = "demand"  // the maintenance screen or `roomkiosk check`
)

// Options wires a Runner.
type Options struct {
	Maintenance *Log                     // the maintenance log (not the operational one); nil = none
	Logger      zerolog.Logger           // operational log (journald)
	OnResults   func([]room.CheckResult) // each round's results; the daemon wires core.ChecksUpdated
	Now         func() time.Time         // clock for result times; nil = time.Now
}

// Runner runs checks in rounds: at boot, every checks.interval, before each
// session and on demand. It implements session.Checker. Rounds never overlap:
// a request during a round queues one more round (requests coalesce), so a
// session's request always gets results measured after it was made.
type Runner struct {
	cfg      Config
	checks   []Check
	required map[string]bool
	opt      Options

	round sync.Mutex // held while a round runs

	mu       sync.Mutex
	queued   []string // reasons waiting for the next round
	last     []room.CheckResult
	prev     map[string]room.CheckState
	inflight map[string]time.Time // checks still running from an earlier round (hung)
	// What the maintenance log's run lines already say: each check's
	// threshold as last logged and the UTC day of the last run line, so a
	// run line repeats a threshold only when it changed or a new day file
	// begins (a day file read alone names every threshold).
	loggedTh  map[string]string
	loggedDay string
	stopping  bool // Wait was called: no new rounds
	wg        sync.WaitGroup
}

// NewRunner returns a runner for list. Required comes from cfg.Required.
func NewRunner(cfg Config, list []Check, opt Options) *Runner {
	if opt.Now == nil {
		opt.Now = time.Now
	}
	req := map[string]bool{}
	for _, n := range cfg.Required {
		req[n] = true
	}
	return &Runner{
		cfg: cfg, checks: slices.Clone(list), required: req, opt: opt,
		prev: map[string]room.CheckState{}, inflight: map[string]time.Time{}, loggedTh: map[string]string{},
	}
}

// Names lists the runner's checks in order.
func (r *Runner) Names() []string {
	out := make([]string, len(r.checks))
	for i, c := range r.checks {
		out[i] = c.Name()
	}
	return out
}

// UnknownRequired returns required check names that no check provides: a
// typo in checks.required, or a check whose package is not wired in.
func (r *Runner) UnknownRequired() []string {
	have := map[string]bool{}
	for _, c := range r.checks {
		have[c.Name()] = true
	}
	var out []string
	for _, n := range r.cfg.Required {
		if !have[n] {
			out = append(out, n)
		}
	}
	return out
}

// Start runs a boot round now and one every checks.interval until ctx ends.
// It returns at once.
func (r *Runner) Start(ctx context.Context) {
	r.RunChecks(ReasonBoot)
	if !r.track() {
		return
	}
	go func() {
		defer r.wg.Done()
		t := time.NewTicker(r.cfg.Interval.Duration)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				r.RunChecks(ReasonInterval)
			}
		}
	}()
}

// track adds a goroutine to wait for, unless Wait has begun.
func (r *Runner) track() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stopping {
		return false
	}
	r.wg.Add(1)
	return true
}

// Wait waits for the interval loop (after its ctx ended) and any queued
// rounds; RunChecks does nothing after it. A check that hangs past its
// timeout is not waited for.
func (r *Runner) Wait() {
	r.mu.Lock()
	r.stopping = true
	r.mu.Unlock()
	r.wg.Wait()
}

// RunChecks asks for a round and returns at once; results arrive through
// Options.OnResults.
func (r *Runner) RunChecks(reason string) {
	r.mu.Lock()
	if r.stopping {
		r.mu.Unlock()
		return
	}
	first := len(r.queued) == 0
	if !slices.Contains(r.queued, reason) {
		r.queued = append(r.queued, reason)
	}
	if first {
		// Added under mu, so never after Wait has begun.
		r.wg.Add(1)
	}
	r.mu.Unlock()
	if !first {
		return // a goroutine is already waiting to run the queued round
	}
	go func() {
		defer r.wg.Done()
		r.round.Lock()
		defer r.round.Unlock()
		r.mu.Lock()
		reason := strings.Join(r.queued, "+")
		r.queued = nil
		r.mu.Unlock()
		r.runRound(context.Background(), reason)
	}()
}

// Run runs one round now and returns its results (after any round already
// running). `roomkiosk check` uses it.
func (r *Runner) Run(ctx context.Context, reason string) []room.CheckResult {
	r.round.Lock()
	defer r.round.Unlock()
	return r.runRound(ctx, reason)
}

// Last returns the latest round's results.
func (r *Runner) Last() []room.CheckResult {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.last)
}

func (r *Runner) runRound(ctx context.Context, reason string) []room.CheckResult {
	results := make([]room.CheckResult, len(r.checks))
	var wg sync.WaitGroup
	for i, c := range r.checks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = r.runOne(ctx, c)
		}()
	}
	wg.Wait()

	r.mu.Lock()
	r.last = slices.Clone(results)
	var changes []Entry
	for _, res := range results {
		from, seen := r.prev[res.Name]
		r.prev[res.Name] = res.State
		if seen && from == res.State || !seen && res.State == room.CheckGood {
			continue
		}
		kind := KindChange
		switch {
		case res.State == room.CheckGood:
			kind = KindRecovery
		case !seen || from == room.CheckGood:
			kind = KindFault
		}
		changes = append(changes, Entry{
			At: res.At, Kind: kind, Reason: reason, Check: res.Name, State: res.State, From: from,
			Value: res.Value, Threshold: res.Threshold, Hint: res.Hint, Required: res.Required,
		})
	}
	r.mu.Unlock()

	lg := r.opt.Logger
	for _, e := range changes {
		ev := lg.Info()
		if e.Kind == KindFault {
			ev = lg.Warn()
		}
		ev.Str("check", e.Check).Str("state", string(e.State)).Str("from", string(e.From)).
			Str("value", e.Value).Bool("required", e.Required).Msg("check " + string(e.Kind))
	}
	lg.Debug().Str("reason", reason).Int("checks", len(results)).Str("blocking", Names(Blocking(results))).Msg("checks ran")
	if r.opt.Maintenance != nil {
		at := r.opt.Now()
		r.mu.Lock()
		run := r.compactLocked(at, results)
		r.mu.Unlock()
		entries := append([]Entry{{At: at, Kind: KindRun, Reason: reason, Results: run}}, changes...)
		for i, e := range entries {
			if err := r.opt.Maintenance.Record(e); err != nil {
				lg.Error().Err(err).Msg("maintenance log")
				if i == 0 {
					// The run line is not on disk: the next one says
					// every threshold again.
					r.mu.Lock()
					r.loggedDay = ""
					r.mu.Unlock()
				}
				break
			}
		}
	}
	if r.opt.OnResults != nil {
		r.opt.OnResults(slices.Clone(results))
	}
	return results
}

// compactLocked shortens a run entry's results for the log: hints are
// dropped (a run is logged every few minutes, hints never change between
// runs, and each fault entry carries its own), and a threshold is kept only
// where it differs from the one last logged for that check, or on the
// first run line of a UTC day (of a day file, as the log names its files),
// so the plots can draw the threshold in force at every point from the log
// alone, a day read alone included. r.mu must be held.
func (r *Runner) compactLocked(at time.Time, results []room.CheckResult) []room.CheckResult {
	day := at.UTC().Format(time.DateOnly)
	newDay := day != r.loggedDay
	r.loggedDay = day
	out := slices.Clone(results)
	for i := range out {
		out[i].Hint = ""
		th, logged := r.loggedTh[out[i].Name]
		r.loggedTh[out[i].Name] = out[i].Threshold
		if logged && !newDay && th == out[i].Threshold {
			out[i].Threshold = ""
		}
	}
	return out
}

// runOne runs c with the timeout. A check still running from an earlier
// round is not started again: it reads "unknown" until it returns.
func (r *Runner) runOne(ctx context.Context, c Check) room.CheckResult {
	name := c.Name()
	finish := func(res room.CheckResult) room.CheckResult {
		res.Name = name
		res.Required = r.required[name]
		if res.State == "" {
			res.State = room.CheckUnknown
		}
		if res.At.IsZero() {
			res.At = r.opt.Now()
		}
		return res
	}
	hangHint := "The " + strings.ReplaceAll(name, "_", " ") + " check is not answering: restart the kiosk if it persists, and report it to maintenance."

	r.mu.Lock()
	if since, busy := r.inflight[name]; busy {
		r.mu.Unlock()
		return finish(Unknown(name, fmt.Errorf("still not answering since %s", since.UTC().Format(time.TimeOnly)), "", hangHint))
	}
	r.inflight[name] = r.opt.Now()
	r.mu.Unlock()

	cctx, cancel := context.WithTimeout(ctx, r.cfg.Timeout.Duration)
	defer cancel()
	done := make(chan room.CheckResult, 1)
	go func() {
		var res room.CheckResult
		func() {
			defer func() {
				if p := recover(); p != nil {
					r.opt.Logger.Error().Str("check", name).Interface("panic", p).Msg("check crashed")
					res = Unknown(name, fmt.Errorf("check crashed: %v", p), "", hangHint)
				}
			}()
			res = c.Run(cctx)
		}()
		// No longer in flight before answering: the next round may start
		// as soon as this one has its result.
		r.mu.Lock()
		delete(r.inflight, name)
		r.mu.Unlock()
		done <- res
	}()
	select {
	case res := <-done:
		return finish(res)
	case <-cctx.Done():
		return finish(Unknown(name, fmt.Errorf("no answer within %v", r.cfg.Timeout.Duration), "", hangHint))
	}
}

// RecordOverride logs that the counselor started a session despite the
// required checks now blocking, with the reason they chose: a code from
// room.OverrideReasons (the core refuses anything else), never free text, as
// the log is uploaded in the clear.
func (r *Runner) RecordOverride(sessionID, counselorID, reason string) error {
	if r.opt.Maintenance == nil {
		return nil
	}
	return r.opt.Maintenance.Record(Entry{
		At: r.opt.Now(), Kind: KindOverride, Session: sessionID, Counselor: counselorID,
		Note: reason, Results: Blocking(r.Last()),
	})
}

// RunOnDoorChange requests a round ("door") on every debounced door edge
// until ctx ends, so the door check (and Out of service) follows the door
// within a second instead of at the next interval. It returns at once.
func (r *Runner) RunOnDoorChange(ctx context.Context, door interface {
	Watch(context.Context) <-chan hardware.DoorEdge
}) {
	edges := door.Watch(ctx)
	if !r.track() {
		return
	}
	go func() {
		defer r.wg.Done()
		for range edges {
			r.RunChecks("door")
		}
	}()
}
