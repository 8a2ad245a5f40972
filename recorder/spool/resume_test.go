package spool_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"filippo.io/age"

	"roomkiosk/recorder/manifest"
	"roomkiosk/recorder/spool"
)

func TestSessionJournalFile(t *testing.T) {
	sp := spool.Spool{Root: t.TempDir()}
	j := sp.SessionJournal()
	if b, err := j.Load(); b != nil || err != nil {
		t.Fatalf("no journal: %q %v", b, err)
	}
	if err := j.Save([]byte(`{"a":1}`)); err != nil {
		t.Fatal(err)
	}
	if err := j.Save([]byte(`{"a":2}`)); err != nil {
		t.Fatal(err)
	}
	if b, err := j.Load(); string(b) != `{"a":2}` || err != nil {
		t.Fatalf("load %q %v", b, err)
	}
	ents, _ := os.ReadDir(sp.Root)
	if len(ents) != 1 || ents[0].Name() != spool.SessionJournalName {
		t.Errorf("spool root holds %v: a temp file was left", ents)
	}
	// A huge file is read bounded (the core refuses it as damaged).
	os.WriteFile(j.Path, []byte(strings.Repeat("x", 1<<20)), 0o600)
	if b, err := j.Load(); err != nil || len(b) > 64<<10+1 {
		t.Errorf("huge journal: %d bytes read, %v", len(b), err)
	}
	os.WriteFile(j.Path, nil, 0o600)
	if b, err := j.Load(); b == nil || err != nil {
		t.Errorf("an empty file must read as an (empty, damaged) journal, not none: %v %v", b, err)
	}
	if err := j.Clear(); err != nil {
		t.Fatal(err)
	}
	if err := j.Clear(); err != nil {
		t.Errorf("clear twice: %v", err)
	}
	if b, _ := j.Load(); b != nil {
		t.Error("journal after clear")
	}
}

// Reopen seals the .part files like recovery but writes no manifest, so the
// resumed part continues the session; Recover leaves an open session alone.
func TestReopenForResume(t *testing.T) {
	id, _ := age.GenerateX25519Identity()
	sp := spool.Spool{Root: t.TempDir()}
	if err := sp.Init(); err != nil {
		t.Fatal(err)
	}
	const sid = "20261127T100000Z-abcdef"
	dir := sp.SessionDir(sid)
	os.MkdirAll(dir, 0o700)
	pcm := make([]byte, 200000)
	writeSegment(t, filepath.Join(dir, manifest.SegmentName(1, "wav")), 1, pcm, id, true)
	writeSegment(t, filepath.Join(dir, manifest.SegmentName(2, "wav")+spool.PartSuffix), 2, pcm, id, false)
	os.WriteFile(filepath.Join(dir, manifest.SegmentName(3, "wav")+spool.PartSuffix), nil, 0o600)
	old := time.Now().Add(-time.Minute)
	os.Chtimes(filepath.Join(dir, manifest.SegmentName(2, "wav")+spool.PartSuffix), old, old)
	o := spool.RecoverOptions{RoomID: "101", DeviceID: "101", Format: manifest.Format{Codec: manifest.Codec, SampleRate: 16000, Channels: 1, Bits: 16}, Open: []string{sid}}

	if rec, err := sp.Recover(o); err != nil || len(rec) != 0 {
		t.Fatalf("recover with the session open: %v %v", rec, err)
	}
	m, last, err := sp.Reopen(sid, o)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Segments) != 2 || m.Segments[0].Partial || !m.Segments[1].Partial || m.Segments[1].Samples == 0 {
		t.Fatalf("segments %+v", m.Segments)
	}
	if _, err := os.Stat(filepath.Join(dir, manifest.SegmentName(3, "wav")+spool.PartSuffix)); !os.IsNotExist(err) {
		t.Error("the empty .part was kept: the resumed part needs its index")
	}
	if _, err := os.Stat(filepath.Join(dir, manifest.SegmentName(2, "wav"))); err != nil {
		t.Errorf("the .part was not sealed: %v", err)
	}
	if _, err := os.Stat(sp.ManifestPath(sid)); !os.IsNotExist(err) {
		t.Error("Reopen wrote a manifest")
	}
	if last.IsZero() || last.After(time.Now()) {
		t.Errorf("last audio at %v", last)
	}
	// A sealed session cannot take a new part.
	o.Open = nil
	if _, err := sp.Recover(o); err != nil {
		t.Fatal(err)
	}
	if _, _, err := sp.Reopen(sid, o); !errors.Is(err, spool.ErrSealed) {
		t.Errorf("reopen of a sealed session: %v", err)
	}
}
