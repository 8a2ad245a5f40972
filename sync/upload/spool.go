package upload

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"roomkiosk/recorder/manifest"
	"roomkiosk/recorder/spool"
)

// sessionEntry is a complete session (its manifest exists) found in the spool.
type sessionEntry struct {
	id       string
	dir      string
	queuedAt time.Time // manifest.json's mtime: when it became uploadable
	m        *manifest.Manifest
	err      error // manifest unreadable or invalid: quarantine
}

// fileEntry is a small JSON file waiting for upload.
type fileEntry struct {
	name     string
	path     string
	size     int64
	queuedAt time.Time
}

// listSessions returns the complete sessions, oldest start first. Folders
// without a manifest.json are being recorded, await crash recovery, or hold
// a withdrawn session awaiting its participants' choice (manifest.held.json):
// none of them is touched.
func listSessions(sp spool.Spool) ([]sessionEntry, error) {
	root := sp.SessionsDir()
	ents, err := os.ReadDir(root)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list sessions: %w", err)
	}
	var out []sessionEntry
	for _, e := range ents {
		if !e.IsDir() {
			continue
		}
		dir := sp.SessionDir(e.Name())
		mp := sp.ManifestPath(e.Name())
		fi, err := os.Stat(mp)
		if err != nil {
			continue // not complete yet
		}
		s := sessionEntry{id: e.Name(), dir: dir, queuedAt: fi.ModTime()}
		b, err := os.ReadFile(mp)
		if err == nil {
			s.m, err = manifest.Parse(b)
		}
		if err == nil && s.m.SessionID != s.id {
			err = fmt.Errorf("manifest session_id %q does not match its folder %q", s.m.SessionID, s.id)
		}
		s.err = err
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i].startKey(), out[j].startKey()
		if !a.Equal(b) {
			return a.Before(b)
		}
		return out[i].id < out[j].id
	})
	return out, nil
}

func (s sessionEntry) startKey() time.Time {
	if s.m != nil {
		return s.m.Started
	}
	return s.queuedAt
}

// listJSON returns the *.json files of a spool sub-folder, oldest first.
func listJSON(dir string) ([]fileEntry, error) {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", dir, err)
	}
	var out []fileEntry
	for _, e := range ents {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".json") {
			continue // *.tmp being written, or anything else
		}
		fi, err := e.Info()
		if err != nil {
			continue
		}
		out = append(out, fileEntry{name: e.Name(), path: filepath.Join(dir, e.Name()), size: fi.Size(), queuedAt: fi.ModTime()})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].queuedAt.Before(out[j].queuedAt) })
	return out, nil
}
