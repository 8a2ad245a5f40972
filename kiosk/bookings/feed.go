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

// maxFeed bounds a download: a room's calendar is kilobytes; a server that
// sends more is not sending a calendar.
const maxFeed = 8 << 20

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
	gen     uint64 // bumped at every change of cal or lastErr
	memo    memo
	smemo   sessionMemo
}

type sessionMemo struct {
	gen   uint64
	start time.Time
	slot  *room.Slot
}

type memo struct {
	gen        uint64
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
	if b, err := os.ReadFile(cfg.CacheFile); err == nil {
		fi, _ := os.Stat(cfg.CacheFile)
		if cal, err := Parse(b, f.loc); err == nil && fi != nil {
			f.cal, f.asOf = cal, fi.ModTime()
		} else {
			f.log.Warn().Err(err).Msg("the bookings copy on disk is not readable; waiting for the feed")
		}
	}
	return f, nil
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
			err = &FeedError{Short: "malformed", Detail: "malformed", Err: err}
		}
	}
	now := f.now()
	f.mu.Lock()
	was := f.lastErr
	f.tried = true
	f.lastErr = err
	if err == nil {
		f.asOf = now
		if cal != nil {
			f.cal = cal
		}
	}
	f.gen++
	f.mu.Unlock()
	switch {
	case err != nil && (was == nil || was.Error() != err.Error()):
		f.log.Warn().Err(err).Msg("bookings feed")
	case err == nil && was != nil:
		f.log.Info().Msg("bookings feed back")
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
	if f.onHealth != nil && health(was) != health(err) {
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
// the feed changes). A nil view means no calendar is known yet.
func (f *Feed) View(now time.Time) (*room.Bookings, time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	m := f.memo
	if m.gen == f.gen && f.gen != 0 && !now.Before(m.from) && (m.till.IsZero() || now.Before(m.till)) {
		v := m.view
		return &v, m.till
	}
	if f.cal == nil {
		if !f.tried {
			return nil, time.Time{}
		}
		v := room.Bookings{Offline: f.lastErr != nil}
		return &v, time.Time{}
	}
	v := room.Bookings{AsOf: f.asOf, Offline: f.lastErr != nil}
	var till time.Time
	at := func(t time.Time) {
		if t.After(now) && (till.IsZero() || t.Before(till)) {
			till = t
		}
	}
	for _, s := range f.cal.Slots(now, now.Add(horizon)) {
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
	at(now.Truncate(time.Hour).Add(time.Hour)) // bound the memo; the horizon moves
	if v.Next != nil {
		warnFrom := v.Next.Start.Add(-f.cfg.SessionLength.Duration)
		v.RunsInto = !warnFrom.After(now)
		at(warnFrom)
	}
	f.memo = memo{gen: f.gen, from: now, till: till, view: v}
	return &v, till
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
		n := len(cal.Slots(now, now.Add(7*24*time.Hour)))
		res.State = room.CheckGood
		res.Value = fmt.Sprintf("%d bookings in the next 7 days, updated %s ago", n, age(now.Sub(asOf)))
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
	defer f.mu.Unlock()
	if f.cal == nil {
		return nil
	}
	if m := f.smemo; m.gen == f.gen && m.start.Equal(start) {
		return m.slot
	}
	var found *room.Slot
	for _, sl := range f.cal.Slots(start, start.Add(earlyStart+time.Second)) {
		if sl.AllDay {
			continue
		}
		if !sl.Start.After(start.Add(earlyStart)) {
			sl := sl
			found = &sl
			break
		}
	}
	f.smemo = sessionMemo{gen: f.gen, start: start, slot: found}
	return found
}
