package upload

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"roomkiosk/internal/room"
	"roomkiosk/recorder/manifest"
	"roomkiosk/recorder/spool"
	"roomkiosk/sync/layout"
	"roomkiosk/sync/store"
	"roomkiosk/sync/store/miniostore"
)

// pollInterval is how often the queue looks at the spool when nobody woke
// it (a session the recorder recovered at boot, a log that grew).
const pollInterval = 30 * time.Second

// segmentWorkers is how many segments of one session go up at once: enough
// to hide request latency, few enough for a Pi Zero's memory and a clinic's
// network.
const segmentWorkers = 4

// Uploader is the device side of sync: it drains the spool to storage, puts
// the room status, and provides the upload, clock and backlog checks.
// Nothing in it ever blocks the recorder or the session core.
type Uploader struct {
	cfg    Config
	room   string
	device string
	spool  string
	sp     spool.Spool // the same folder: its layout
	logDir string
	log    zerolog.Logger

	version string
	// retentionClass is the device's [retention] class, on every summary.
	retentionClass string
	now            func() time.Time
	retryBase      time.Duration
	newStore       func() (store.Store, error)
	afterPut       func(key string) // test hook: called after each confirmed put
	track          sessionTrack     // the session being uploaded, the last uploaded (Sessions)

	wake       chan struct{}
	statusKick chan struct{}

	mu          sync.Mutex
	st          store.Store
	snap        room.Snapshot
	haveSnap    bool
	lastErr     error
	lastErrAt   time.Time
	lastUpload  time.Time
	clockOffset time.Duration
	clockAt     time.Time // local time of the measurement; zero = never
	logs        logState
	delSent     map[string]time.Time // deletion requests uploaded: session id -> when

	bytesSent atomic.Int64
	failures  atomic.Int64
}

// Option changes an Uploader made by New.
type Option func(*Uploader)

// WithVersion sets the software version reported in status.json.
func WithVersion(v string) Option { return func(u *Uploader) { u.version = v } }

// WithRetentionClass writes the device's [retention] class into every
// session summary.
func WithRetentionClass(c string) Option { return func(u *Uploader) { u.retentionClass = c } }

// WithStore uploads to s instead of connecting with the configured endpoint
// and credentials file (tests, or a decorated store).
func WithStore(s store.Store) Option {
	return func(u *Uploader) { u.newStore = func() (store.Store, error) { return s, nil } }
}

// WithClock replaces time.Now (the clock used for log days and ages).
func WithClock(now func() time.Time) Option { return func(u *Uploader) { u.now = now } }

// WithRetryBase sets the first retry delay (default 1 s); tests shorten it.
func WithRetryBase(d time.Duration) Option { return func(u *Uploader) { u.retryBase = d } }

// New makes an Uploader for room and device over spoolDir (the recorder's
// spool) and checksLogDir (the maintenance log). It checks the configuration
// but not the credentials file or the server: a kiosk whose storage is
// broken still records, and the upload check says what is wrong.
func New(cfg Config, roomID, deviceID, spoolDir, checksLogDir string, log zerolog.Logger, opts ...Option) (*Uploader, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("new uploader: %w", err)
	}
	switch {
	case roomID == "":
		return nil, errors.New("new uploader: room id required")
	case spoolDir == "":
		return nil, errors.New("new uploader: spool folder required")
	}
	if deviceID == "" {
		deviceID = roomID
	}
	if cfg.BacklogMaxAge.Duration == 0 {
		cfg.BacklogMaxAge.Duration = Default().BacklogMaxAge.Duration
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	u := &Uploader{
		cfg: cfg, room: roomID, device: deviceID, spool: spoolDir, sp: spool.Spool{Root: spoolDir}, logDir: checksLogDir,
		log:        log.With().Str("component", "upload").Logger(),
		version:    "dev",
		now:        time.Now,
		retryBase:  time.Second,
		wake:       make(chan struct{}, 1),
		statusKick: make(chan struct{}, 1),
	}
	u.newStore = u.connect
	for _, o := range opts {
		o(u)
	}
	if u.retryBase > cfg.BackoffMax.Duration {
		u.retryBase = cfg.BackoffMax.Duration
	}
	for _, d := range []string{u.sp.SessionsDir(), u.sp.DeletionsDir(), u.sp.SummariesDir()} {
		if err := os.MkdirAll(d, 0o750); err != nil {
			return nil, fmt.Errorf("new uploader: %w", err)
		}
	}
	u.logs = loadLogState(u.logStatePath())
	u.delSent = loadDeletionsSent(u.delSentPath(), u.now())
	return u, nil
}

// connect loads the credentials file and makes the minio-go store. Its
// errors are permanent: they need an admin, not a retry.
func (u *Uploader) connect() (store.Store, error) {
	creds, err := LoadCredentials(u.cfg.CredentialsFile)
	if err != nil {
		return nil, &store.Error{Code: "Credentials", Kind: store.Permanent, Err: err}
	}
	s, err := miniostore.New(miniostore.Config{
		Endpoint:      u.cfg.Endpoint,
		Bucket:        u.cfg.Bucket,
		Region:        u.cfg.Region,
		AccessKey:     creds.AccessKey,
		SecretKey:     creds.SecretKey,
		CAFile:        u.cfg.CAFile,
		BandwidthKBps: u.cfg.BandwidthKBps,
	})
	if err != nil {
		return nil, &store.Error{Code: "Config", Kind: store.Permanent, Err: err}
	}
	return s, nil
}

// Wake tells the queue that the spool changed (a sealed session, a deletion
// request). It never blocks; during a backoff it is remembered, not obeyed,
// so a recorder cannot turn an outage into a tight retry loop.
func (u *Uploader) Wake() {
	select {
	case u.wake <- struct{}{}:
	default:
	}
}

// Run uploads until ctx ends. It returns nil when ctx is cancelled.
func (u *Uploader) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); u.runQueue(ctx) }()
	go func() { defer wg.Done(); u.runStatus(ctx) }()
	wg.Wait()
	return nil
}

func (u *Uploader) runQueue(ctx context.Context) {
	bo := backoff{base: u.retryBase, max: u.cfg.BackoffMax.Duration}
	for {
		err := u.drain(ctx)
		if ctx.Err() != nil {
			return
		}
		var wait time.Duration
		switch {
		case err == nil:
			bo.reset()
			u.setErr(nil)
			wait = pollInterval
		case store.IsPermanent(err):
			wait = bo.permanent()
			u.setErr(err)
			u.dropStore() // reload the credentials file next time
			u.log.Error().Err(err).Dur("retry_in", wait).Msg("upload failing permanently; needs an admin")
		default:
			wait = bo.next()
			u.setErr(err)
			u.log.Warn().Err(err).Dur("retry_in", wait).Msg("upload failed; will retry")
		}
		t := time.NewTimer(wait)
		wake := u.wake
		if err != nil {
			wake = nil // back off: a Wake now waits for the timer
		}
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		case <-wake:
			t.Stop()
		}
	}
}

// drain uploads everything waiting, pass after pass, until a pass finds
// nothing new or an upload fails.
func (u *Uploader) drain(ctx context.Context) error {
	for {
		n, err := u.pass(ctx)
		if err != nil || n == 0 || ctx.Err() != nil {
			return err
		}
	}
}

// pass makes one round over the spool: session summaries and deletion
// requests first (small; privacy), then sessions oldest first, then the
// maintenance log. It returns how many objects it confirmed. A summary goes
// before the deletion requests of the same pass so that it can record a
// pending one (SummaryRecord.AudioDeleted).
func (u *Uploader) pass(ctx context.Context) (int, error) {
	n := 0
	u.pruneUploaded()

	sums, err := listJSON(u.sp.SummariesDir())
	if err != nil {
		return n, err
	}
	for _, f := range sums {
		if err := u.uploadSummary(ctx, f); err != nil {
			return n, err
		}
		n++
	}

	dels, err := listJSON(u.sp.DeletionsDir())
	if err != nil {
		return n, err
	}
	for _, f := range dels {
		if err := u.uploadDeletion(ctx, f); err != nil {
			return n, err
		}
		n++
	}

	sessions, err := listSessions(u.sp)
	if err != nil {
		return n, err
	}
	for _, s := range sessions {
		if err := u.uploadSession(ctx, s); err != nil {
			var q *quarantineError
			if _, statErr := os.Stat(s.dir); errors.Is(statErr, os.ErrNotExist) {
				// The recorder removed it meanwhile (deleted on withdrawal).
				u.log.Info().Str("session", s.id).Msg("session left the spool during its upload")
				continue
			}
			if errors.As(err, &q) {
				u.quarantine(s, q)
				continue
			}
			return n, err
		}
		n++
	}

	m, err := u.uploadLogs(ctx)
	return n + m, err
}

// quarantineError says a session cannot be uploaded as it is (a segment
// whose bytes do not match the manifest, a bad manifest). Retrying would not
// help, so it is set aside for an admin.
type quarantineError struct{ reason string }

func (q *quarantineError) Error() string { return q.reason }

func (u *Uploader) uploadSession(ctx context.Context, s sessionEntry) error {
	if s.err != nil {
		return &quarantineError{reason: s.err.Error()}
	}
	m := s.m
	log := u.log.With().Str("session", m.SessionID).Logger()
	u.track.start(m.SessionID)
	defer u.track.stop()

	// A deleted session's audio is gone on purpose: only its manifest (no
	// plaintext personal data) goes up, as the record that it existed.
	if !m.Deleted {
		if err := u.uploadSegments(ctx, s.dir, m); err != nil {
			return err
		}
	}
	mp := filepath.Join(s.dir, manifest.FileName)
	if err := u.uploadSmallFile(ctx, layout.ManifestKey(u.room, m.Started, m.SessionID), mp); err != nil {
		return err
	}
	log.Info().Int("segments", len(m.Segments)).Msg("session uploaded")
	if err := u.finishSession(s); err != nil {
		return err
	}
	u.noteIfDone(m.SessionID)
	return nil
}

func (u *Uploader) uploadSegments(ctx context.Context, dir string, m *manifest.Manifest) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	jobs := make(chan manifest.Segment)
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
	)
	fail := func(err error) {
		mu.Lock()
		defer mu.Unlock()
		// A quarantine reason wins over a network error: it is final.
		var q *quarantineError
		if firstErr == nil || (errors.As(err, &q) && !errors.As(firstErr, &q)) {
			firstErr = err
		}
		cancel()
	}
	for i := 0; i < segmentWorkers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for seg := range jobs {
				key := layout.SegmentKey(u.room, m.Started, m.SessionID, seg.Name)
				if err := u.uploadSegment(ctx, dir, key, seg); err != nil {
					fail(err)
				}
			}
		}()
	}
feed:
	for _, seg := range m.Segments {
		select {
		case jobs <- seg:
		case <-ctx.Done():
			break feed
		}
	}
	close(jobs)
	wg.Wait()
	if firstErr == nil && ctx.Err() != nil {
		return ctx.Err()
	}
	return firstErr
}

// uploadSegment verifies a sealed segment against the manifest, then puts it
// under its idempotent key.
func (u *Uploader) uploadSegment(ctx context.Context, dir, key string, seg manifest.Segment) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	path := filepath.Join(dir, seg.Name)
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return &quarantineError{reason: fmt.Sprintf("segment %s listed in the manifest is missing", seg.Name)}
	}
	if err != nil {
		return fmt.Errorf("open segment %s: %w", seg.Name, err)
	}
	defer f.Close()
	h := sha256.New()
	size, err := io.Copy(h, f)
	if err != nil {
		return fmt.Errorf("read segment %s: %w", seg.Name, err)
	}
	var sum [32]byte
	h.Sum(sum[:0])
	if size != seg.Bytes || hex.EncodeToString(sum[:]) != seg.SHA256 {
		return &quarantineError{reason: fmt.Sprintf("segment %s does not match the manifest (%d bytes, sha256 %s; manifest says %d bytes, sha256 %s)",
			seg.Name, size, hex.EncodeToString(sum[:8]), seg.Bytes, seg.SHA256[:16])}
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("rewind segment %s: %w", seg.Name, err)
	}
	return u.put(ctx, key, f, size, sum, store.PutOptions{IfAbsent: true})
}

// uploadSmallFile puts a small JSON file whole under an idempotent key and
// removes it locally once the put is confirmed (deletion requests and
// session summaries; a session's manifest is removed with its folder).
func (u *Uploader) uploadSmallFile(ctx context.Context, key, path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read %s: %w", filepath.Base(path), err)
	}
	return u.uploadSmallBytes(ctx, key, b, path)
}

// uploadSmallBytes is uploadSmallFile with the bytes to put given.
func (u *Uploader) uploadSmallBytes(ctx context.Context, key string, b []byte, path string) error {
	if err := u.put(ctx, key, bytes.NewReader(b), int64(len(b)), sha256.Sum256(b), store.PutOptions{IfAbsent: true, ContentType: "application/json"}); err != nil {
		return err
	}
	if filepath.Base(path) == manifest.FileName {
		return nil
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove uploaded %s: %w", filepath.Base(path), err)
	}
	return nil
}

func (u *Uploader) uploadDeletion(ctx context.Context, f fileEntry) error {
	b, err := os.ReadFile(f.path)
	if err != nil {
		return fmt.Errorf("read deletion request %s: %w", f.name, err)
	}
	del, err := manifest.ParseDeletion(b)
	if err == nil && del.SessionID+".json" != f.name {
		err = fmt.Errorf("deletion request %s names session %s", f.name, del.SessionID)
	}
	if err != nil {
		u.log.Error().Err(err).Str("file", f.name).Msg("deletion request quarantined")
		return u.sp.QuarantineDeletion(f.name)
	}
	// The key is under this device's room whatever the request says: the
	// device may write nowhere else.
	if err := u.uploadSmallFile(ctx, layout.DeletionKey(u.room, del.SessionID), f.path); err != nil {
		return err
	}
	if err := u.noteDeletionSent(del.SessionID); err != nil {
		return err
	}
	u.log.Info().Str("session", del.SessionID).Msg("deletion request uploaded")
	return nil
}

// uploadSummary puts a session's summary beside its recording. A summary
// that does not parse is quarantined like a bad deletion request.
func (u *Uploader) uploadSummary(ctx context.Context, f fileEntry) error {
	b, err := os.ReadFile(f.path)
	if err != nil {
		return fmt.Errorf("read session summary %s: %w", f.name, err)
	}
	var rec layout.SummaryRecord
	if err := json.Unmarshal(b, &rec); err != nil || rec.ID+".json" != f.name || rec.Started.IsZero() {
		if err == nil {
			err = fmt.Errorf("session summary %s does not describe session %s", f.name, trimExt(f.name))
		}
		u.log.Error().Err(err).Str("file", f.name).Msg("session summary quarantined")
		return u.sp.QuarantineSummary(f.name)
	}
	// Withdrawn with delete: the participants' choice queued a deletion
	// request (still in the spool, or already sent). Recording it in the
	// summary's first version is what lets an admin tell this request from
	// one a stolen kiosk forges later.
	if rec.Withdrawn && !rec.AudioDeleted && u.deletionKnown(rec.ID) {
		rec.AudioDeleted = true
		if b, err = json.Marshal(rec); err != nil {
			return fmt.Errorf("encode session summary %s: %w", f.name, err)
		}
	}
	if err := u.uploadSmallBytes(ctx, layout.SummaryKey(u.room, rec.Started, rec.ID), b, f.path); err != nil {
		return err
	}
	u.noteIfDone(rec.ID)
	return nil
}

// finishSession removes (or, with storage.keep_uploaded, moves aside) a
// session whose every object was confirmed.
func (u *Uploader) finishSession(s sessionEntry) error {
	if u.cfg.KeepUploaded.Duration <= 0 {
		if err := os.RemoveAll(s.dir); err != nil {
			return fmt.Errorf("remove uploaded session %s: %w", s.id, err)
		}
		return nil
	}
	return u.sp.KeepUploaded(s.id)
}

// pruneUploaded removes kept sessions older than storage.keep_uploaded.
func (u *Uploader) pruneUploaded() {
	root := u.sp.UploadedDir()
	ents, err := os.ReadDir(root)
	if err != nil {
		return
	}
	for _, e := range ents {
		dir := filepath.Join(root, e.Name())
		at, ok := u.sp.UploadedAt(e.Name())
		if !ok || u.now().Sub(at) >= u.cfg.KeepUploaded.Duration {
			if err := os.RemoveAll(dir); err != nil {
				u.log.Warn().Err(err).Str("session", e.Name()).Msg("remove kept session")
			}
		}
	}
}

func (u *Uploader) quarantine(s sessionEntry, q *quarantineError) {
	u.log.Error().Str("session", s.id).Str("reason", q.reason).Msg("session quarantined: not uploaded, kept for an admin")
	if err := u.sp.QuarantineSession(s.id, q.reason); err != nil {
		u.log.Error().Err(err).Str("session", s.id).Msg("move session to quarantine")
		return
	}
	u.setErr(fmt.Errorf("session %s quarantined: %s", s.id, q.reason))
}

// put puts through the store and keeps the bookkeeping: clock offset, bytes
// sent, failures. With IfAbsent, "already exists" is success: the object is
// there from an earlier try.
func (u *Uploader) put(ctx context.Context, key string, body io.ReadSeeker, size int64, sum [32]byte, opts store.PutOptions) error {
	st, err := u.store()
	if err != nil {
		u.failures.Add(1)
		return err
	}
	// A silently dead connection must not hold the queue for the kernel's
	// TCP timeout: give each put a generous budget for its size.
	pctx, cancel := context.WithTimeout(ctx, u.putTimeout(size))
	res, err := st.Put(pctx, key, body, size, sum, opts)
	cancel()
	u.noteTime(res)
	if err != nil && !(opts.IfAbsent && errors.Is(err, store.ErrExists)) {
		u.failures.Add(1)
		return err
	}
	if err == nil {
		u.bytesSent.Add(size)
	}
	u.mu.Lock()
	u.lastUpload = u.now()
	u.mu.Unlock()
	if u.afterPut != nil {
		u.afterPut(key)
	}
	return nil
}

// putTimeout is 2 minutes plus twice the time size takes at the bandwidth
// limit (or at a slow 64 KiB/s when there is none).
func (u *Uploader) putTimeout(size int64) time.Duration {
	rate := int64(64 << 10)
	if u.cfg.BandwidthKBps > 0 {
		rate = int64(u.cfg.BandwidthKBps) << 10
	}
	return 2*time.Minute + 2*time.Duration(size/rate+1)*time.Second
}

func (u *Uploader) store() (store.Store, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.st != nil {
		return u.st, nil
	}
	st, err := u.newStore()
	if err != nil {
		return nil, err
	}
	u.st = st
	return st, nil
}

func (u *Uploader) dropStore() {
	u.mu.Lock()
	u.st = nil
	u.mu.Unlock()
}

// noteTime records the clock offset from an answer's Date header. The header
// has one-second resolution, so the server's clock was somewhere in
// [Date, Date+1s): the middle is the best guess.
func (u *Uploader) noteTime(r store.PutResult) {
	if r.ServerTime.IsZero() || r.LocalTime.IsZero() {
		return
	}
	off := r.ServerTime.Add(500 * time.Millisecond).Sub(r.LocalTime)
	u.mu.Lock()
	u.clockOffset, u.clockAt = off, r.LocalTime
	u.mu.Unlock()
}

func (u *Uploader) setErr(err error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.lastErr = err
	if err != nil {
		u.lastErrAt = u.now()
	}
}

func trimExt(name string) string { return name[:len(name)-len(filepath.Ext(name))] }
