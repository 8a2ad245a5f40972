package spool_test

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"filippo.io/age"

	"roomkiosk/recorder/manifest"
	"roomkiosk/recorder/segment"
	"roomkiosk/recorder/spool"
)

func writeSegment(t *testing.T, path string, idx int, pcm []byte, id *age.X25519Identity, complete bool) {
	t.Helper()
	var buf bytes.Buffer
	w, err := segment.NewWriter(&buf, segment.Header{SampleRate: 16000, Channels: 1, Index: idx, Started: time.Now(), SessionID: "20261127T100000Z-abcdef"}, id.Recipient())
	if err != nil {
		t.Fatal(err)
	}
	w.Write(pcm)
	if complete {
		w.Close()
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestRecoverWithoutJournal: a session cut before its journal existed, with
// a sealed segment, a partial one and an empty one, is sealed and described.
func TestRecoverWithoutJournal(t *testing.T) {
	id, _ := age.GenerateX25519Identity()
	sp := spool.Spool{Root: t.TempDir()}
	if err := sp.Init(); err != nil {
		t.Fatal(err)
	}
	const sid = "20261127T100000Z-abcdef"
	dir := sp.SessionDir(sid)
	os.MkdirAll(dir, 0o700)
	pcm := make([]byte, 200000)
	for i := range pcm {
		pcm[i] = byte(i * 7)
	}
	writeSegment(t, filepath.Join(dir, "seg-000001.wav.age"), 1, pcm[:64000], id, true)
	writeSegment(t, filepath.Join(dir, "seg-000002.wav.age.part"), 2, pcm, id, false)
	os.WriteFile(filepath.Join(dir, "seg-000003.wav.age.part"), nil, 0o600)
	// A complete session is left alone.
	os.MkdirAll(sp.SessionDir("20261127T090000Z-000000"), 0o700)
	os.WriteFile(sp.ManifestPath("20261127T090000Z-000000"), []byte("{}"), 0o600)

	recs, err := sp.Recover(spool.RecoverOptions{RoomID: "101", DeviceID: "101",
		Format: manifest.Format{Codec: manifest.Codec, SampleRate: 16000, Channels: 1, Bits: 16}})
	if err != nil || len(recs) != 1 || len(recs[0].Partial) != 2 {
		t.Fatalf("recover: %+v %v", recs, err)
	}
	b, err := os.ReadFile(sp.ManifestPath(sid))
	if err != nil {
		t.Fatal(err)
	}
	m, err := manifest.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	if !m.Interrupted || m.RoomID != "101" || len(m.Segments) != 2 || !m.Started.Equal(time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)) {
		t.Fatalf("manifest %+v", m)
	}
	if s := m.Segments[0]; s.Partial || s.Samples != 32000 {
		t.Fatalf("sealed segment %+v", s)
	}
	// Partial: the three full chunks (the fourth, short one, was never written).
	if s := m.Segments[1]; !s.Partial || s.Samples != (3*segment.ChunkSize-segment.HeaderSize)/2 {
		t.Fatalf("partial segment %+v", s)
	}
	f, _ := os.Open(filepath.Join(dir, "seg-000002.wav.age"))
	defer f.Close()
	_, r, err := segment.Open(f, id)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(r)
	if !errors.Is(err, segment.ErrTruncated) || !bytes.Equal(got, pcm[:len(got)]) || int64(len(got)/2) != m.Segments[1].Samples {
		t.Fatalf("partial: %d bytes, %v", len(got), err)
	}
	if _, err := os.Stat(filepath.Join(dir, "seg-000003.wav.age")); err != nil {
		t.Fatal("empty part not kept")
	}
	// A second run finds nothing to do.
	if recs, err := sp.Recover(spool.RecoverOptions{}); err != nil || len(recs) != 0 {
		t.Fatalf("second recover: %+v %v", recs, err)
	}
}
