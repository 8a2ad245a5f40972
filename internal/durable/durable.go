// Package durable writes files so that a power cut leaves either the old
// content or the whole new one, never a torn file or a lost rename: data to a
// temporary file in the same folder, fsync, rename (or link, for a file that
// must not be replaced), fsync of the folder.
//
// It is a leaf (standard library only) on the ground floor, internal/, which
// every layer may import: the recorder's spool, the uploader, roomctl, the
// session journal and the simulated board all use it.
package durable

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// File is a temporary file that becomes its final name only on Commit.
type File struct {
	*os.File
	dir    string
	noSync bool
	done   bool
}

// Options change how a file is written.
type Options struct {
	// Perm is the final file's mode; 0 means 0600.
	Perm os.FileMode
	// MkdirPerm, when not 0, creates the folder (and its parents) first.
	MkdirPerm os.FileMode
	// NoSync skips every fsync: the rename stays atomic for readers but is
	// not durable (benchmarks of the CPU path only).
	NoSync bool
}

// CreateTemp makes a hidden temporary file beside path, to be committed to
// path (or aborted).
func CreateTemp(path string, o Options) (*File, error) {
	dir := filepath.Dir(path)
	if o.MkdirPerm != 0 {
		if err := os.MkdirAll(dir, o.MkdirPerm); err != nil {
			return nil, err
		}
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return nil, err
	}
	perm := o.Perm
	if perm == 0 {
		perm = 0o600
	}
	if err := f.Chmod(perm); err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, err
	}
	return &File{File: f, dir: dir, noSync: o.NoSync}, nil
}

// Abort closes and removes the temporary file; after a Commit it does
// nothing, so `defer f.Abort()` is always safe.
func (f *File) Abort() {
	if f.done {
		return
	}
	f.done = true
	f.File.Close()
	os.Remove(f.Name())
}

func (f *File) finish() error {
	var err error
	if !f.noSync {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// Commit makes the file path, replacing what was there: fsync, close,
// rename, fsync of the folder.
func (f *File) Commit(path string) error {
	if f.done {
		return errors.New("commit: file already committed or aborted")
	}
	if err := f.finish(); err != nil {
		f.Abort()
		return err
	}
	if err := os.Rename(f.Name(), path); err != nil {
		f.Abort()
		return err
	}
	f.done = true
	return f.syncDir()
}

// CommitNew makes the file path only if nothing is there yet (a hard link,
// which fails rather than replaces); the error then wraps fs.ErrExist.
func (f *File) CommitNew(path string) error {
	if f.done {
		return errors.New("commit: file already committed or aborted")
	}
	if err := f.finish(); err != nil {
		f.Abort()
		return err
	}
	err := os.Link(f.Name(), path)
	f.Abort() // the temporary name goes either way
	if err != nil {
		return err
	}
	return f.syncDir()
}

func (f *File) syncDir() error {
	if f.noSync {
		return nil
	}
	return SyncDir(f.dir)
}

// WriteFile writes data to path durably, replacing any file there.
func WriteFile(path string, data []byte, o Options) error {
	f, err := CreateTemp(path, o)
	if err != nil {
		return fmt.Errorf("write %s: %w", filepath.Base(path), err)
	}
	defer f.Abort()
	if _, err := f.Write(data); err != nil {
		return fmt.Errorf("write %s: %w", filepath.Base(path), err)
	}
	if err := f.Commit(path); err != nil {
		return fmt.Errorf("write %s: %w", filepath.Base(path), err)
	}
	return nil
}

// WriteNew writes data to path durably, refusing to replace an existing
// file (the error wraps fs.ErrExist): a slip of the keyboard cannot destroy
// a key.
func WriteNew(path string, data []byte, o Options) error {
	if _, err := os.Lstat(path); err == nil {
		return fmt.Errorf("write %s: %w", path, fs.ErrExist)
	}
	f, err := CreateTemp(path, o)
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer f.Abort()
	if _, err := f.Write(data); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.CommitNew(path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// SyncDir fsyncs a folder so that creates and renames in it survive a power
// cut.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync dir: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync dir %s: %w", dir, err)
	}
	return nil
}
