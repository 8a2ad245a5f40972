package durable

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

func listDir(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	return out
}

func TestWriteFileReplacesAndLeavesNoTemp(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "sub", "state.json")
	if err := WriteFile(p, []byte("one"), Options{Perm: 0o640, MkdirPerm: 0o750}); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(p, []byte("two"), Options{Perm: 0o640}); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(p)
	if err != nil || string(b) != "two" {
		t.Fatalf("read %q, %v; want two", b, err)
	}
	fi, _ := os.Stat(p)
	if fi.Mode().Perm() != 0o640 {
		t.Errorf("mode %v, want 0640", fi.Mode().Perm())
	}
	if got := listDir(t, filepath.Dir(p)); len(got) != 1 {
		t.Errorf("folder holds %v, want only state.json", got)
	}
}

func TestWriteNewRefusesExisting(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "key")
	if err := WriteNew(p, []byte("secret"), Options{}); err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(p)
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("default mode %v, want 0600", fi.Mode().Perm())
	}
	err := WriteNew(p, []byte("other"), Options{})
	if !errors.Is(err, fs.ErrExist) {
		t.Fatalf("second WriteNew: %v, want ErrExist", err)
	}
	if b, _ := os.ReadFile(p); string(b) != "secret" {
		t.Errorf("file replaced: %q", b)
	}
	if got := listDir(t, dir); len(got) != 1 {
		t.Errorf("folder holds %v, want only key", got)
	}
}

func TestCommitNewRace(t *testing.T) {
	// The file appears between the check and the link: CommitNew still
	// refuses, since link(2) never replaces.
	dir := t.TempDir()
	p := filepath.Join(dir, "out")
	f, err := CreateTemp(p, Options{})
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("mine")
	if err := os.WriteFile(p, []byte("theirs"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := f.CommitNew(p); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("CommitNew over a file: %v, want ErrExist", err)
	}
	if b, _ := os.ReadFile(p); string(b) != "theirs" {
		t.Errorf("file replaced: %q", b)
	}
	if got := listDir(t, dir); len(got) != 1 {
		t.Errorf("folder holds %v, want only out", got)
	}
}

func TestAbortLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	f, err := CreateTemp(filepath.Join(dir, "x.wav"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("partial")
	f.Abort()
	f.Abort()
	if got := listDir(t, dir); len(got) != 0 {
		t.Errorf("folder holds %v after Abort", got)
	}
	if err := f.Commit(filepath.Join(dir, "x.wav")); err == nil {
		t.Error("Commit after Abort succeeded")
	}
}
