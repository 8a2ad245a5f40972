package recorder

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"

	"roomkiosk/internal/room"
)

// MicCheck is the "microphone" check: the device opens and delivers audio;
// the quietest 100 ms of the whole window (at least micPauseWindow, so a
// pause in speech is found even when people talk) is under the noise floor;
// during the speech window (someone says something) the peak rises above
// the speech threshold; no sample clips.
//
// With Recorder set, the recorder is the device's one owner: while a session
// records (or is starting) the check reports the live level instead of
// opening the device; while a session is open and not recording it opens
// nothing and reports "deferred: session in progress"; and a session
// starting (or opening) while the check holds the device cancels the check,
// which closes its stream at once.
//
// With Occupied set and saying the room is occupied (presence), the check
// judges only that the device opens and delivers audio, and reports the
// levels without a noise or clipping verdict: people talking in the room
// are not a faulty microphone.
type MicCheck struct {
	Config   Config
	Source   Source
	Recorder *Recorder // optional: the live recorder
	Occupied func() bool
	Now      func() time.Time
}

// micPauseWindow is the shortest listening window: speech leaves a pause of
// 100 ms within a few seconds.
const micPauseWindow = 4 * time.Second

// Deferred is the value of a microphone check asked during an open session
// that is not recording.
const Deferred = "deferred: session in progress"

// Name implements the check runner's interface.
func (c *MicCheck) Name() string { return "microphone" }

// Run opens the device for the listening window.
func (c *MicCheck) Run(ctx context.Context) (res room.CheckResult) {
	now := time.Now
	if c.Now != nil {
		now = c.Now
	}
	res = room.CheckResult{Name: c.Name(), Required: true, State: room.CheckUnknown,
		Threshold: fmt.Sprintf("noise < %.0f dBFS, speech peak > %.0f dBFS, no clipping", c.Config.MicNoiseFloor, c.Config.MicSpeechPeak)}
	defer func() { res.At = now().UTC() }()
	parent := ctx
	if c.Recorder != nil {
		cctx, release, owner := c.Recorder.claimForCheck(ctx)
		switch owner {
		case ownerSession:
			return c.live(res)
		case ownerOpenSession:
			res.Value = Deferred
			return res
		case ownerCheck:
			res.Value = "in use by another microphone check"
			return res
		}
		// Runs after the stream's Close (defers run last-in first-out).
		defer release()
		ctx = cctx
	}
	stopped := func() string {
		if c.Recorder != nil {
			c.Recorder.mu.Lock()
			open := c.Recorder.openSession != ""
			c.Recorder.mu.Unlock()
			if open {
				return Deferred
			}
		}
		return "check stopped: a session started recording"
	}
	occupied := c.Occupied != nil && c.Occupied()
	f := c.Config.Format()
	if ctx.Err() != nil && parent.Err() == nil {
		res.Value = stopped()
		return res
	}
	st, err := c.Source.Open(f)
	if err != nil {
		res.State = room.CheckAbnormal
		res.Value = "device does not open"
		res.Hint = "Check that the microphone is plugged in; replug it and run the check again."
		return res
	}
	defer st.Close()
	m := NewMeter(f, c.Config.SilenceThreshold)
	window := max(time.Second+c.Config.MicSpeechFor.Duration, micPauseWindow)
	if occupied {
		window = time.Second // that it delivers audio is all that is judged
	}
	need := uint64(window / (100 * time.Millisecond))
	timeout := time.NewTimer(window + 2*time.Second)
	defer timeout.Stop()
	for m.Blocks() < need {
		select {
		case b := <-st.Data():
			m.Write(b)
			st.Release(b)
		case <-st.Lost():
			res.State = room.CheckAbnormal
			res.Value = "device stopped during the check"
			res.Hint = "Replug the microphone and run the check again."
			return res
		case <-timeout.C:
			res.State = room.CheckAbnormal
			res.Value = fmt.Sprintf("device delivered %d of %d blocks", m.Blocks(), need)
			res.Hint = "The microphone does not deliver audio; replug it."
			return res
		case <-ctx.Done():
			res.Value = "check cancelled"
			if parent.Err() == nil {
				res.Value = stopped()
			}
			return res
		}
	}
	// The quietest 100 ms of the whole window: a pause in speech.
	noise := m.MinRMS()
	res.Value = fmt.Sprintf("noise %.0f dBFS, peak %.0f dBFS, %d clipped", noise, m.MaxPeak(), m.Clipped())
	if occupied {
		res.State = room.CheckGood
		res.Value = fmt.Sprintf("room occupied: device delivers audio (level %.0f dBFS, peak %.0f dBFS); noise not judged", noise, m.MaxPeak())
		return res
	}
	switch {
	case m.Clipped() > 0:
		res.State = room.CheckAbnormal
		res.Hint = "The microphone clips: lower its gain or move it away from loud sources."
	case noise > c.Config.MicNoiseFloor:
		res.State = room.CheckAbnormal
		res.Hint = "The room or the microphone is noisy: close windows and doors, switch off fans."
	case c.Config.MicSpeechFor.Duration > 0 && m.MaxPeak() < c.Config.MicSpeechPeak:
		res.State = room.CheckUnknown
		res.Hint = "Say something near the microphone while the check runs."
	default:
		res.State = room.CheckGood
	}
	return res
}

// live reports the session's own view of the device instead of opening it.
func (c *MicCheck) live(res room.CheckResult) room.CheckResult {
	m := c.Recorder.Metrics()
	switch m.State {
	case room.RecorderRecording:
		res.State = room.CheckGood
		res.Value = fmt.Sprintf("in use by the session; level %.0f dBFS", m.LastRMSdBFS)
	case room.RecorderFault:
		res.State = room.CheckAbnormal
		res.Value = "in use by the session, which cannot capture"
		res.Hint = "Check that the microphone is plugged in; replug it."
	default:
		res.Value = "in use by the session (starting)"
	}
	return res
}

// writeProbe overwrites the first bytes of one probe file and fdatasyncs
// them: the card must take a write and a flush. Once the file exists no
// round creates, allocates or removes anything, so the check (every 5
// minutes, all day) adds no metadata to the file system's journal: a new
// file each round cost about 100 KB at the block layer (images/README.md).
func writeProbe(path string) error {
	fh, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	if _, err := fh.WriteAt([]byte("probe"), 0); err != nil {
		fh.Close()
		return err
	}
	if err := unix.Fdatasync(int(fh.Fd())); err != nil {
		fh.Close()
		return err
	}
	return fh.Close()
}

// StorageCheck is the "storage" check: the spool is writable (a probe file is
// written and fsync'ed) and has room for a session of the maximum length
// plus the margin.
type StorageCheck struct {
	Config Config
	// Recorder, when set, adds the recorder's failed durable writes (a
	// withdrawal journal that could not be written): storage that accepts
	// a probe but failed a promise is not good.
	Recorder  *Recorder
	FreeSpace func(dir string) (uint64, error) // nil: statfs
	Now       func() time.Time
}

// Name implements the check runner's interface.
func (c *StorageCheck) Name() string { return "storage" }

// Run checks free space and writability.
func (c *StorageCheck) Run(ctx context.Context) (res room.CheckResult) {
	now := time.Now
	if c.Now != nil {
		now = c.Now
	}
	free := c.FreeSpace
	if free == nil {
		free = FreeSpace
	}
	f := c.Config.Format()
	pcm := uint64(c.Config.MaxSessionLength.Seconds() * float64(f.BytesPerSecond()))
	need := pcm + pcm/4096 + uint64(c.Config.FreeMarginMB)<<20
	res = room.CheckResult{Name: c.Name(), Required: true, State: room.CheckUnknown,
		Threshold: fmt.Sprintf(">= %d MB free (%v of audio + margin)", need>>20, c.Config.MaxSessionLength.Duration)}
	defer func() { res.At = now().UTC() }()
	if err := os.MkdirAll(c.Config.SpoolDir, 0o700); err != nil {
		res.State = room.CheckAbnormal
		res.Value = "spool folder cannot be created"
		res.Hint = "Storage is missing or read-only: call maintenance."
		return res
	}
	probe := filepath.Join(c.Config.SpoolDir, ".probe")
	if err := writeProbe(probe); err != nil {
		res.State = room.CheckAbnormal
		res.Value = "spool not writable"
		res.Hint = "Storage is full, failing or read-only: call maintenance."
		return res
	}
	if c.Recorder != nil {
		if ferr := c.Recorder.SpoolFault(); ferr != nil {
			res.State = room.CheckAbnormal
			res.Value = "a spool write failed after retries"
			res.Hint = "Storage is failing: call maintenance; do not remove power."
			return res
		}
	}
	n, err := free(c.Config.SpoolDir)
	if err != nil {
		res.Value = "free space unknown"
		res.Hint = "Storage could not be measured: call maintenance."
		return res
	}
	res.Value = fmt.Sprintf("%d MB free", n>>20)
	if n < need {
		res.State = room.CheckAbnormal
		res.Hint = "Not enough room for a full recorded session: wait for uploads to finish or call maintenance."
		return res
	}
	res.State = room.CheckGood
	return res
}
