package spool_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"roomkiosk/recorder/spool"
)

// TestMovesAside: every move the uploader asks of the spool lands where the
// spool's layout says, with its marker, and a name that would leave its
// folder is refused before anything moves.
func TestMovesAside(t *testing.T) {
	const id = "20261127T100000Z-abcdef"
	for _, tc := range []struct {
		name string
		prep func(sp spool.Spool) // what the queue holds before the move
		move func(sp spool.Spool) error
		want []string // files under the spool root after the move
		gone string   // what the move took away
	}{
		{"quarantine session", mkSession(id), func(sp spool.Spool) error { return sp.QuarantineSession(id, "segment 2 does not match") },
			[]string{"quarantine/" + id + "/seg-000001.wav.age", "quarantine/" + id + "/" + spool.QuarantineReasonName}, "sessions/" + id},
		{"keep uploaded", mkSession(id), func(sp spool.Spool) error { return sp.KeepUploaded(id) },
			[]string{"uploaded/" + id + "/seg-000001.wav.age", "uploaded/" + id + "/" + spool.UploadedMarker}, "sessions/" + id},
		{"quarantine deletion", mkFile("deletions/" + id + ".json"), func(sp spool.Spool) error { return sp.QuarantineDeletion(id + ".json") },
			[]string{"quarantine/deletions/" + id + ".json"}, "deletions/" + id + ".json"},
		{"quarantine summary", mkFile("summaries/" + id + ".json"), func(sp spool.Spool) error { return sp.QuarantineSummary(id + ".json") },
			[]string{"quarantine/summaries/" + id + ".json"}, "summaries/" + id + ".json"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sp := spool.Spool{Root: t.TempDir()}
			tc.prep(sp)
			if err := tc.move(sp); err != nil {
				t.Fatal(err)
			}
			for _, f := range tc.want {
				if _, err := os.Stat(filepath.Join(sp.Root, f)); err != nil {
					t.Errorf("after the move: %v", err)
				}
			}
			if _, err := os.Stat(filepath.Join(sp.Root, tc.gone)); !os.IsNotExist(err) {
				t.Errorf("%s still there (%v)", tc.gone, err)
			}
		})
	}

	sp := spool.Spool{Root: t.TempDir()}
	mkSession(id)(sp)
	mkFile("deletions/x.json")(sp)
	for _, bad := range []func() error{
		func() error { return sp.QuarantineSession("../sessions", "x") },
		func() error { return sp.KeepUploaded("..") },
		func() error { return sp.QuarantineDeletion("../deletions/x.json") },
		func() error { return sp.QuarantineSummary("") },
	} {
		if err := bad(); err == nil {
			t.Error("a name leaving its folder was moved")
		}
	}
	if _, err := os.Stat(sp.SessionDir(id)); err != nil {
		t.Errorf("a refused move touched the session: %v", err)
	}
}

// TestUploadedAt reads back the time KeepUploaded stamps.
func TestUploadedAt(t *testing.T) {
	const id = "20261127T100000Z-abcdef"
	sp := spool.Spool{Root: t.TempDir()}
	if _, ok := sp.UploadedAt(id); ok {
		t.Fatal("a session never kept has an upload time")
	}
	mkSession(id)(sp)
	before := time.Now().Add(-time.Second)
	if err := sp.KeepUploaded(id); err != nil {
		t.Fatal(err)
	}
	at, ok := sp.UploadedAt(id)
	if !ok || at.Before(before) {
		t.Fatalf("UploadedAt = %v, %v; want after %v", at, ok, before)
	}
	if _, ok := sp.UploadedAt("../uploaded/" + id); ok {
		t.Error("UploadedAt followed a path out of uploaded/")
	}
}

func mkSession(id string) func(spool.Spool) {
	return mkFile("sessions/" + id + "/seg-000001.wav.age")
}

func mkFile(rel string) func(spool.Spool) {
	return func(sp spool.Spool) {
		p := filepath.Join(sp.Root, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			panic(err)
		}
		if err := os.WriteFile(p, []byte("x"), 0o600); err != nil {
			panic(err)
		}
	}
}
