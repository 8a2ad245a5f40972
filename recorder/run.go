package recorder

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"math"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"roomkiosk/kiosk/room"
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
)

// Alert codes.
const (
	AlertMicSilent = "mic_silent"
	AlertMicLost   = "mic_lost"
	AlertDiskLow   = "disk_low"
)

const (
	levelEvery = 250 * time.Millisecond // at most 4 level updates a second
	closeWait  = 150 * time.Millisecond // longest a device close may hold up Stop
)

// run is one session's capture-and-write loop, on its own goroutine.
type run struct {
	r      *Recorder
	info   room.SessionInfo
	maxLen time.Duration
	log    zerolog.Logger

	stopOnce      sync.Once
	stop          chan struct{} // closed by Stop/Discard
	withdrawn     atomic.Bool   // set before stop is closed
	captureClosed chan struct{} // closed once no device is open after stop
	ccOnce        sync.Once
	done          chan struct{} // closed after the manifest is written
	heldJournal   bool          // the journal says withdrawn (run goroutine only)
	yield         *checkHold    // a microphone check cancelled by Start: wait for its close

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
}

func newRun(r *Recorder, info room.SessionInfo, maxLen time.Duration) *run {
	return &run{
		r: r, info: info, maxLen: maxLen,
		log:           r.o.Log.With().Str("session", info.ID).Logger(),
		stop:          make(chan struct{}),
		captureClosed: make(chan struct{}),
		done:          make(chan struct{}),
		segLimit:      int64(r.o.Config.SegmentLength.Seconds() * float64(r.fmt.SampleRate)),
		meter:         NewMeter(r.fmt, r.o.Config.SilenceThreshold),
		alerts:        map[string]room.Alert{},
		level:         room.Level{RMSdBFS: FloorDBFS, PeakdBFS: FloorDBFS},
	}
}

func (ru *run) requestStop(withdrawn bool) {
	ru.stopOnce.Do(func() {
		ru.withdrawn.Store(withdrawn)
		close(ru.stop)
	})
}

func (ru *run) stopping() bool {
	select {
	case <-ru.stop:
		return true
	default:
		return false
	}
}

func (ru *run) liveOverruns() uint64 {
	ru.streamMu.Lock()
	defer ru.streamMu.Unlock()
	if ru.stream == nil {
		return 0
	}
	return ru.stream.Overruns()
}

func (ru *run) publish() {
	st := room.RecorderStatus{SessionID: ru.info.ID, State: ru.state, Reason: ru.reason, Level: ru.level}
	for _, code := range []string{AlertMicLost, AlertMicSilent, AlertDiskLow} {
		if a, ok := ru.alerts[code]; ok {
			st.Alerts = append(st.Alerts, a)
		}
	}
	ru.r.setStatus(st)
}

func (ru *run) setState(s room.RecorderState, reason string) {
	ru.state, ru.reason = s, reason
	ru.publish()
}

func (ru *run) alert(code, msg string, on bool) bool {
	_, had := ru.alerts[code]
	switch {
	case on && !had:
		ru.alerts[code] = room.Alert{Code: code, Message: msg, Since: time.Now().UTC()}
		return true
	case !on && had:
		delete(ru.alerts, code)
		return true
	}
	return false
}

func (ru *run) loop() {
	defer close(ru.done)
	defer ru.r.finished(ru)
	ru.t0 = time.Now()
	ru.setState(room.RecorderStarting, "")
	ru.m = &manifest.Manifest{
		Version: manifest.Version, SessionID: ru.info.ID, RoomID: ru.r.o.RoomID, DeviceID: ru.r.o.DeviceID,
		CounselorID: ru.info.CounselorID, Format: ru.r.manifestFormat(), Started: ru.t0.UTC(),
		Segments: []manifest.Segment{}, Gaps: []manifest.Gap{},
	}
	stopReason, err := ru.prepare()
	if err == nil {
		stopReason = ru.captureLoop()
	} else {
		ru.log.Error().Err(err).Msg("prepare session folder")
	}
	ru.markCaptureClosed()
	ru.finish(stopReason)
}

// markCaptureClosed tells a waiting Stop that no device is open any more.
func (ru *run) markCaptureClosed() { ru.ccOnce.Do(func() { close(ru.captureClosed) }) }

func (ru *run) prepare() (string, error) {
	p, err := manifest.SealPersonal(manifest.Personal{Consent: ru.info.Consent}, ru.r.o.Recipients...)
	if err != nil {
		return ReasonWriteFail, err
	}
	ru.m.Personal = p
	if err := os.MkdirAll(ru.r.spool.SessionDir(ru.info.ID), 0o700); err != nil {
		return ReasonWriteFail, fmt.Errorf("create session folder: %w", err)
	}
	if err := ru.r.spool.SyncDir(ru.r.spool.SessionsDir()); err != nil {
		return ReasonWriteFail, err
	}
	if err := ru.r.spool.WriteJournal(ru.m); err != nil {
		return ReasonWriteFail, err
	}
	return "", nil
}

// captureLoop opens the device (retrying while it is missing), writes its
// frames, and returns the reason recording ended.
func (ru *run) captureLoop() string {
	cfg := ru.r.o.Config
	if y := ru.yield; y != nil {
		t := time.NewTimer(checkYield)
		select {
		case <-y.closed:
		case <-t.C:
			ru.log.Warn().Msg("microphone check slow to release the capture device; opening it anyway")
		case <-ru.stop:
			t.Stop()
			return ru.stopReason()
		}
		t.Stop()
	}
	retry := time.NewTimer(0)
	defer retry.Stop()
	for {
		select {
		case <-ru.stop:
			return ru.stopReason()
		case <-retry.C:
		}
		st, err := ru.r.o.Source.Open(ru.r.fmt)
		if err != nil {
			if ru.lostAt.IsZero() {
				ru.lostAt = time.Now()
				ru.r.c.lost.Add(1)
			}
			ru.log.Warn().Err(err).Msg("capture device not available; retrying")
			ru.alert(AlertMicLost, "Microphone not found; retrying", true)
			ru.setState(room.RecorderFault, "microphone not available")
			retry.Reset(cfg.RetryInterval.Duration)
			continue
		}
		if ru.stopping() {
			st.Close()
			return ru.stopReason()
		}
		ru.r.c.opens.Add(1)
		if !ru.lostAt.IsZero() {
			ru.noteGap(time.Since(ru.lostAt))
			ru.lostAt = time.Time{}
		}
		ru.alert(AlertMicLost, "", false)
		ru.streamMu.Lock()
		ru.stream = st
		ru.streamMu.Unlock()
		ru.setState(room.RecorderRecording, "")

		reason := ru.pump(st)

		ru.streamMu.Lock()
		ru.stream = nil
		ru.streamMu.Unlock()
		ru.r.c.overruns.Add(st.Overruns())
		if err := ru.sealSegment(); err != nil {
			ru.log.Error().Err(err).Msg("seal segment")
		}
		if reason != "" {
			return reason
		}
		// Device lost: seal done; report, then retry.
		ru.lostAt = time.Now()
		ru.r.c.lost.Add(1)
		ru.log.Warn().Msg("capture device lost; retrying")
		ru.alert(AlertMicLost, "Microphone disconnected; retrying", true)
		ru.setState(room.RecorderFault, "microphone lost")
		retry.Reset(cfg.RetryInterval.Duration)
	}
}

func (ru *run) stopReason() string {
	if ru.withdrawn.Load() {
		return ReasonWithdrawn
	}
	return ReasonEnd
}

// pump moves frames from the device to the segment until stop ("" on device
// loss). On stop the device is closed first, then what it had already
// delivered is written.
func (ru *run) pump(st Stream) string {
	tick := time.NewTicker(levelEvery)
	defer tick.Stop()
	lastDisk := time.Now()
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
				ru.log.Warn().Err(err).Msg("close capture")
			}
		case <-time.After(closeWait):
			ru.log.Error().Msg("capture device slow to close; it closes when its read returns")
		}
	}
	defer closeStream()
loop:
	for {
		select {
		case b := <-st.Data():
			err := ru.write(b)
			st.Release(b)
			if err != nil {
				ru.log.Error().Err(err).Msg("write segment")
				ru.r.c.writeErrs.Add(1)
				reason = ReasonWriteFail
				break loop
			}
			if ru.frames >= int64(ru.maxLen.Seconds()*float64(ru.r.fmt.SampleRate)) {
				reason = ReasonMaxLength
				break loop
			}
		case <-st.Lost():
			closeStream()
			ru.drain(st)
			return ""
		case <-ru.stop:
			reason = ru.stopReason()
			break loop
		case <-tick.C:
			ru.tick()
			if o := st.Overruns(); o != lastOverruns {
				ru.log.Warn().Uint64("frames_dropped", o-lastOverruns).Msg("capture overrun: the writer fell behind")
				lastOverruns = o
			}
			if time.Since(lastDisk) >= ru.r.o.DiskCheckEvery {
				lastDisk = time.Now()
				if r := ru.checkDisk(); r != "" {
					reason = r
					break loop
				}
			}
		}
	}
	closeStream()
	if reason == ReasonWithdrawn || reason == ReasonEnd {
		ru.markCaptureClosed()
	}
	if reason == ReasonWithdrawn {
		ru.holdJournal()
	}
	if reason != ReasonWriteFail {
		ru.drain(st)
	}
	return reason
}

// drain writes the buffers the closed device had already delivered.
func (ru *run) drain(st Stream) {
	for {
		select {
		case b := <-st.Data():
			err := ru.write(b)
			st.Release(b)
			if err != nil {
				ru.r.c.writeErrs.Add(1)
				return
			}
		default:
			return
		}
	}
}

func (ru *run) tick() {
	changed := false
	lv := ru.meter.Level()
	// Publish the level only when it moved by a whole dB: the screen
	// redraws on every snapshot.
	if math.Round(lv.RMSdBFS) != math.Round(ru.level.RMSdBFS) || math.Round(lv.PeakdBFS) != math.Round(ru.level.PeakdBFS) {
		ru.level = room.Level{RMSdBFS: math.Round(lv.RMSdBFS*10) / 10, PeakdBFS: math.Round(lv.PeakdBFS*10) / 10}
		changed = true
	}
	ru.r.c.rms.Store(toBits(lv.RMSdBFS))
	ru.r.c.peak.Store(toBits(lv.PeakdBFS))
	ru.r.c.clipped.Store(ru.meter.Clipped())
	silent := ru.meter.SilentFor() >= ru.r.o.Config.SilenceAfter.Duration
	if ru.alert(AlertMicSilent, "Microphone hears nothing; check it is on and uncovered", silent) {
		changed = true
		if silent {
			ru.log.Warn().Msg("microphone silent")
		}
	}
	if changed {
		ru.publish()
	}
}

func (ru *run) checkDisk() string {
	free, err := ru.r.o.FreeSpace(ru.r.o.Config.SpoolDir)
	if err != nil {
		ru.log.Warn().Err(err).Msg("check free space")
		return ""
	}
	floor := uint64(ru.r.o.Config.DiskFloorMB) << 20
	if ru.alert(AlertDiskLow, "Storage almost full", free < 2*floor) {
		ru.publish()
	}
	if free < floor {
		ru.log.Error().Uint64("free_mb", free>>20).Msg("storage under the floor; stopping recording")
		return ReasonDiskFloor
	}
	return ""
}

func (ru *run) noteGap(d time.Duration) {
	g := manifest.Gap{AfterSegment: ru.lastIndex(), DurationNS: int64(d),
		Frames: int64(d.Seconds() * float64(ru.r.fmt.SampleRate)), Reason: AlertMicLost}
	ru.m.Gaps = append(ru.m.Gaps, g)
	if err := ru.r.spool.WriteJournal(ru.m); err != nil {
		ru.log.Error().Err(err).Msg("write journal")
	}
}

func (ru *run) lastIndex() int {
	if n := len(ru.m.Segments); n > 0 {
		return ru.m.Segments[n-1].Index
	}
	return 0
}

// write meters pcm and writes it, rolling over at the segment length.
func (ru *run) write(pcm []byte) error {
	ru.meter.Write(pcm)
	fb := ru.r.fmt.FrameBytes()
	ru.r.c.frames.Add(uint64(len(pcm) / fb))
	for len(pcm) > 0 {
		if ru.seg == nil {
			if err := ru.openSegment(len(pcm) / fb); err != nil {
				return err
			}
		}
		room := int((ru.segLimit - ru.seg.w.Frames()) * int64(fb))
		n := min(room, len(pcm))
		if err := ru.seg.write(pcm[:n]); err != nil {
			return err
		}
		ru.frames += int64(n / fb)
		pcm = pcm[n:]
		if ru.seg.w.Frames() >= ru.segLimit {
			if err := ru.sealSegment(); err != nil {
				return err
			}
		}
	}
	return nil
}

func (ru *run) openSegment(pendingFrames int) error {
	idx := ru.lastIndex() + 1
	// The first frame of this buffer was captured about one buffer ago.
	started := time.Now().Add(-time.Duration(pendingFrames) * time.Second / time.Duration(ru.r.fmt.SampleRate)).UTC()
	h := segment.Header{SampleRate: ru.r.fmt.SampleRate, Channels: ru.r.fmt.Channels, Index: idx,
		StartFrame: ru.frames, Started: started, SessionID: ru.info.ID}
	sf, err := createSegment(ru.r.spool.SessionDir(ru.info.ID), h, ru.r)
	if err != nil {
		return fmt.Errorf("open segment %d: %w", idx, err)
	}
	ru.seg = sf
	return nil
}

func (ru *run) sealSegment() error {
	sf := ru.seg
	if sf == nil {
		return nil
	}
	ru.seg = nil
	sg, err := sf.seal()
	if err != nil {
		return fmt.Errorf("seal segment %d: %w", sf.idx, err)
	}
	ru.r.c.segments.Add(1)
	// The journal is not rewritten here: recovery describes sealed segments
	// from their files exactly (segment.PCMSize), so only the session's
	// fields and gaps need it.
	ru.m.Segments = append(ru.m.Segments, sg)
	return nil
}

// holdJournal marks the journal withdrawn as soon as capture stopped, so
// that a power cut before the held manifest is written recovers the session
// as held too (never released for upload without a choice).
func (ru *run) holdJournal() {
	if ru.heldJournal || !ru.withdrawn.Load() {
		return
	}
	ru.heldJournal = true
	ru.m.Withdrawn = true
	if err := ru.r.spool.WriteJournal(ru.m); err != nil {
		ru.log.Error().Err(err).Msg("write journal")
	}
}

func (ru *run) finish(reason string) {
	ru.holdJournal()
	if err := ru.sealSegment(); err != nil {
		ru.log.Error().Err(err).Msg("seal last segment")
	}
	if !ru.lostAt.IsZero() {
		// The session ended while the device was missing: the rest of it
		// is a gap too.
		ru.noteGap(time.Since(ru.lostAt))
	}
	ru.m.Ended = time.Now().UTC()
	ru.m.DurationNS = int64(time.Since(ru.t0))
	ru.m.Withdrawn = ru.withdrawn.Load()
	ru.m.StopReason = reason
	if ru.m.Withdrawn {
		// Held out of the upload queue until the participants choose:
		// Keep releases it, Discard deletes it.
		if err := ru.r.spool.WriteHeldManifest(ru.m); err != nil {
			ru.log.Error().Err(err).Msg("write held manifest")
		} else {
			ru.log.Info().Int("segments", len(ru.m.Segments)).Int64("frames", ru.frames).Msg("withdrawn session sealed; held until keep or delete")
		}
	} else if err := ru.r.spool.WriteManifest(ru.m); err != nil {
		ru.log.Error().Err(err).Msg("write manifest")
	} else {
		ru.log.Info().Str("reason", reason).Int("segments", len(ru.m.Segments)).Int64("frames", ru.frames).Msg("session sealed")
		ru.r.wake()
	}
	ru.r.c.done.Add(1)
	delete(ru.alerts, AlertMicLost)
	delete(ru.alerts, AlertMicSilent)
	ru.level = room.Level{RMSdBFS: FloorDBFS, PeakdBFS: FloorDBFS}
	ru.setState(room.RecorderStopped, reason)
}

// segFile is one segment being written: .part file, age stream, running
// SHA-256 of the ciphertext.
type segFile struct {
	r       *Recorder
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

func createSegment(dir string, h segment.Header, r *Recorder) (*segFile, error) {
	name := manifest.SegmentName(h.Index, segment.Ext)
	f, err := os.OpenFile(filepath.Join(dir, name+spool.PartSuffix), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, err
	}
	s := &segFile{r: r, dir: dir, idx: h.Index, name: name, f: f, h: sha256.New()}
	s.w, err = segment.NewWriter(s, h, r.o.Recipients...)
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
		err = os.Rename(filepath.Join(s.dir, s.name+spool.PartSuffix), filepath.Join(s.dir, s.name))
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
