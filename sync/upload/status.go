package upload

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"roomkiosk/internal/durable"
	"roomkiosk/internal/room"
	"roomkiosk/recorder/manifest"
	"roomkiosk/recorder/spool"
	"roomkiosk/sync/layout"
	"roomkiosk/sync/store"
)

// StatusChanged implements session.Uploader. It keeps the snapshot for the
// next status.json and asks for an immediate put when the door, the
// recording state or a check's state changed. It never blocks.
func (u *Uploader) StatusChanged(s room.Snapshot) {
	u.mu.Lock()
	changed := !u.haveSnap || u.snap.Door != s.Door || u.snap.Recording != s.Recording || u.snap.Recorder != s.Recorder ||
		!sameCheckStates(u.snap.Checks, s.Checks) || !sameMaintenance(u.snap, s)
	u.snap, u.haveSnap = s, true
	u.mu.Unlock()
	if changed {
		select {
		case u.statusKick <- struct{}{}:
		default:
		}
	}
}

func sameCheckStates(a, b []room.CheckResult) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Name != b[i].Name || a[i].State != b[i].State {
			return false
		}
	}
	return true
}

// SessionEnded implements session.Uploader: it queues the session's summary
// durably in the spool and wakes the queue. The file is written on its own
// goroutine so the core's call returns at once.
func (u *Uploader) SessionEnded(sum room.Summary) {
	if !manifest.ValidSessionID(sum.ID) {
		u.log.Error().Str("session", sum.ID).Msg("session summary with an invalid id: not queued")
		return
	}
	rec := layout.SummaryRecord{Version: layout.SummaryVersion, RoomID: u.room, Summary: sum, RetentionClass: u.retentionClass}
	go func() {
		b, _ := json.Marshal(rec)
		if err := durable.WriteFile(u.sp.SummaryPath(sum.ID), b, durable.Options{Perm: 0o640, MkdirPerm: 0o750}); err != nil {
			u.log.Error().Err(err).Str("session", sum.ID).Msg("queue session summary")
		}
		u.Wake()
	}()
}

func (u *Uploader) runStatus(ctx context.Context) {
	t := time.NewTicker(u.cfg.StatusInterval.Duration)
	defer t.Stop()
	var lastErr string
	for {
		if err := u.PutStatus(ctx); err != nil && ctx.Err() == nil {
			// Log a failure once, not every minute of an outage.
			if msg := err.Error(); msg != lastErr {
				u.log.Warn().Err(err).Msg("put status.json")
				lastErr = msg
			}
		} else {
			lastErr = ""
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-u.statusKick:
		}
	}
}

// PutStatus puts rooms/<room>/status.json now.
func (u *Uploader) PutStatus(ctx context.Context) error {
	b, err := u.Status().Marshal()
	if err != nil {
		return err
	}
	// A plain put: status.json is meant to be replaced.
	return u.put(ctx, layout.StatusKey(u.room), bytes.NewReader(b), int64(len(b)), sha256.Sum256(b), store.PutOptions{ContentType: "application/json"})
}

// Status builds the room status from the last snapshot and the spool.
func (u *Uploader) Status() layout.Status {
	q := u.queue()
	u.mu.Lock()
	snap, have := u.snap, u.haveSnap
	r := layout.Status{
		Schema:   layout.StatusVersion,
		RoomID:   u.room,
		DeviceID: u.device,
		Version:  u.version,
		At:       u.now().UTC(),
		Queue:    q,
	}
	if !u.clockAt.IsZero() {
		r.ClockOffsetMS = u.clockOffset.Milliseconds()
		r.ClockMeasured = u.clockAt.UTC()
	}
	u.mu.Unlock()
	if have {
		r.Door, r.Recording, r.Recorder = snap.Door, snap.Recording, snap.Recorder
		// Check results carry names, values and hints: never client data.
		r.Checks = snap.Checks
		r.LastMaintenance, r.ReportedProblems, r.HeldWaiting = snap.LastMaintenance, snap.Problems, snap.HeldWaiting
	}
	r.FreeDiskBytes = freeBytes(u.spool)
	return r
}

// Metrics is what /metrics shows about the upload queue.
type Metrics struct {
	QueueObjects int           // files waiting for upload
	QueueBytes   int64         // their size
	OldestUnsent time.Duration // age of the oldest waiting file, 0 if none
	Quarantined  int           // sessions and requests set aside
	BytesSent    int64         // since start
	Failures     int64         // failed puts since start
	Failing      bool          // the last attempt failed
	Permanent    bool          // ... with an error that needs an admin
}

// Metrics returns the queue's figures now.
func (u *Uploader) Metrics() Metrics {
	q := u.queue()
	u.mu.Lock()
	err := u.lastErr
	u.mu.Unlock()
	return Metrics{
		QueueObjects: q.Objects,
		QueueBytes:   q.Bytes,
		OldestUnsent: time.Duration(q.OldestAgeSec) * time.Second,
		Quarantined:  q.Quarantined,
		BytesSent:    u.bytesSent.Load(),
		Failures:     u.failures.Load(),
		Failing:      err != nil,
		Permanent:    store.IsPermanent(err),
	}
}

// queue measures what waits in the spool (file sizes and times only: it is
// called every minute and by /metrics).
func (u *Uploader) queue() layout.Queue {
	var q layout.Queue
	oldest := time.Time{}
	note := func(t time.Time) {
		if oldest.IsZero() || t.Before(oldest) {
			oldest = t
		}
	}
	for _, d := range []string{u.sp.DeletionsDir(), u.sp.SummariesDir()} {
		fs, _ := listJSON(d)
		for _, f := range fs {
			q.Objects++
			q.Bytes += f.size
			note(f.queuedAt)
		}
	}
	ents, _ := os.ReadDir(u.sp.SessionsDir())
	for _, e := range ents {
		if !e.IsDir() {
			continue
		}
		dir := u.sp.SessionDir(e.Name())
		mi, err := os.Stat(u.sp.ManifestPath(e.Name()))
		if err != nil {
			continue // still recording
		}
		q.Sessions++
		note(mi.ModTime())
		files, _ := os.ReadDir(dir)
		for _, f := range files {
			if f.Name() == manifest.FileName || strings.HasSuffix(f.Name(), ".age") {
				if fi, err := f.Info(); err == nil {
					q.Objects++
					q.Bytes += fi.Size()
				}
			}
		}
	}
	n, b := u.pendingLogs()
	q.Objects += n
	q.Bytes += b
	if qs, err := os.ReadDir(u.sp.QuarantineDir()); err == nil {
		for _, e := range qs {
			if e.Name() == spool.QuarantinedDeletionsName {
				ds, _ := os.ReadDir(filepath.Join(u.sp.QuarantineDir(), spool.QuarantinedDeletionsName))
				q.Quarantined += len(ds)
				continue
			}
			q.Quarantined++
		}
	}
	now := u.now()
	if !oldest.IsZero() {
		q.OldestUnsent = oldest.UTC()
		if age := now.Sub(oldest); age > 0 {
			q.OldestAgeSec = int64(age / time.Second)
		}
	}
	u.mu.Lock()
	if u.lastErr != nil {
		q.LastError = u.lastErr.Error()
		q.LastErrorKind = store.KindOf(u.lastErr).String()
	}
	if !u.lastUpload.IsZero() {
		q.LastUpload = u.lastUpload.UTC()
	}
	u.mu.Unlock()
	q.BytesSent = u.bytesSent.Load()
	q.UploadFailures = u.failures.Load()
	return q
}

func freeBytes(path string) uint64 {
	var st syscall.Statfs_t
	if err := syscall.Statfs(path, &st); err != nil {
		return 0
	}
	return st.Bavail * uint64(st.Bsize)
}
