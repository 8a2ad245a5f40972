package bookings

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/rs/zerolog"

	"roomkiosk/internal/durable"
	"roomkiosk/internal/room"
)

// CheckName is the advisory check that says whether the feed is current.
const CheckName = "bookings"

// horizon is how far ahead the door looks for the next booking.
const horizon = 8 * 24 * time.Hour

// Feed keeps the room's calendar: the last good copy (on disk too) and
// whether the last fetch worked.
type Feed struct {
	cfg      Config
	loc      *time.Location
	log      zerolog.Logger
	client   *http.Client
	now      func() time.Time
	onChange func()
	noCopy   bool
	onHealth func()

	mu      sync.Mutex
	cal     *Calendar
	asOf    time.Time // when cal was fetched
	lastErr error     // of the last fetch; nil when it worked
	tried   bool      // a fetch was attempted
	etag    string
	lastMod string
	gen     uint64     // bumped at every change of cal or lastErr
	exp     *expansion // of cal, for the door's window; nil: not yet
	faults  string     // exp's faults as last reported (health)
	memo    memo
	smemo   sessionMemo
	// sessStart: the start of the last session whose booking was asked
	// (SessionBooking); a fetch works out its booking in a new calendar.
	sessStart time.Time

	// expMu serialises expansions (done without mu, so that fetching, the
	// check and the status endpoint never wait on one).
	expMu      sync.Mutex
	expandHook func() // tests: called during an expansion
}

// sessionMemo is the booking of the session started at start, in cal.
// Kept per calendar (not per fetch): a new calendar's is worked out by the
// fetch that brought it (Refresh), so the door's snapshots never expand.
type sessionMemo struct {
	cal   *Calendar
	start time.Time
	slot  *room.Slot
}

type memo struct {
	gen        uint64
	exp        *expansion
	minute     time.Time // the displayed minute it was made for
	from, till time.Time // the view holds for now in [from, till)
	view       room.Bookings
}

// Option changes a Feed.
type Option func(*Feed)

// OnHealthChange sets a function called (from the fetching goroutine)
// when the feed starts or stops failing, or fails differently: the daemon
// runs the checks then, so the bookings check (and the maintenance log)
// follow the feed within one fetch rather than at the next round.
func OnHealthChange(f func()) Option { return func(fd *Feed) { fd.onHealth = f } }

// WithoutCopy leaves the copy on disk alone (`roomkiosk check`, which may
// run as another user beside the daemon that owns it).
func WithoutCopy() Option { return func(f *Feed) { f.noCopy = true } }

// WithClock sets the clock (tests).
func WithClock(now func() time.Time) Option { return func(f *Feed) { f.now = now } }

// New prepares the feed and loads the copy kept on disk, if any, so the
// door shows bookings from the first snapshot on. onChange is called (from
// the fetching goroutine) whenever what the door shows may have changed.
func New(cfg Config, log zerolog.Logger, onChange func(), opts ...Option) (*Feed, error) {
	f := &Feed{cfg: cfg, loc: cfg.location(), log: log.With().Str("component", "bookings").Logger(), now: time.Now, onChange: onChange}
	for _, o := range opts {
		o(f)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if cfg.CAFile != "" {
		pem, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return nil, fmt.Errorf("bookings.ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("bookings.ca_file: %s holds no PEM certificate", cfg.CAFile)
		}
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	f.client = &http.Client{Transport: tr, Timeout: 30 * time.Second}
	f.loadCopy()
	return f, nil
}

// loadCopy reads the copy kept on disk. A copy beyond the bounds (or not a
// calendar) is set aside, renamed to <cache_file>.rejected, so that no
// restart reads it again: a feed that once got onto the disk cannot make
// the daemon crash-loop.
func (f *Feed) loadCopy() {
	path := f.cfg.CacheFile
	fi, err := os.Stat(path)
	if err != nil {
		return
	}
	var cal *Calendar
	if fi.Size() > maxFeed {
		err = fmt.Errorf("%w: larger than %d MiB", ErrRefused, maxFeed>>20)
	} else {
		var b []byte
		if b, err = readBounded(path, maxFeed); err == nil {
			cal, err = Parse(b, f.loc)
		}
	}
	if err == nil {
		f.cal, f.asOf = cal, fi.ModTime()
		return
	}
	if f.noCopy {
		f.log.Warn().Err(err).Msg("the bookings copy on disk is not readable")
		return
	}
	if rerr := os.Rename(path, path+".rejected"); rerr != nil {
		f.log.Warn().Err(err).AnErr("set_aside", rerr).Msg("the bookings copy on disk is not readable, and cannot be set aside")
		return
	}
	f.log.Warn().Err(err).Str("set_aside", path+".rejected").Msg("the bookings copy on disk is not readable; set aside, waiting for the feed")
}

// readBounded reads at most n bytes of a file (and fails beyond).
func readBounded(path string, n int64) ([]byte, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	b, err := io.ReadAll(io.LimitReader(fh, n+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > n {
		return nil, fmt.Errorf("%w: larger than %d MiB", ErrRefused, n>>20)
	}
	return b, nil
}

// Run fetches the feed now and every bookings.refresh until ctx ends.
func (f *Feed) Run(ctx context.Context) error {
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		_ = f.Refresh(ctx)
		t.Reset(f.cfg.Refresh.Duration)
	}
}

// Refresh fetches the feed once. A failure keeps the last good copy; it is
// reported by the bookings check and returned.
func (f *Feed) Refresh(ctx context.Context) error {
	b, notModified, err := f.fetch(ctx)
	var cal *Calendar
	if err == nil && !notModified {
		if cal, err = Parse(b, f.loc); err != nil {
			if errors.Is(err, ErrRefused) {
				err = &FeedError{Short: "refused", Detail: "refused (" + strings.TrimPrefix(err.Error(), ErrRefused.Error()+": ") + ")", Err: err}
			} else {
				err = &FeedError{Short: "malformed", Detail: "malformed", Err: err}
			}
		}
	}
	now := f.now()
	var x *expansion
	var sm sessionMemo
	if cal != nil {
		// Expanded here, without the lock, so that the door's next
		// snapshot finds it ready (and the open session's booking).
		x = f.expandCal(cal, now)
		f.mu.Lock()
		start := f.sessStart
		f.mu.Unlock()
		if !start.IsZero() {
			sm = sessionMemo{cal: cal, start: start, slot: f.sessionSlot(cal, x, start)}
		}
	}
	f.mu.Lock()
	was, wasFaults := f.lastErr, f.faults
	f.tried = true
	f.lastErr = err
	if err == nil {
		f.asOf = now
		if cal != nil {
			f.cal, f.exp, f.smemo = cal, x, sm
			f.faults = faultKey(x)
		}
	}
	faults := f.faults
	f.gen++
	f.mu.Unlock()
	switch {
	case err != nil && (was == nil || was.Error() != err.Error()):
		f.log.Warn().Err(err).Msg("bookings feed")
	case err == nil && was != nil:
		f.log.Info().Msg("bookings feed back")
	}
	if faults != wasFaults && x != nil && x.refused > 0 {
		// Positions only: an event's title never reaches the journal.
		f.log.Warn().Int("events", x.refused).Strs("faults", x.faults).Msg("bookings feed: events refused or clamped")
	}
	if f.noCopy {
	} else if err == nil && cal != nil {
		if werr := writeCopy(f.cfg.CacheFile, b, now); werr != nil {
			f.log.Warn().Err(werr).Msg("keep the bookings copy on disk")
		}
	} else if err == nil {
		_ = os.Chtimes(f.cfg.CacheFile, now, now)
	}
	if f.onChange != nil {
		f.onChange()
	}
	if f.onHealth != nil && (health(was) != health(err) || wasFaults != faults) {
		f.onHealth()
	}
	return err
}

// fetch reads the feed: a file, or an https GET (conditional on the last
// ETag/Last-Modified, so an unchanged calendar costs a 304).
func (f *Feed) fetch(ctx context.Context) (b []byte, notModified bool, err error) {
	if !strings.Contains(f.cfg.Feed, "://") {
		b, err := os.ReadFile(f.cfg.Feed)
		if err != nil {
			return nil, false, &FeedError{Short: "unreadable", Detail: "file unreadable", Err: err}
		}
		return b, false, nil
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, f.cfg.Feed, nil)
	if err != nil {
		return nil, false, fmt.Errorf("feed URL: %w", err)
	}
	f.mu.Lock()
	if f.cal != nil {
		if f.etag != "" {
			req.Header.Set("If-None-Match", f.etag)
		}
		if f.lastMod != "" {
			req.Header.Set("If-Modified-Since", f.lastMod)
		}
	}
	f.mu.Unlock()
	req.Header.Set("Accept", "text/calendar")
	resp, err := f.client.Do(req)
	if err != nil {
		// The URL may hold a secret token (private calendar links do):
		// name the host only.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, false, &FeedError{Short: "unreachable", Detail: "unreachable (" + reason(err) + ")", Err: fmt.Errorf("%s: %w", f.host(), err)}
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotModified:
		return nil, true, nil
	case resp.StatusCode != http.StatusOK:
		return nil, false, &FeedError{Short: fmt.Sprintf("HTTP %d", resp.StatusCode), Detail: "answered " + resp.Status, Err: errors.New(f.host())}
	}
	b, err = io.ReadAll(io.LimitReader(resp.Body, maxFeed+1))
	if err != nil {
		return nil, false, &FeedError{Short: "unreachable", Detail: "download cut (" + reason(err) + ")", Err: fmt.Errorf("%s: %w", f.host(), err)}
	}
	if len(b) > maxFeed {
		return nil, false, &FeedError{Short: "too large", Detail: fmt.Sprintf("larger than %d MB, not a room's calendar", maxFeed>>20), Err: errors.New(f.host())}
	}
	f.mu.Lock()
	f.etag, f.lastMod = resp.Header.Get("ETag"), resp.Header.Get("Last-Modified")
	f.mu.Unlock()
	return b, false, nil
}

func (f *Feed) host() string {
	u, err := url.Parse(f.cfg.Feed)
	if err != nil {
		return "the feed"
	}
	return u.Host
}

// writeCopy keeps the feed on disk (durably: temp file, fsync, rename,
// folder fsync), its mtime the time it was fetched.
func writeCopy(path string, b []byte, at time.Time) error {
	f, err := durable.CreateTemp(path, durable.Options{MkdirPerm: 0o750})
	if err != nil {
		return fmt.Errorf("bookings copy: %w", err)
	}
	defer f.Abort()
	if _, err := f.Write(b); err != nil {
		return fmt.Errorf("bookings copy: %w", err)
	}
	// Before the commit: fsync and rename leave the mtime alone.
	if err := os.Chtimes(f.Name(), at, at); err != nil {
		return fmt.Errorf("bookings copy: %w", err)
	}
	if err := f.Commit(path); err != nil {
		return fmt.Errorf("bookings copy: %w", err)
	}
	return nil
}

// View is what the door shows at now, and until when it holds (zero: until
// the feed changes). A nil view means no calendar is known yet. It is made
// again only when the feed or the displayed minute changes (or a booking
// begins or ends within the minute); the calendar is expanded again only
// when the expansion no longer covers now, and never under the lock.
func (f *Feed) View(now time.Time) (*room.Bookings, time.Time) {
	minute := now.Truncate(time.Minute)
	f.mu.Lock()
	m := f.memo
	if m.gen == f.gen && f.gen != 0 && m.exp == f.exp && m.minute.Equal(minute) &&
		!now.Before(m.from) && (m.till.IsZero() || now.Before(m.till)) {
		f.mu.Unlock()
		v := m.view
		return &v, m.till
	}
	cal, x, gen := f.cal, f.exp, f.gen
	if cal == nil {
		defer f.mu.Unlock()
		if !f.tried {
			return nil, time.Time{}
		}
		v := room.Bookings{Offline: f.lastErr != nil}
		return &v, time.Time{}
	}
	f.mu.Unlock()
	if x == nil || !x.covers(now) {
		x = f.expansion(now)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	v := room.Bookings{AsOf: f.asOf, Offline: f.lastErr != nil}
	var till time.Time
	at := func(t time.Time) {
		if t.After(now) && (till.IsZero() || t.Before(till)) {
			till = t
		}
	}
	for _, s := range x.slots {
		if !s.Start.Before(now.Add(horizon)) {
			break
		}
		s := s
		switch {
		case !s.Start.After(now) && s.End.After(now):
			// In progress: a timed booking wins over an all-day one.
			if v.Current == nil || v.Current.AllDay && !s.AllDay {
				v.Current = &s
			}
			at(s.End)
		case s.Start.After(now) && v.Next == nil:
			v.Next = &s
			at(s.Start)
		}
	}
	at(minute.Add(time.Minute)) // the displayed minute
	if v.Next != nil {
		warnFrom := v.Next.Start.Add(-f.cfg.SessionLength.Duration)
		v.RunsInto = !warnFrom.After(now)
		at(warnFrom)
	}
	if gen == f.gen && x == f.exp {
		f.memo = memo{gen: gen, exp: x, minute: minute, from: now, till: till, view: v}
	}
	return &v, till
}

// window is the window expanded for now: the door's horizon and a day
// more, so that one expansion serves the door for a day.
func window(now time.Time) (from, to time.Time) {
	from = now.Truncate(time.Minute)
	return from, from.Add(horizon + 24*time.Hour)
}

// expandCal expands cal for now, without any lock of f's state.
func (f *Feed) expandCal(cal *Calendar, now time.Time) *expansion {
	f.expMu.Lock()
	defer f.expMu.Unlock()
	if f.expandHook != nil {
		f.expandHook()
	}
	return cal.expand(window(now))
}

// expansion returns an expansion of the current calendar that covers now:
// the one kept, or a new one (made without f.mu, one at a time) kept if
// the calendar did not change meanwhile.
func (f *Feed) expansion(now time.Time) *expansion {
	f.mu.Lock()
	cal, x := f.cal, f.exp
	f.mu.Unlock()
	if x != nil && x.covers(now) {
		return x
	}
	f.expMu.Lock()
	f.mu.Lock()
	// Another caller may have expanded it while this one waited.
	if f.exp != nil && f.exp.covers(now) && f.cal == cal {
		x = f.exp
		f.mu.Unlock()
		f.expMu.Unlock()
		return x
	}
	f.mu.Unlock()
	if f.expandHook != nil {
		f.expandHook()
	}
	x = cal.expand(window(now))
	f.expMu.Unlock()
	f.mu.Lock()
	var notify bool
	if f.cal == cal {
		f.exp = x
		if k := faultKey(x); k != f.faults {
			f.faults, notify = k, true
		}
	}
	f.mu.Unlock()
	if notify && f.onHealth != nil {
		f.onHealth()
	}
	return x
}

// faultKey sums up an expansion's faults, to tell when they change.
func faultKey(x *expansion) string {
	if x == nil || x.refused == 0 {
		return ""
	}
	return fmt.Sprint(x.refused, x.faults)
}

// Check returns the advisory bookings check: abnormal while the feed
// cannot be fetched or parsed, naming the problem and the age of the copy
// the door shows meanwhile. It reads the feed's state; fetching has its own
// interval.
func (f *Feed) Check() interface {
	Name() string
	Run(context.Context) room.CheckResult
} {
	return check{f}
}

type check struct{ f *Feed }

func (check) Name() string { return CheckName }

func (c check) Run(ctx context.Context) room.CheckResult {
	f := c.f
	f.mu.Lock()
	cal, asOf, lastErr, tried := f.cal, f.asOf, f.lastErr, f.tried
	f.mu.Unlock()
	now := f.now()
	var x *expansion
	if cal != nil {
		x = f.expansion(now)
	}
	threshold := "fetched every " + f.cfg.Refresh.Duration.String()
	res := room.CheckResult{Name: CheckName, Threshold: threshold}
	switch {
	case lastErr != nil:
		// The checklist row is short: the value says what and how old the
		// copy is, the hint names the problem; the journal has it all.
		res.State = room.CheckAbnormal
		short, detail := "failing", lastErr.Error()
		var fe *FeedError
		if errors.As(lastErr, &fe) {
			short, detail = fe.Short, fe.Detail
		}
		res.Value = short + "; no copy"
		if cal != nil {
			res.Value = short + "; copy " + age(now.Sub(asOf)) + " old"
		}
		res.Hint = truncate("Calendar feed "+detail+": check bookings.feed and the network.", 110)
	case !tried && cal == nil:
		res.State = room.CheckUnknown
		res.Value = "not fetched yet"
	case cal == nil:
		res.State = room.CheckUnknown
		res.Value = "no calendar yet"
	default:
		n := 0
		for _, s := range x.slots {
			if s.End.After(now) && s.Start.Before(now.Add(7*24*time.Hour)) {
				n++
			}
		}
		res.State = room.CheckGood
		res.Value = fmt.Sprintf("%d bookings in the next 7 days, updated %s ago", n, age(now.Sub(asOf)))
		if x.refused > 0 {
			// The feed is shown without the events it cannot afford:
			// named by position, never by title.
			res.State = room.CheckAbnormal
			res.Value = fmt.Sprintf("%d bookings in the next 7 days; %d events refused", n, x.refused)
			res.Hint = truncate("Calendar "+x.faults[0]+": fix it in the calendar.", 110)
		}
	}
	return res
}

func age(d time.Duration) string {
	switch {
	case d < time.Minute:
		return "<1 min"
	case d < time.Hour:
		return fmt.Sprintf("%d min", int(d/time.Minute))
	case d < 48*time.Hour:
		return fmt.Sprintf("%d h", int(d/time.Hour))
	default:
		return fmt.Sprintf("%d days", int(d/(24*time.Hour)))
	}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-3] + "..."
}

// FeedError is a failed fetch: Short for the checklist ("unreachable",
// "malformed", "HTTP 404"), Detail for the hint, Err for the journal.
type FeedError struct {
	Short, Detail string
	Err           error
}

func (e *FeedError) Error() string { return "bookings feed " + e.Detail + ": " + e.Err.Error() }
func (e *FeedError) Unwrap() error { return e.Err }

// reason names why a connection failed in a few words.
func reason(err error) string {
	var ce *tls.CertificateVerificationError
	var ue x509.UnknownAuthorityError
	var de *net.DNSError
	var ne net.Error
	switch {
	case errors.As(err, &ce) || errors.As(err, &ue):
		return "certificate not trusted"
	case errors.As(err, &de):
		return "host not found"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.As(err, &ne) && ne.Timeout():
		return "timed out"
	}
	return truncate(err.Error(), 60)
}

// health names a fetch's outcome as the check shows it ("" when it worked).
func health(err error) string {
	if err == nil {
		return ""
	}
	var fe *FeedError
	if errors.As(err, &fe) {
		return fe.Short + ": " + fe.Detail
	}
	return err.Error()
}

// earlyStart is how long before its booking a session may start and still
// belong to it (a counselor lets the clients in a few minutes early).
const earlyStart = 15 * time.Minute

// SessionBooking is the booking a session started at start belongs to: the
// one in progress then, or one beginning within 15 minutes after; nil when
// none. In session the door shows its end, even when the session overruns
// into the next booking.
func (f *Feed) SessionBooking(start time.Time) *room.Slot {
	f.mu.Lock()
	cal, x, m := f.cal, f.exp, f.smemo
	f.sessStart = start
	f.mu.Unlock()
	if cal == nil {
		return nil
	}
	if m.cal == cal && m.start.Equal(start) {
		return m.slot
	}
	found := f.sessionSlot(cal, x, start) // without the lock
	f.mu.Lock()
	if f.cal == cal {
		f.smemo = sessionMemo{cal: cal, start: start, slot: found}
	}
	f.mu.Unlock()
	return found
}

// sessionSlot finds the booking of a session started at start: from the
// door's expansion when it holds the start, else from a small one.
func (f *Feed) sessionSlot(cal *Calendar, x *expansion, start time.Time) *room.Slot {
	var slots []room.Slot
	if x != nil && !start.Before(x.from) && start.Add(earlyStart+time.Second).Before(x.complete) {
		slots = x.slots
	} else {
		if f.expandHook != nil {
			f.expandHook()
		}
		slots = cal.expand(start, start.Add(earlyStart+time.Second)).slots
	}
	for _, sl := range slots {
		if sl.AllDay || !sl.End.After(start) || sl.Start.After(start.Add(earlyStart)) {
			continue
		}
		sl := sl
		return &sl
	}
	return nil
}
