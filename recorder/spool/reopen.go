package spool

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"roomkiosk/recorder/manifest"
)

// ErrSealed says a session to resume is already complete (its manifest, or
// its held manifest, is written): it cannot take a new part.
var ErrSealed = errors.New("session already sealed")

// Reopen prepares an unfinished session folder for a resumed recording (the
// daemon restarted while it recorded; the session core resumes it): like
// Recover it seals every *.part as a partial segment (renamed unchanged)
// and describes every segment the journal does not list, but it writes no
// manifest: the resumed recording adds its segments after these and writes
// the one manifest at its end. It returns the working manifest and when the
// last audio before the interruption was written (the newest segment's
// modification time; the session's start when it has none), from which the
// recorder measures the gap. A missing folder gives a fresh manifest.
func (s Spool) Reopen(id string, o RecoverOptions) (*manifest.Manifest, time.Time, error) {
	if !manifest.ValidSessionID(id) {
		return nil, time.Time{}, fmt.Errorf("reopen session: %q is not a session id", id)
	}
	dir := s.SessionDir(id)
	for _, p := range []string{s.ManifestPath(id), s.HeldPath(id)} {
		if _, err := os.Stat(p); err == nil {
			return nil, time.Time{}, fmt.Errorf("reopen session %s: %w", id, ErrSealed)
		}
	}
	if _, err := os.Stat(s.DeletionPath(id)); err == nil {
		return nil, time.Time{}, fmt.Errorf("reopen session %s: a deletion request exists", id)
	}
	started, _ := time.Parse("20060102T150405Z", strings.SplitN(id, "-", 2)[0])
	m := &manifest.Manifest{Version: manifest.Version, SessionID: id, RoomID: o.RoomID, DeviceID: o.DeviceID,
		Format: o.Format, Started: started, RetentionClass: o.RetentionClass}
	if jb, err := readBounded(filepath.Join(dir, JournalName), 1<<20); err == nil {
		var jm manifest.Manifest
		if json.Unmarshal(jb, &jm) == nil && jm.SessionID == id && !jm.Started.IsZero() {
			m = &jm
		}
	}
	if m.Withdrawn {
		return nil, time.Time{}, fmt.Errorf("reopen session %s: it was withdrawn", id)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, time.Time{}, fmt.Errorf("reopen session %s: %w", id, err)
	}
	if err := s.syncDir(s.SessionsDir()); err != nil {
		return nil, time.Time{}, err
	}
	known := map[string]bool{}
	for _, sg := range m.Segments {
		known[sg.Name] = true
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("reopen session %s: %w", id, err)
	}
	last := time.Time{}
	renamed := false
	for _, e := range ents {
		name := e.Name()
		partial := strings.HasSuffix(name, PartSuffix)
		sealed := strings.TrimSuffix(name, PartSuffix)
		idx, ok := manifest.ParseSegmentName(sealed)
		if !ok {
			continue
		}
		if known[sealed] {
			if fi, err := e.Info(); err == nil && fi.ModTime().After(last) {
				last = fi.ModTime()
			}
			continue
		}
		path := filepath.Join(dir, name)
		if fi, err := e.Info(); err == nil && fi.Size() == 0 {
			// Created, nothing written: it holds no audio, and its index
			// is taken again by the resumed part.
			if err := os.Remove(path); err != nil {
				return nil, time.Time{}, fmt.Errorf("reopen session %s: remove empty %s: %w", id, name, err)
			}
			renamed = true
			continue
		}
		if partial {
			if err := s.Seal(id, sealed); err != nil {
				return nil, time.Time{}, fmt.Errorf("reopen session %s: seal %s: %w", id, name, err)
			}
			renamed = true
		}
		sg, mod, err := describe(filepath.Join(dir, sealed), idx, !partial, m.Format)
		if err != nil {
			return nil, time.Time{}, fmt.Errorf("reopen session %s: %w", id, err)
		}
		if mod.After(last) {
			last = mod
		}
		m.Segments = append(m.Segments, sg)
	}
	if renamed {
		if err := s.syncDir(dir); err != nil {
			return nil, time.Time{}, err
		}
	}
	sort.Slice(m.Segments, func(i, j int) bool { return m.Segments[i].Index < m.Segments[j].Index })
	if m.Gaps == nil {
		m.Gaps = []manifest.Gap{}
	}
	if last.IsZero() || last.Before(m.Started) {
		last = m.Started
	}
	return m, last.UTC(), nil
}

func readBounded(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%s: larger than %d bytes", filepath.Base(path), limit)
	}
	return b, nil
}
