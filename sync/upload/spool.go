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
)

// Spool layout. sessions/ and deletions/ are the recorder's contract
// (recorder/FORMAT.md); the rest belongs to the uploader.
const (
	sessionsDir   = "sessions"   // <id>/seg-*.age (+ .part), manifest.json last
	deletionsDir  = "deletions"  // <id>.json deletion requests
	summariesDir  = "summaries"  // <id>.json written by SessionEnded
	quarantineDir = "quarantine" // sessions and requests that cannot be uploaded as they are
	uploadedDir   = "uploaded"   // sessions kept after upload (storage.keep_uploaded)
	stateDir      = "upload-state"

	uploadedMarker = ".uploaded-at" // in uploaded/<id>/, its mtime is the upload time
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
func listSessions(spool string) ([]sessionEntry, error) {
	root := filepath.Join(spool, sessionsDir)
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
		dir := filepath.Join(root, e.Name())
		mp := filepath.Join(dir, manifest.FileName)
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

// writeFileSync writes a small file durably: tmp file, fsync, rename, fsync
// of the folder.
func writeFileSync(path string, data []byte, perm os.FileMode) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, ".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Chmod(perm); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	return syncDir(dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
