package recorder

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"filippo.io/age"
	"github.com/rs/zerolog"

	"roomkiosk/internal/room"
	"roomkiosk/recorder/manifest"
	"roomkiosk/recorder/spool"
)

// Uploader is told when a manifest or a deletion request is ready in the
// spool. It must return at once (the uploader also scans the spool itself).
type Uploader interface{ Wake() }

// Options wire a Recorder.
type Options struct {
	Config Config
	// Keyring says to whom each session is encrypted (escrow, its
	// counselor, their supervisors). Without one, every session is
	// encrypted to Recipients alone.
	Keyring    *Keyring
	Recipients []age.Recipient
	RoomID     string
	DeviceID   string
	Source     Source // capture.Source in the daemon
	// OnStatus receives every change of state, alerts and (at most 4 times
	// a second) level. It is called from the recorder's own goroutine, in
	// order, never from Start/Stop/Discard, so it may block briefly.
	OnStatus func(room.RecorderStatus)
	Uploader Uploader       // may be nil until the uploader exists
	Log      zerolog.Logger // session ids only, never personal data
	// FreeSpace returns the bytes available in dir; nil uses statfs.
	FreeSpace func(dir string) (uint64, error)
	// DiskCheckEvery is how often free space is checked while recording
	// (default 5s).
	DiskCheckEvery time.Duration
	// RetentionClass is the device's [retention] class, written into every
	// manifest (the admin's policy decides what it means).
	RetentionClass string
	// NoSync skips every fsync: per age chunk, at seals, journal and
	// manifest (benchmarks of the CPU path only; not power-cut safe).
	NoSync bool
}

// Errors Start returns; the core shows why the session is not recorded.
var (
	ErrBusy         = errors.New("recorder: another session is recording")
	ErrNoSpace      = errors.New("recorder: not enough free space for the session's maximum length")
	ErrUnknownState = errors.New("recorder: no such session")
)

// Metrics are the recorder's figures for /metrics.
type Metrics struct {
	State           room.RecorderState `json:"state"`
	SessionID       string             `json:"session_id,omitempty"`
	Overruns        uint64             `json:"overrun_frames"`
	ClippedSamples  uint64             `json:"clipped_samples"`
	LastRMSdBFS     float64            `json:"last_rms_dbfs"`
	LastPeakdBFS    float64            `json:"last_peak_dbfs"`
	FramesCaptured  uint64             `json:"frames_captured"`
	SegmentsWritten uint64             `json:"segments_written"`
	BytesWritten    uint64             `json:"bytes_written"` // ciphertext
	Fsyncs          uint64             `json:"fsyncs"`
	DeviceOpens     uint64             `json:"device_opens"`
	DeviceLost      uint64             `json:"device_lost"`
	WriteErrors     uint64             `json:"write_errors"`
	SessionsDone    uint64             `json:"sessions_done"`
	Resumes         uint64             `json:"resumes"` // recordings resumed after a restart
}

type counters struct {
	overruns, clipped, frames, segments, bytes, fsyncs, opens, lost, writeErrs, done, resumes atomic.Uint64
	rms, peak                                                                                 atomic.Uint64 // float64 bits
}

// Recorder implements session.Recorder over a capture Source and the spool.
type Recorder struct {
	o     Options
	spool spool.Spool
	fmt   Format
	pub   *publisher
	c     counters

	mu         sync.Mutex
	cur        *recording            // the session capturing, if any
	check      *checkHold            // the microphone check holding the device, if any
	recordings map[string]*recording // sessions not yet finalised
	state      room.RecorderState
	sid        string
	bg         sync.WaitGroup // finalisation and discards

	openSession string // a session is open (recorded or not): checks defer to it

	faultMu    sync.Mutex
	spoolFault map[string]error // session -> a durable write that failed after its retries
}

// New checks the options and prepares the spool. Call Recover (or
// spool.Recover) before the first Start.
func New(o Options) (*Recorder, error) {
	if err := o.Config.Validate(); err != nil {
		return nil, err
	}
	if o.Keyring == nil {
		if len(o.Recipients) == 0 {
			return nil, errors.New("recorder: no recipients: encryption.recipients is required")
		}
		o.Keyring = escrowKeyring(o.Recipients)
	}
	if o.Source == nil {
		return nil, errors.New("recorder: no capture source")
	}
	if o.DiskCheckEvery <= 0 {
		o.DiskCheckEvery = 5 * time.Second
	}
	if o.FreeSpace == nil {
		o.FreeSpace = FreeSpace
	}
	r := &Recorder{o: o, spool: spool.Spool{Root: o.Config.SpoolDir, NoSync: o.NoSync}, fmt: o.Config.Format(),
		recordings: map[string]*recording{}, state: room.RecorderIdle}
	if err := r.spool.Init(); err != nil {
		return nil, err
	}
	r.pub = newPublisher(o.OnStatus)
	return r, nil
}

// Recover seals the sessions a crash or power cut left unfinished (see
// spool.Recover) and wakes the uploader if there were any. Sessions named in
// open are left unfinished: the session core resumes their recording
// (Start with SessionInfo.Resume).
func (r *Recorder) Recover(open ...string) ([]spool.Recovered, error) {
	rec, err := r.spool.Recover(r.recoverOptions(open...))
	for _, x := range rec {
		r.o.Log.Warn().Str("session", x.SessionID).Int("partial_segments", len(x.Partial)).Bool("held", x.Held).Msg("recovered interrupted session")
	}
	if len(rec) > 0 {
		r.wake()
	}
	// Withdrawn sessions whose participants never chose stay on the device,
	// neither uploaded nor deleted: say so at every start (FORMAT.md,
	// "Withdrawal hold").
	if held, herr := r.spool.Held(); herr == nil {
		for _, h := range held {
			r.o.Log.Warn().Str("session", h.SessionID).Msg("withdrawn session held on the device awaiting keep or delete; not uploaded")
		}
	}
	return rec, err
}

func (r *Recorder) recoverOptions(open ...string) spool.RecoverOptions {
	return spool.RecoverOptions{RoomID: r.o.RoomID, DeviceID: r.o.DeviceID, Format: r.manifestFormat(), Open: open, RetentionClass: r.o.RetentionClass}
}

// Spool returns the spool the recorder writes.
func (r *Recorder) Spool() spool.Spool { return r.spool }

func (r *Recorder) manifestFormat() manifest.Format {
	return manifest.Format{Codec: manifest.Codec, SampleRate: r.fmt.SampleRate, Channels: r.fmt.Channels, Bits: 16}
}

func (r *Recorder) wake() {
	if r.o.Uploader != nil {
		r.o.Uploader.Wake()
	}
}

// NeededBytes is the spool space a session of length d needs (ciphertext of
// its PCM; the margin comes on top).
func (r *Recorder) NeededBytes(d time.Duration) uint64 {
	pcm := uint64(d.Seconds() * float64(r.fmt.BytesPerSecond()))
	return pcm + pcm/4096 + 64<<10
}

// Start begins capturing a consented session. It returns at once; the device
// is opened on the recorder's goroutine and progress arrives via OnStatus.
func (r *Recorder) Start(info room.SessionInfo) error {
	if !manifest.ValidSessionID(info.ID) {
		return fmt.Errorf("start recording: %q is not a session id", info.ID)
	}
	maxLen := info.MaxLength
	if maxLen <= 0 {
		maxLen = r.o.Config.MaxSessionLength.Duration
	}
	free, err := r.o.FreeSpace(r.o.Config.SpoolDir)
	if err != nil {
		return fmt.Errorf("start recording %s: check free space: %w", info.ID, err)
	}
	need := r.NeededBytes(maxLen) + uint64(r.o.Config.FreeMarginMB)<<20
	if free < need {
		return fmt.Errorf("start recording %s: %w (%d MB free, %d MB needed)", info.ID, ErrNoSpace, free>>20, need>>20)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cur != nil {
		return fmt.Errorf("start recording %s: %w (%s)", info.ID, ErrBusy, r.cur.info.ID)
	}
	if _, ok := r.recordings[info.ID]; ok {
		return fmt.Errorf("start recording %s: session already recorded", info.ID)
	}
	rc := newRecording(r, info, maxLen)
	if info.Resume {
		// The spool work is done here, so a session that cannot take a
		// new part is refused now (and finished as recovery would).
		m, from, err := r.spool.Reopen(info.ID, r.recoverOptions())
		if err != nil {
			if !errors.Is(err, spool.ErrSealed) {
				if _, rerr := r.spool.Recover(r.recoverOptions()); rerr != nil {
					r.o.Log.Error().Err(rerr).Str("session", info.ID).Msg("recover the session that could not resume")
				}
				r.wake()
			}
			return fmt.Errorf("resume recording %s: %w", info.ID, err)
		}
		rc.resumeM, rc.resumeFrom = m, from
	}
	if h := r.check; h != nil {
		// One owner of the capture device: a microphone check holding it
		// is cancelled now, and the recording opens the device once the
		// check's stream is closed (two PCMs on one device split its
		// frames, or the second open fails "device busy").
		h.cancel()
		rc.yield = h
	}
	r.cur = rc
	r.recordings[info.ID] = rc
	r.bg.Add(1)
	go func() {
		defer r.bg.Done()
		rc.loop()
	}()
	return nil
}

// checkHold is a microphone check's claim on the capture device.
type checkHold struct {
	cancel context.CancelFunc
	closed chan struct{} // closed once the check's stream is closed
}

// checkYield bounds how long a starting session waits for a cancelled
// microphone check to close its stream (a close takes a few ms; consent
// must not wait on a check).
const checkYield = 300 * time.Millisecond

// deviceOwner is who has the capture device when a check asks for it.
type deviceOwner int

const (
	ownerNone deviceOwner = iota
	ownerSession
	ownerCheck
	ownerOpenSession // a session is open and not recording: nobody opens the device
)

// SessionOpened tells the recorder that a session is open (the core calls it
// at the participants screen, and for a session restored after a restart).
// From now until SessionClosed no microphone check opens the capture device
// (they report "deferred: session in progress"), and a check holding it is
// cancelled: SessionOpened returns once its stream is closed (or after
// checkYield), so no device is open in a session that is not recording.
func (r *Recorder) SessionOpened(sessionID string) {
	r.mu.Lock()
	r.openSession = sessionID
	h := r.check
	r.mu.Unlock()
	if h == nil {
		return
	}
	h.cancel()
	t := time.NewTimer(checkYield)
	defer t.Stop()
	select {
	case <-h.closed:
	case <-t.C:
		r.o.Log.Warn().Str("session", sessionID).Msg("microphone check slow to release the capture device at session open")
	}
}

// SessionClosed ends what SessionOpened began: checks may open the device
// again.
func (r *Recorder) SessionClosed(sessionID string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.openSession == sessionID {
		r.openSession = ""
	}
}

// claimForCheck gives the capture device to a microphone check unless a
// session records (or is starting, or may reopen it) or another check has
// it. On success the check must open the device with the returned context
// (cancelled when a session starts) and call release once its stream is
// closed.
func (r *Recorder) claimForCheck(parent context.Context) (ctx context.Context, release func(), owner deviceOwner) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if rc := r.cur; rc != nil {
		select {
		case <-rc.captureClosed:
			// Stopped and closed: sealing only, the device is free.
		default:
			return nil, nil, ownerSession
		}
	}
	if r.openSession != "" {
		return nil, nil, ownerOpenSession
	}
	if r.check != nil {
		return nil, nil, ownerCheck
	}
	ctx, cancel := context.WithCancel(parent)
	h := &checkHold{cancel: cancel, closed: make(chan struct{})}
	r.check = h
	return ctx, func() {
		cancel()
		r.mu.Lock()
		if r.check == h {
			r.check = nil
		}
		r.mu.Unlock()
		close(h.closed)
	}, ownerNone
}

// stopWait bounds how long Stop waits for the device to close: the
// withdrawal budget is 250 ms end to end.
const stopWait = 200 * time.Millisecond

// holdWait bounds how much longer a withdrawing Stop waits for the withdrawn
// journal when the device was slow to close (it is written once the open
// call returns).
const holdWait = 2 * time.Second

// ErrNotDurable says a withdrawal is not (yet) on disk when Stop returns.
var ErrNotDurable = errors.New("recorder: withdrawal not on disk")

// Stop closes the capture device (before it returns, unless the device is
// stuck in its open call, which is then closed as soon as that returns) and
// seals the session in the background: last segment, then the manifest.
func (r *Recorder) Stop(sessionID string, withdrawn bool) error {
	r.mu.Lock()
	rc := r.recordings[sessionID]
	r.mu.Unlock()
	if rc == nil {
		return nil // already finished on its own (disk floor, max length) or never started
	}
	rc.requestStop(withdrawn)
	select {
	case <-rc.captureClosed:
	case <-time.After(stopWait):
		r.o.Log.Warn().Str("session", sessionID).Msg("capture device still opening at stop; it is closed when the open returns")
	}
	if !rc.withdrawn.Load() {
		return nil
	}
	// The participants' choice is on disk before anyone is told it was
	// taken: a crash from here on recovers the session as held.
	select {
	case <-rc.held:
		return nil
	case <-rc.captureClosed:
		// Closed without a durable journal: every retry failed.
	case <-time.After(holdWait):
	}
	select {
	case <-rc.held:
		return nil
	default:
		return fmt.Errorf("stop recording %s: %w", sessionID, ErrNotDurable)
	}
}

// Suspend closes the capture device and seals what was written without
// finishing the session (no manifest): the daemon is stopping while the
// session stays open, and its recording resumes at the next start (or
// recovery finishes it as interrupted).
func (r *Recorder) Suspend(sessionID string) error {
	r.mu.Lock()
	rc := r.recordings[sessionID]
	r.mu.Unlock()
	if rc == nil {
		return nil
	}
	rc.requestStopAs(false, true)
	select {
	case <-rc.captureClosed:
	case <-time.After(stopWait):
	}
	return nil
}

// Keep queues a withdrawn session for upload: its participants chose to
// keep what was recorded until the withdrawal. Until Keep (or Discard) a
// withdrawn session's manifest is held (spool.HeldName) and nothing of it is
// uploaded. It returns at once when the session is still sealing (the
// queueing follows); for a session held from before (a restart), it is
// queued before Keep returns. Keeping a session that was not withdrawn is a
// no-op.
func (r *Recorder) Keep(sessionID string) error { return r.keep(sessionID, nil) }

// Settle keeps or deletes a withdrawn session's held recording and writes
// who decided and when with it (session.HeldSettler): into the manifest
// when kept, into the deletion request when deleted.
func (r *Recorder) Settle(sessionID string, d room.HeldDecision) error {
	if d.Keep {
		return r.keep(sessionID, &d)
	}
	return r.discard(sessionID, &d)
}

func (r *Recorder) keep(sessionID string, d *room.HeldDecision) error {
	if !manifest.ValidSessionID(sessionID) {
		return fmt.Errorf("keep recording: %q is not a session id", sessionID)
	}
	r.mu.Lock()
	rc := r.recordings[sessionID]
	if rc != nil {
		r.bg.Add(1)
	}
	r.mu.Unlock()
	queue := func() error {
		if d != nil {
			if err := r.spool.NoteHeldDecision(sessionID, *d); err != nil {
				return fmt.Errorf("keep recording: %w", err)
			}
		}
		if err := r.spool.QueueHeld(sessionID); err != nil {
			return fmt.Errorf("keep recording: %w", err)
		}
		r.o.Log.Info().Str("session", sessionID).Msg("withdrawn session kept: queued for upload")
		r.wake()
		return nil
	}
	if rc == nil {
		return queue()
	}
	go func() {
		defer r.bg.Done()
		<-rc.done
		if !rc.withdrawn.Load() {
			return // not held: its manifest.json is already queued
		}
		if err := queue(); err != nil {
			r.o.Log.Error().Err(err).Str("session", sessionID).Msg("queue kept session for upload")
		}
	}()
	return nil
}

// Held lists the withdrawn sessions awaiting a keep-or-delete choice (also
// those a restart or power cut left held), each with its children count
// (session.HeldLister). Keep or Discard each.
func (r *Recorder) Held() ([]room.HeldRecording, error) { return r.spool.Held() }

// Discard deletes the session's local audio and writes a deletion request
// for anything the uploader may already have (nothing, for a withdrawn
// session: it was held). It returns at once; the work happens after the
// session is sealed.
func (r *Recorder) Discard(sessionID string) error { return r.discard(sessionID, nil) }

func (r *Recorder) discard(sessionID string, d *room.HeldDecision) error {
	if !manifest.ValidSessionID(sessionID) {
		return fmt.Errorf("discard recording: %q is not a session id", sessionID)
	}
	r.mu.Lock()
	rc := r.recordings[sessionID]
	r.mu.Unlock()
	if rc != nil {
		rc.requestStop(true)
	}
	r.bg.Add(1)
	go func() {
		defer r.bg.Done()
		if rc != nil {
			<-rc.done
		}
		del := manifest.Deletion{SessionID: sessionID, RoomID: r.o.RoomID, RequestedAt: time.Now().UTC(), Reason: "withdrawn"}
		if d != nil {
			del.DecidedBy, del.DecidedAt = d.By, d.At.UTC()
		}
		// The request first: if power fails before the files are gone,
		// recovery sees the request and finishes the removal instead of
		// resurrecting the session.
		if err := r.spool.WriteDeletion(del); err != nil {
			r.o.Log.Error().Err(err).Str("session", sessionID).Msg("write deletion request")
			return
		}
		if err := r.spool.RemoveSession(sessionID); err != nil {
			r.o.Log.Error().Err(err).Str("session", sessionID).Msg("remove discarded session")
		}
		r.o.Log.Info().Str("session", sessionID).Msg("session audio deleted; deletion request queued")
		r.wake()
	}()
	return nil
}

// Wait blocks until every session is sealed and every discard done.
func (r *Recorder) Wait() { r.bg.Wait() }

// Close stops any session (keeping its audio), waits for the spool work and
// stops the status goroutine. Used at daemon shutdown.
func (r *Recorder) Close() error {
	r.mu.Lock()
	var ids []string
	for id := range r.recordings {
		ids = append(ids, id)
	}
	r.mu.Unlock()
	for _, id := range ids {
		r.Stop(id, false)
	}
	// Sealing takes a few fsyncs; a device stuck in its open call must not
	// hold up shutdown for ever (its .part is sealed by Recover next start).
	done := make(chan struct{})
	go func() { r.bg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(closeTimeout):
		r.o.Log.Error().Msg("recorder: sessions still sealing at shutdown; recovery finishes them at next start")
		return errors.New("close recorder: timed out waiting for sessions to seal")
	}
	r.pub.close()
	return nil
}

const closeTimeout = 10 * time.Second

// Metrics returns the recorder's figures.
func (r *Recorder) Metrics() Metrics {
	r.mu.Lock()
	st, sid := r.state, r.sid
	var liveOverruns uint64
	if r.cur != nil {
		liveOverruns = r.cur.liveOverruns()
	}
	r.mu.Unlock()
	return Metrics{
		State: st, SessionID: sid,
		Overruns:        r.c.overruns.Load() + liveOverruns,
		ClippedSamples:  r.c.clipped.Load(),
		LastRMSdBFS:     fromBits(r.c.rms.Load()),
		LastPeakdBFS:    fromBits(r.c.peak.Load()),
		FramesCaptured:  r.c.frames.Load(),
		SegmentsWritten: r.c.segments.Load(),
		BytesWritten:    r.c.bytes.Load(),
		Fsyncs:          r.c.fsyncs.Load(),
		DeviceOpens:     r.c.opens.Load(),
		DeviceLost:      r.c.lost.Load(),
		WriteErrors:     r.c.writeErrs.Load(),
		SessionsDone:    r.c.done.Load(),
		Resumes:         r.c.resumes.Load(),
	}
}

func (r *Recorder) setStatus(st room.RecorderStatus) {
	r.mu.Lock()
	r.state, r.sid = st.State, st.SessionID
	r.mu.Unlock()
	r.pub.push(st)
}

func (r *Recorder) finished(rc *recording) {
	r.mu.Lock()
	if r.cur == rc {
		r.cur = nil
	}
	delete(r.recordings, rc.info.ID)
	r.mu.Unlock()
}

func (r *Recorder) raiseSpoolFault(sessionID string, err error) {
	r.faultMu.Lock()
	defer r.faultMu.Unlock()
	if r.spoolFault == nil {
		r.spoolFault = map[string]error{}
	}
	r.spoolFault[sessionID] = err
}

// clearSpoolFault reports whether the session had a fault to clear.
func (r *Recorder) clearSpoolFault(sessionID string) bool {
	r.faultMu.Lock()
	defer r.faultMu.Unlock()
	_, had := r.spoolFault[sessionID]
	delete(r.spoolFault, sessionID)
	return had
}

// SpoolFault returns a durable spool write that failed after its retries
// and has not succeeded since (nil: none). The storage check reports it.
func (r *Recorder) SpoolFault() error {
	r.faultMu.Lock()
	defer r.faultMu.Unlock()
	var errs []error
	for _, err := range r.spoolFault {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// FreeSpace returns the bytes available to an unprivileged user in dir.
func FreeSpace(dir string) (uint64, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return 0, fmt.Errorf("statfs %s: %w", dir, err)
	}
	return st.Bavail * uint64(st.Bsize), nil
}

// publisher delivers statuses in order on its own goroutine so that OnStatus
// (the core's RecorderChanged) is never called from inside a core call.
type publisher struct {
	fn   func(room.RecorderStatus)
	mu   sync.Mutex
	q    []room.RecorderStatus
	wake chan struct{}
	quit chan struct{}
	done chan struct{}
}

func newPublisher(fn func(room.RecorderStatus)) *publisher {
	p := &publisher{fn: fn, wake: make(chan struct{}, 1), quit: make(chan struct{}), done: make(chan struct{})}
	go p.run()
	return p
}

func (p *publisher) push(s room.RecorderStatus) {
	if p.fn == nil {
		return
	}
	p.mu.Lock()
	p.q = append(p.q, s)
	p.mu.Unlock()
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

func (p *publisher) run() {
	defer close(p.done)
	for {
		select {
		case <-p.wake:
		case <-p.quit:
			p.flush()
			return
		}
		p.flush()
	}
}

func (p *publisher) flush() {
	p.mu.Lock()
	q := p.q
	p.q = nil
	p.mu.Unlock()
	for _, s := range q {
		p.fn(s)
	}
}

func (p *publisher) close() {
	select {
	case <-p.quit:
	default:
		close(p.quit)
	}
	<-p.done
}
