package recorder

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"math"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"filippo.io/age"
	"github.com/rs/zerolog"

	"roomkiosk/internal/room"
	"roomkiosk/recorder/manifest"
	"roomkiosk/recorder/segment"
	"roomkiosk/recorder/spool"
)

// Stop reasons, as written in the manifest and the status.
const (
	ReasonEnd       = "end"
	ReasonWithdrawn = "withdrawn"
	ReasonDiskFloor = "disk_floor"
	ReasonMaxLength = "max_length"
	ReasonWriteFail = "write_failed"
	// ReasonSuspended: the daemon stopped while the session was open; the
	// session is sealed so far without a manifest, and its recording
	// resumes (or recovery finishes it) at the next start.
	ReasonSuspended = "suspended"
)

// GapInterrupted is the manifest's reason for the gap between the audio
// before the daemon's restart (crash, power cut, stop) and the resumed part.
const GapInterrupted = "interrupted"

// Alert codes.
const (
	AlertMicSilent = "mic_silent"
	AlertMicLost   = "mic_lost"
	AlertDiskLow   = "disk_low"
	// AlertSpoolWrite: a write that a promise rests on (the withdrawn
	// journal) failed after its retries.
	AlertSpoolWrite = "spool_write_failed"
)

const (
	levelEvery = 250 * time.Millisecond // at most 4 level updates a second
	closeWait  = 150 * time.Millisecond // longest a device close may hold up Stop
)

// recording is one session's capture-and-write loop, on its own goroutine.
type recording struct {
	r    *Recorder
	info room.SessionInfo
	// recipients are the session's (escrow, its counselor, their
	// supervisors: Keyring.For), access the same by role for the manifest.
	recipients []age.Recipient
	access     []manifest.Access
	maxLen     time.Duration
	log        zerolog.Logger

	stopOnce      sync.Once
	stop          chan struct{} // closed by Stop/Discard
	withdrawn     atomic.Bool   // set before stop is closed
	captureClosed chan struct{} // closed once no device is open after stop
	ccOnce        sync.Once
	done          chan struct{} // closed after the manifest is written
	heldJournal   bool          // the journal says withdrawn (recording goroutine only)
	held          chan struct{} // closed once the withdrawn journal is durable
	heldOnce      sync.Once
	yield         *checkHold // a microphone check cancelled by Start: wait for its close

	streamMu sync.Mutex
	stream   Stream

	m        *manifest.Manifest
	seg      *segFile
	frames   int64 // frames written in the session
	segLimit int64 // frames per segment
	meter    *Meter
	alerts   map[string]room.Alert
	state    room.RecorderState
	reason   string
	level    room.Level
	t0       time.Time // monotonic start
	lostAt   time.Time // when the device was lost (zero: not lost)

	// A resumed session (SessionInfo.Resume): the spool's Reopen gave its
	// working manifest and when its last audio was written.
	resumeM    *manifest.Manifest
	resumeFrom time.Time
	gapReason  string        // the reason of the gap lostAt starts ("": mic_lost)
	resumedGap time.Duration // the resumption's gap, once measured
	suspend    atomic.Bool   // set before stop is closed: Suspend, not Stop
}

func newRecording(r *Recorder, info room.SessionInfo, maxLen time.Duration) *recording {
	recipients, access := r.o.Keyring.For(info.CounselorID)
	return &recording{
		r: r, info: info, maxLen: maxLen, recipients: recipients, access: access,
		log:           r.o.Log.With().Str("session", info.ID).Logger(),
		stop:          make(chan struct{}),
		captureClosed: make(chan struct{}),
		held:          make(chan struct{}),
		done:          make(chan struct{}),
		segLimit:      int64(r.o.Config.SegmentLength.Seconds() * float64(r.fmt.SampleRate)),
		meter:         NewMeter(r.fmt, r.o.Config.SilenceThreshold),
		alerts:        map[string]room.Alert{},
		level:         room.Level{RMSdBFS: FloorDBFS, PeakdBFS: FloorDBFS},
	}
}

func (rc *recording) requestStop(withdrawn bool) { rc.requestStopAs(withdrawn, false) }

// requestStopAs stops the capture once: the first request says why.
func (rc *recording) requestStopAs(withdrawn, suspend bool) {
	rc.stopOnce.Do(func() {
		rc.withdrawn.Store(withdrawn)
		rc.suspend.Store(suspend)
		close(rc.stop)
	})
}

func (rc *recording) stopping() bool {
	select {
	case <-rc.stop:
		return true
	default:
		return false
	}
}

func (rc *recording) liveOverruns() uint64 {
	rc.streamMu.Lock()
	defer rc.streamMu.Unlock()
	if rc.stream == nil {
		return 0
	}
	return rc.stream.Overruns()
}

func (rc *recording) publish() {
	st := room.RecorderStatus{SessionID: rc.info.ID, State: rc.state, Reason: rc.reason, Level: rc.level, ResumedGap: rc.resumedGap}
	for _, code := range []string{AlertMicLost, AlertMicSilent, AlertDiskLow, AlertSpoolWrite} {
		if a, ok := rc.alerts[code]; ok {
			st.Alerts = append(st.Alerts, a)
		}
	}
	rc.r.setStatus(st)
}

func (rc *recording) setState(s room.RecorderState, reason string) {
	rc.state, rc.reason = s, reason
	rc.publish()
}

func (rc *recording) alert(code, msg string, on bool) bool {
	_, had := rc.alerts[code]
	switch {
	case on && !had:
		rc.alerts[code] = room.Alert{Code: code, Message: msg, Since: time.Now().UTC()}
		return true
	case !on && had:
		delete(rc.alerts, code)
		return true
	}
	return false
}

func (rc *recording) loop() {
	defer close(rc.done)
	defer rc.r.finished(rc)
	rc.t0 = time.Now()
	rc.setState(room.RecorderStarting, "")
	rc.m = &manifest.Manifest{
		Version: manifest.Version, SessionID: rc.info.ID, RoomID: rc.r.o.RoomID, DeviceID: rc.r.o.DeviceID,
		CounselorID: rc.info.CounselorID, Format: rc.r.manifestFormat(), Started: rc.t0.UTC(),
		Segments: []manifest.Segment{}, Gaps: []manifest.Gap{}, EncryptedTo: rc.access,
		RetentionClass: rc.r.o.RetentionClass, Children: rc.info.Consent.Children,
	}
	if m := rc.resumeM; m != nil {
		// The resumed part keeps the recipients of the part before it, so
		// the manifest's roles hold for every segment (the config may have
		// changed across the restart).
		if rs, ok := parseAccess(m.EncryptedTo); ok {
			rc.recipients, rc.access = rs, m.EncryptedTo
		}
		m.EncryptedTo = rc.access
		// A new part of the same session: its segments follow the ones
		// sealed before the interruption, and the gap between them is
		// measured when the device opens.
		m.RoomID, m.DeviceID, m.CounselorID, m.Format = rc.r.o.RoomID, rc.r.o.DeviceID, rc.info.CounselorID, rc.r.manifestFormat()
		m.Interrupted, m.StopReason = false, ""
		if m.Children == 0 {
			m.Children = rc.info.Consent.Children // a journal from before the count
		}
		rc.m = m
		rc.frames = m.TotalSamples()
		rc.lostAt, rc.gapReason = rc.resumeFrom, GapInterrupted
	}
	stopReason, err := rc.prepare()
	if err == nil {
		stopReason = rc.captureLoop()
	} else {
		rc.log.Error().Err(err).Msg("prepare session folder")
	}
	// A withdrawal is on disk before Stop returns (the core tells the room
	// only once Stop returned): the journal first, then the all-clear.
	rc.holdJournal()
	rc.markCaptureClosed()
	rc.finish(stopReason)
}

// markCaptureClosed tells a waiting Stop that no device is open any more.
func (rc *recording) markCaptureClosed() { rc.ccOnce.Do(func() { close(rc.captureClosed) }) }

func (rc *recording) prepare() (string, error) {
	p, err := manifest.SealPersonal(manifest.Personal{Consent: rc.info.Consent}, rc.recipients...)
	if err != nil {
		return ReasonWriteFail, err
	}
	rc.m.Personal = p
	if err := os.MkdirAll(rc.r.spool.SessionDir(rc.info.ID), 0o700); err != nil {
		return ReasonWriteFail, fmt.Errorf("create session folder: %w", err)
	}
	if err := rc.r.spool.SyncDir(rc.r.spool.SessionsDir()); err != nil {
		return ReasonWriteFail, err
	}
	if err := rc.r.spool.WriteJournal(rc.m); err != nil {
		return ReasonWriteFail, err
	}
	return "", nil
}

// captureLoop opens the device (retrying while it is missing), writes its
// frames, and returns the reason recording ended.
func (rc *recording) captureLoop() string {
	cfg := rc.r.o.Config
	if y := rc.yield; y != nil {
		t := time.NewTimer(checkYield)
		select {
		case <-y.closed:
		case <-t.C:
			rc.log.Warn().Msg("microphone check slow to release the capture device; opening it anyway")
		case <-rc.stop:
			t.Stop()
			return rc.stopReason()
		}
		t.Stop()
	}
	retry := time.NewTimer(0)
	defer retry.Stop()
	for {
		select {
		case <-rc.stop:
			return rc.stopReason()
		case <-retry.C:
		}
		st, err := rc.r.o.Source.Open(rc.r.fmt)
		if err != nil {
			if rc.lostAt.IsZero() {
				rc.lostAt = time.Now()
				rc.r.c.lost.Add(1)
			}
			rc.log.Warn().Err(err).Msg("capture device not available; retrying")
			rc.alert(AlertMicLost, "Microphone not found; retrying", true)
			rc.setState(room.RecorderFault, "microphone not available")
			retry.Reset(cfg.RetryInterval.Duration)
			continue
		}
		if rc.stopping() {
			st.Close()
			return rc.stopReason()
		}
		rc.r.c.opens.Add(1)
		if !rc.lostAt.IsZero() {
			rc.noteGap(time.Since(rc.lostAt))
			rc.lostAt = time.Time{}
		}
		rc.alert(AlertMicLost, "", false)
		rc.streamMu.Lock()
		rc.stream = st
		rc.streamMu.Unlock()
		rc.setState(room.RecorderRecording, "")

		reason := rc.pump(st)

		rc.streamMu.Lock()
		rc.stream = nil
		rc.streamMu.Unlock()
		rc.r.c.overruns.Add(st.Overruns())
		if err := rc.sealSegment(); err != nil {
			rc.log.Error().Err(err).Msg("seal segment")
		}
		if reason != "" {
			return reason
		}
		// Device lost: seal done; report, then retry.
		rc.lostAt = time.Now()
		rc.r.c.lost.Add(1)
		rc.log.Warn().Msg("capture device lost; retrying")
		rc.alert(AlertMicLost, "Microphone disconnected; retrying", true)
		rc.setState(room.RecorderFault, "microphone lost")
		retry.Reset(cfg.RetryInterval.Duration)
	}
}

func (rc *recording) stopReason() string {
	if rc.withdrawn.Load() {
		return ReasonWithdrawn
	}
	if rc.suspend.Load() {
		return ReasonSuspended
	}
	return ReasonEnd
}

// pump moves frames from the device to the segment until stop ("" on device
// loss). On stop the device is closed first, then what it had already
// delivered is written.
func (rc *recording) pump(st Stream) string {
	// No ticker: the level, the alerts and the disk are looked at when
	// audio arrives and levelEvery has passed. All of them change only
	// with audio, and a timer of its own would wake the process 4 more
	// times a second (each wake-up is most of what capture costs).
	lastTick := time.Now()
	lastDisk := lastTick
	var lastOverruns uint64
	var reason string
	closed := false
	closeStream := func() {
		if closed {
			return
		}
		closed = true
		// A device stuck in a read can hold up its close; the withdrawal
		// budget must not wait for it.
		res := make(chan error, 1)
		go func() { res <- st.Close() }()
		select {
		case err := <-res:
			if err != nil {
				rc.log.Warn().Err(err).Msg("close capture")
			}
		case <-time.After(closeWait):
			rc.log.Error().Msg("capture device slow to close; it closes when its read returns")
		}
	}
	defer closeStream()
loop:
	for {
		select {
		case b := <-st.Data():
			err := rc.write(b)
			st.Release(b)
			if err != nil {
				rc.log.Error().Err(err).Msg("write segment")
				rc.r.c.writeErrs.Add(1)
				reason = ReasonWriteFail
				break loop
			}
			if rc.frames >= int64(rc.maxLen.Seconds()*float64(rc.r.fmt.SampleRate)) {
				reason = ReasonMaxLength
				break loop
			}
			now := time.Now()
			if now.Sub(lastTick) < levelEvery {
				continue
			}
			lastTick = now
			rc.tick()
			if o := st.Overruns(); o != lastOverruns {
				rc.log.Warn().Uint64("frames_dropped", o-lastOverruns).Msg("capture overrun: the writer fell behind")
				lastOverruns = o
			}
			if now.Sub(lastDisk) >= rc.r.o.DiskCheckEvery {
				lastDisk = now
				if r := rc.checkDisk(); r != "" {
					reason = r
					break loop
				}
			}
		case <-st.Lost():
			closeStream()
			rc.drain(st)
			return ""
		case <-rc.stop:
			reason = rc.stopReason()
			break loop
		}
	}
	closeStream()
	if reason == ReasonWithdrawn {
		// Before markCaptureClosed: Stop returns only once the journal
		// says withdrawn, so a crash right after the room was told can
		// never recover the session as uploadable.
		rc.holdJournal()
	}
	if reason == ReasonWithdrawn || reason == ReasonEnd || reason == ReasonSuspended {
		rc.markCaptureClosed()
	}
	if reason != ReasonWriteFail {
		rc.drain(st)
	}
	return reason
}

// drain writes the buffers the closed device had already delivered.
func (rc *recording) drain(st Stream) {
	for {
		select {
		case b := <-st.Data():
			err := rc.write(b)
			st.Release(b)
			if err != nil {
				rc.r.c.writeErrs.Add(1)
				return
			}
		default:
			return
		}
	}
}

func (rc *recording) tick() {
	changed := false
	lv := rc.meter.Level()
	// Publish the level only when it moved by a whole dB: the screen
	// redraws on every snapshot.
	if math.Round(lv.RMSdBFS) != math.Round(rc.level.RMSdBFS) || math.Round(lv.PeakdBFS) != math.Round(rc.level.PeakdBFS) {
		rc.level = room.Level{RMSdBFS: math.Round(lv.RMSdBFS*10) / 10, PeakdBFS: math.Round(lv.PeakdBFS*10) / 10}
		changed = true
	}
	rc.r.c.rms.Store(toBits(lv.RMSdBFS))
	rc.r.c.peak.Store(toBits(lv.PeakdBFS))
	rc.r.c.clipped.Store(rc.meter.Clipped())
	silent := rc.meter.SilentFor() >= rc.r.o.Config.SilenceAfter.Duration
	if rc.alert(AlertMicSilent, "Microphone hears nothing; check it is on and uncovered", silent) {
		changed = true
		if silent {
			rc.log.Warn().Msg("microphone silent")
		}
	}
	if changed {
		rc.publish()
	}
}

func (rc *recording) checkDisk() string {
	free, err := rc.r.o.FreeSpace(rc.r.o.Config.SpoolDir)
	if err != nil {
		rc.log.Warn().Err(err).Msg("check free space")
		return ""
	}
	floor := uint64(rc.r.o.Config.DiskFloorMB) << 20
	if rc.alert(AlertDiskLow, "Storage almost full", free < 2*floor) {
		rc.publish()
	}
	if free < floor {
		rc.log.Error().Uint64("free_mb", free>>20).Msg("storage under the floor; stopping recording")
		return ReasonDiskFloor
	}
	return ""
}

func (rc *recording) noteGap(d time.Duration) {
	reason := AlertMicLost
	if rc.gapReason != "" {
		reason, rc.gapReason = rc.gapReason, ""
	}
	d = max(d, 0)
	g := manifest.Gap{AfterSegment: rc.lastIndex(), DurationNS: int64(d),
		Frames: int64(d.Seconds() * float64(rc.r.fmt.SampleRate)), Reason: reason}
	rc.m.Gaps = append(rc.m.Gaps, g)
	if reason == GapInterrupted {
		// The consent record notes the resumption (sealed again: it is
		// the encrypted part of the manifest).
		rc.resumedGap = max(d, time.Nanosecond)
		rc.info.Consent.Resumed = append(rc.info.Consent.Resumed, room.Resumption{At: time.Now().UTC(), Gap: d})
		if p, err := manifest.SealPersonal(manifest.Personal{Consent: rc.info.Consent}, rc.recipients...); err == nil {
			rc.m.Personal = p
		} else {
			rc.log.Error().Err(err).Msg("seal the consent record with the resumption")
		}
		rc.r.c.resumes.Add(1)
		rc.log.Info().Dur("gap", d).Int("after_segment", g.AfterSegment).Msg("recording resumed after an interruption")
	}
	if err := rc.r.spool.WriteJournal(rc.m); err != nil {
		rc.log.Error().Err(err).Msg("write journal")
	}
}

func (rc *recording) lastIndex() int {
	if n := len(rc.m.Segments); n > 0 {
		return rc.m.Segments[n-1].Index
	}
	return 0
}

// write meters pcm and writes it, rolling over at the segment length.
func (rc *recording) write(pcm []byte) error {
	rc.meter.Write(pcm)
	fb := rc.r.fmt.FrameBytes()
	rc.r.c.frames.Add(uint64(len(pcm) / fb))
	for len(pcm) > 0 {
		if rc.seg == nil {
			if err := rc.openSegment(len(pcm) / fb); err != nil {
				return err
			}
		}
		room := int((rc.segLimit - rc.seg.w.Frames()) * int64(fb))
		n := min(room, len(pcm))
		if err := rc.seg.write(pcm[:n]); err != nil {
			return err
		}
		rc.frames += int64(n / fb)
		pcm = pcm[n:]
		if rc.seg.w.Frames() >= rc.segLimit {
			if err := rc.sealSegment(); err != nil {
				return err
			}
		}
	}
	return nil
}

func (rc *recording) openSegment(pendingFrames int) error {
	idx := rc.lastIndex() + 1
	// The first frame of this buffer was captured about one buffer ago.
	started := time.Now().Add(-time.Duration(pendingFrames) * time.Second / time.Duration(rc.r.fmt.SampleRate)).UTC()
	h := segment.Header{SampleRate: rc.r.fmt.SampleRate, Channels: rc.r.fmt.Channels, Index: idx,
		StartFrame: rc.frames, Started: started, SessionID: rc.info.ID}
	sf, err := createSegment(rc.info.ID, h, rc.r, rc.recipients)
	if err != nil {
		return fmt.Errorf("open segment %d: %w", idx, err)
	}
	rc.seg = sf
	return nil
}

func (rc *recording) sealSegment() error {
	sf := rc.seg
	if sf == nil {
		return nil
	}
	rc.seg = nil
	sg, err := sf.seal()
	if err != nil {
		return fmt.Errorf("seal segment %d: %w", sf.idx, err)
	}
	rc.r.c.segments.Add(1)
	// The journal is not rewritten here: recovery describes sealed segments
	// from their files exactly (segment.PCMSize), so only the session's
	// fields and gaps need it.
	rc.m.Segments = append(rc.m.Segments, sg)
	return nil
}

// holdJournal marks the journal withdrawn and makes it durable (the spool
// fsyncs the file and its folder), so that a crash or power cut before the
// held manifest is written recovers the session as held too: never released
// for upload without the participants' choice. A failed write is retried;
// if every attempt fails the recorder raises a storage fault (the storage
// check turns abnormal, the counselor sees an alert) and Stop reports the
// error. finish tries once more before the held manifest.
func (rc *recording) holdJournal() {
	if rc.heldJournal || !rc.withdrawn.Load() {
		return
	}
	rc.m.Withdrawn = true
	var err error
	wait := holdRetry
	for attempt := 1; attempt <= holdAttempts; attempt++ {
		if err = writeJournal(rc.r.spool, rc.m); err == nil {
			rc.heldJournal = true
			rc.heldOnce.Do(func() { close(rc.held) })
			if rc.r.clearSpoolFault(rc.info.ID) && rc.alert(AlertSpoolWrite, "", false) {
				rc.publish()
			}
			return
		}
		rc.r.c.writeErrs.Add(1)
		rc.log.Error().Err(err).Int("attempt", attempt).Msg("write withdrawn journal")
		if attempt < holdAttempts {
			time.Sleep(wait)
			wait *= 2
		}
	}
	rc.r.raiseSpoolFault(rc.info.ID, fmt.Errorf("withdrawal of session %s not on disk: %w", rc.info.ID, err))
	if rc.alert(AlertSpoolWrite, "Storage write failing: the withdrawal may not be kept after a power cut", true) {
		rc.publish()
	}
}

// The withdrawn journal's retries: 4 attempts within about 70 ms, inside the
// withdrawal's 250 ms budget.
const (
	holdAttempts = 4
	holdRetry    = 10 * time.Millisecond
)

// writeJournal is the spool's journal write; tests replace it to inject
// failures.
var writeJournal = func(sp spool.Spool, m *manifest.Manifest) error { return sp.WriteJournal(m) }

func (rc *recording) finish(reason string) {
	rc.holdJournal()
	if err := rc.sealSegment(); err != nil {
		rc.log.Error().Err(err).Msg("seal last segment")
	}
	if reason == ReasonSuspended {
		// No manifest: the session is not over. Its journal (gaps, the
		// consent record) is all a resumption or a recovery needs; the
		// sealed segments are described from their files.
		if err := rc.r.spool.WriteJournal(rc.m); err != nil {
			rc.log.Error().Err(err).Msg("write journal at suspend")
		}
		rc.log.Info().Int("segments", len(rc.m.Segments)).Int64("frames", rc.frames).Msg("session suspended: it resumes or is recovered at the next start")
		rc.level = room.Level{RMSdBFS: FloorDBFS, PeakdBFS: FloorDBFS}
		rc.setState(room.RecorderStopped, reason)
		return
	}
	if !rc.lostAt.IsZero() {
		// The session ended while the device was missing: the rest of it
		// is a gap too.
		rc.noteGap(time.Since(rc.lostAt))
	}
	rc.m.Ended = time.Now().UTC()
	rc.m.DurationNS = int64(time.Since(rc.t0))
	if rc.resumeM != nil {
		// Resumed: the monotonic clock of the first part died with the
		// daemon; the wall clock spans the whole session.
		rc.m.DurationNS = max(int64(rc.m.Ended.Sub(rc.m.Started)), 0)
	}
	rc.m.Withdrawn = rc.withdrawn.Load()
	rc.m.StopReason = reason
	if rc.m.Withdrawn {
		// Held out of the upload queue until the participants choose:
		// Keep releases it, Discard deletes it.
		if err := rc.r.spool.WriteHeldManifest(rc.m); err != nil {
			rc.log.Error().Err(err).Msg("write held manifest")
		} else {
			rc.log.Info().Int("segments", len(rc.m.Segments)).Int64("frames", rc.frames).Msg("withdrawn session sealed; held until keep or delete")
		}
	} else if err := rc.r.spool.WriteManifest(rc.m); err != nil {
		rc.log.Error().Err(err).Msg("write manifest")
	} else {
		rc.log.Info().Str("reason", reason).Int("segments", len(rc.m.Segments)).Int64("frames", rc.frames).Msg("session sealed")
		rc.r.wake()
	}
	rc.r.c.done.Add(1)
	delete(rc.alerts, AlertMicLost)
	delete(rc.alerts, AlertMicSilent)
	rc.level = room.Level{RMSdBFS: FloorDBFS, PeakdBFS: FloorDBFS}
	rc.setState(room.RecorderStopped, reason)
}

// segFile is one segment being written: .part file, age stream, running
// SHA-256 of the ciphertext.
type segFile struct {
	r       *Recorder
	id      string // the session's
	dir     string
	idx     int
	name    string
	f       *os.File
	h       hash.Hash
	w       *segment.Writer
	written int64 // ciphertext synced so far
}

// Write passes ciphertext to the file and the hash. age hands over a whole
// chunk per call, so this adds no copy.
func (s *segFile) Write(p []byte) (int, error) {
	n, err := s.f.Write(p)
	s.h.Write(p[:n])
	return n, err
}

func createSegment(id string, h segment.Header, r *Recorder, recipients []age.Recipient) (*segFile, error) {
	name := manifest.SegmentName(h.Index, segment.Ext)
	dir := r.spool.SessionDir(id)
	f, err := os.OpenFile(r.spool.PartPath(id, name), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, err
	}
	s := &segFile{r: r, id: id, dir: dir, idx: h.Index, name: name, f: f, h: sha256.New()}
	s.w, err = segment.NewWriter(s, h, recipients...)
	if err == nil {
		err = s.sync()
		if err == nil {
			err = r.spool.SyncDir(dir)
		}
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return s, nil
}

func (s *segFile) sync() error {
	if s.r.o.NoSync {
		return nil
	}
	s.r.c.fsyncs.Add(1)
	if err := s.f.Sync(); err != nil {
		return fmt.Errorf("fsync %s: %w", s.name, err)
	}
	return nil
}

// write encrypts pcm; whenever a chunk reached the file, it is fsync'ed, so
// a power cut loses at most the chunk being filled.
func (s *segFile) write(pcm []byte) error {
	if _, err := s.w.Write(pcm); err != nil {
		return err
	}
	if c := s.w.CipherBytes(); c != s.written {
		s.r.c.bytes.Add(uint64(c - s.written))
		s.written = c
		return s.sync()
	}
	return nil
}

// seal writes the final chunk, fsyncs, renames .part to the sealed name and
// fsyncs the folder.
func (s *segFile) seal() (manifest.Segment, error) {
	err := s.w.Close()
	if c := s.w.CipherBytes(); c != s.written {
		s.r.c.bytes.Add(uint64(c - s.written))
		s.written = c
	}
	if err == nil {
		err = s.sync()
	}
	if cerr := s.f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = s.r.spool.Seal(s.id, s.name)
	}
	if err == nil {
		err = s.r.spool.SyncDir(s.dir)
	}
	if err != nil {
		return manifest.Segment{}, errors.Join(errors.New("seal"), err)
	}
	return manifest.Segment{Name: s.name, Index: s.idx, Samples: s.w.Frames(), Bytes: s.written,
		SHA256: hex.EncodeToString(s.h.Sum(nil)), Partial: false}, nil
}

func toBits(f float64) uint64   { return math.Float64bits(f) }
func fromBits(b uint64) float64 { return math.Float64frombits(b) }
