package upload

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"roomkiosk/internal/room"
	"roomkiosk/recorder/manifest"
)

// sessionTrack remembers what the spool cannot say: the session being
// uploaded now and the last one whose upload completed.
type sessionTrack struct {
	mu      sync.Mutex
	current string
	last    *room.LastUpload
}

func (t *sessionTrack) start(id string) { t.mu.Lock(); t.current = id; t.mu.Unlock() }
func (t *sessionTrack) stop()           { t.mu.Lock(); t.current = ""; t.mu.Unlock() }

func (t *sessionTrack) uploaded(id string, at time.Time) {
	t.mu.Lock()
	t.last = &room.LastUpload{SessionID: id, At: at.UTC()}
	t.mu.Unlock()
}

// noteIfDone records id as the last session uploaded once nothing of it
// waits any more: neither its recording nor its summary nor a deletion
// request (a summary and its recording go up in separate steps).
func (u *Uploader) noteIfDone(id string) {
	for _, p := range []string{
		u.sp.SessionDir(id),
		u.sp.SummaryPath(id),
		u.sp.DeletionPath(id),
	} {
		if exists(p) {
			return
		}
	}
	u.track.uploaded(id, u.now())
}

// Sessions reports every session still on the device with its upload state,
// and the last session uploaded. It reads file names, sizes and times only,
// so /status may call it on every request.
func (u *Uploader) Sessions() room.UploadReport {
	byID := map[string]*room.SessionUpload{}
	get := func(id string) *room.SessionUpload {
		s := byID[id]
		if s == nil {
			s = &room.SessionUpload{SessionID: id, State: room.UploadNoAudio}
			byID[id] = s
		}
		return s
	}
	u.track.mu.Lock()
	current := u.track.current
	var last *room.LastUpload
	if u.track.last != nil {
		l := *u.track.last
		last = &l
	}
	u.track.mu.Unlock()

	root := u.sp.SessionsDir()
	ents, _ := os.ReadDir(root)
	for _, e := range ents {
		if !e.IsDir() || !manifest.ValidSessionID(e.Name()) {
			continue
		}
		s := get(e.Name())
		dir := filepath.Join(root, e.Name())
		switch mi, err := os.Stat(filepath.Join(dir, manifest.FileName)); {
		case err == nil:
			s.State, s.QueuedAt = room.UploadQueued, mi.ModTime().UTC()
			if e.Name() == current {
				s.State = room.UploadUploading
			}
		case u.sp.IsHeld(e.Name()):
			s.State = room.UploadHeld
		default:
			s.State = room.UploadRecording
		}
		if s.State == room.UploadQueued || s.State == room.UploadUploading {
			files, _ := os.ReadDir(dir)
			for _, f := range files {
				if f.Name() == manifest.FileName || strings.HasSuffix(f.Name(), ".age") {
					if fi, err := f.Info(); err == nil {
						s.Objects++
						s.Bytes += fi.Size()
					}
				}
			}
		}
	}
	if qs, err := os.ReadDir(u.sp.QuarantineDir()); err == nil {
		for _, e := range qs {
			if e.IsDir() && manifest.ValidSessionID(e.Name()) {
				get(e.Name()).State = room.UploadQuarantined
			}
		}
	}
	if ks, err := os.ReadDir(u.sp.UploadedDir()); err == nil {
		for _, e := range ks {
			if !e.IsDir() || !manifest.ValidSessionID(e.Name()) {
				continue
			}
			s := get(e.Name())
			s.State = room.UploadUploaded
			if at, ok := u.sp.UploadedAt(e.Name()); ok {
				s.UploadedAt = at.UTC()
			}
		}
	}
	for _, d := range []string{u.sp.SummariesDir(), u.sp.DeletionsDir()} {
		fs, _ := listJSON(d)
		for _, f := range fs {
			id := trimExt(f.name)
			if !manifest.ValidSessionID(id) {
				continue
			}
			s := get(id)
			s.Objects++
			s.Bytes += f.size
			if d == u.sp.SummariesDir() {
				s.SummaryPending = true
			} else {
				s.DeletionPending = true
			}
			if s.QueuedAt.IsZero() || f.queuedAt.Before(s.QueuedAt) {
				s.QueuedAt = f.queuedAt.UTC()
			}
		}
	}
	r := room.UploadReport{Sessions: make([]room.SessionUpload, 0, len(byID)), LastUploaded: last}
	for _, s := range byID {
		r.Sessions = append(r.Sessions, *s)
	}
	// Session ids start with their UTC start time: oldest first.
	sort.Slice(r.Sessions, func(i, j int) bool { return r.Sessions[i].SessionID < r.Sessions[j].SessionID })
	return r
}

func exists(p string) bool { _, err := os.Stat(p); return err == nil }
