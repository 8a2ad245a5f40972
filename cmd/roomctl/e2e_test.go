package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"filippo.io/age"
	"github.com/minio/minio-go/v7"
	"github.com/rs/zerolog"

	"roomkiosk/internal/room"
	"roomkiosk/internal/testenv"
	"roomkiosk/recorder"
	"roomkiosk/recorder/manifest"
	"roomkiosk/recorder/recordertest"
	"roomkiosk/recorder/spool"
	"roomkiosk/sync/archive"
	"roomkiosk/sync/archive/archivetest"
	"roomkiosk/sync/upload"
)

// speech returns a few seconds of real synthetic speech as 16 kHz mono S16LE.
func speech(t *testing.T) []byte {
	t.Helper()
	espeak, sox := testenv.Tool(t, "espeak-ng"), testenv.Tool(t, "sox")
	dir := t.TempDir()
	wav, raw := filepath.Join(dir, "s.wav"), filepath.Join(dir, "s.raw")
	if out, err := exec.Command(espeak, "-w", wav, "The session is recorded only with everyone's consent. Thank you for coming today.").CombinedOutput(); err != nil {
		t.Fatalf("espeak-ng: %v %s", err, out)
	}
	if out, err := exec.Command(sox, wav, "-r", "16000", "-c", "1", "-b", "16", "-e", "signed-integer", "-t", "raw", raw).CombinedOutput(); err != nil {
		t.Fatalf("sox: %v %s", err, out)
	}
	b, err := os.ReadFile(raw)
	if err != nil || len(b) < 32000 {
		t.Fatalf("speech: %d bytes, %v", len(b), err)
	}
	return b
}

// TestEndToEnd is the whole path with every project part real: the
// recorder captures speech (from an in-memory device) into encrypted
// segments in its spool, the device's uploader sends them with the
// credentials `roomctl provision --apply` made, and `roomctl sessions` and
// `roomctl pull` give back exactly the captured samples.
func TestEndToEnd(t *testing.T) {
	f := newFleet(t)
	if r := runT(t, f.env, "", "bucket", "init"); r.code != 0 {
		t.Fatal(r.stderr)
	}
	creds := filepath.Join(t.TempDir(), "dev.toml")
	if r := runT(t, f.env, "", "provision", "301", "--apply", "--credentials-out", creds); r.code != 0 {
		t.Fatal(r.stderr)
	}
	pcm := speech(t)

	// Record.
	src := &recordertest.Source{PCM: pcm, Chunk: 3200}
	cfg := recorder.Default()
	cfg.SpoolDir = t.TempDir()
	cfg.SegmentLength.Duration = time.Second // several segments from a few seconds of speech
	cfg.FreeMarginMB = 0
	rec, err := recorder.New(recorder.Options{Config: cfg, Recipients: []age.Recipient{f.id.Recipient()}, RoomID: "301", DeviceID: "301",
		Source: src, Log: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Close()
	now := time.Now().UTC()
	id := now.Format("20060102T150405Z") + "-0e2e30"
	info := room.SessionInfo{ID: id, CounselorID: "c-1", Started: now, MaxLength: time.Hour,
		Consent: room.ConsentRecord{AgreementID: "rec-2026-01", TextSHA256: strings.Repeat("a", 64), Language: "en",
			Decisions: []room.Decision{{Participant: 1, Consented: true, Language: "en", At: now}}}}
	if err := rec.Start(info); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(time.Minute)
	for src.Offset() < len(pcm) {
		if time.Now().After(deadline) {
			t.Fatalf("recorder took %d of %d bytes in a minute", src.Offset(), len(pcm))
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond) // let the last chunk reach the writer
	if err := rec.Stop(id, false); err != nil {
		t.Fatal(err)
	}
	rec.Wait()
	if _, err := os.Stat(rec.Spool().ManifestPath(id)); err != nil {
		t.Fatalf("no manifest after stop: %v", err)
	}

	// Upload with the device's own uploader and provisioned credentials.
	uploadSpool(t, f, cfg.SpoolDir, "301", creds, id)

	r := runT(t, f.env, "", "sessions", "--room", "301")
	if r.code != 0 || !strings.Contains(r.stdout, id) || !strings.Contains(r.stdout, "recorded") {
		t.Fatalf("sessions: %+v", r)
	}
	out := filepath.Join(t.TempDir(), "session.wav")
	if r := runT(t, f.env, "", "pull", id, "-i", f.key, "-o", out); r.code != 0 {
		t.Fatalf("pull: %s", r.stderr)
	}
	fh, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	w, err := archive.ReadWAV(fh)
	fh.Close()
	if err != nil {
		t.Fatal(err)
	}
	// The in-memory device adds no start-up silence: samples are equal.
	if !bytes.Equal(w.PCM, pcm) {
		t.Fatalf("pulled %d bytes, recorded %d: samples differ", len(w.PCM), len(pcm))
	}
	m, err := (&archive.Archive{Client: f.cl, Bucket: "clinic"}).FindSession(f.ctx, id, "301")
	if err != nil || len(m.Manifest.Segments) < 3 {
		t.Fatalf("manifest %+v %v", m.Manifest, err)
	}
	if p, err := m.Manifest.OpenPersonal(f.id); err != nil || len(p.Consent.Decisions) != 1 {
		t.Fatalf("consent record: %+v %v", p, err)
	}
	// Sanity: the objects sit where the layout says.
	if _, err := f.cl.StatObject(f.ctx, "clinic", archive.ManifestKey("301", m.Manifest.Started, id), minio.StatObjectOptions{}); err != nil {
		t.Fatal(err)
	}
}

// uploadSpool runs the device's uploader over spoolDir with the provisioned
// credentials until session id is in the archive.
func uploadSpool(t *testing.T, f *fleet, spoolDir, room, creds, id string) {
	t.Helper()
	ucfg := upload.Default()
	ucfg.Endpoint, ucfg.Bucket, ucfg.CredentialsFile = f.srv.Endpoint, "clinic", creds
	u, err := upload.New(ucfg, room, room, spoolDir, t.TempDir(), zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(f.ctx)
	done := make(chan struct{})
	go func() { defer close(done); u.Run(ctx) }()
	defer func() { cancel(); <-done }()
	ar := &archive.Archive{Client: f.cl, Bucket: "clinic"}
	deadline := time.Now().Add(time.Minute)
	for {
		if _, err := ar.FindSession(f.ctx, id, room); err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("session %s not uploaded in a minute: %+v", id, u.Status().Queue)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestEndToEndPowerCut cuts the power in the middle of a recording: the
// spool is copied as the disk holds it while the recorder is writing (the
// segment being written is a *.part with whole, fsync'ed age chunks and
// maybe half a chunk), the recorder's crash recovery seals it on the next
// start, the uploader sends it, and roomctl pull returns the authenticated
// prefix: exactly the first samples of what was captured.
func TestEndToEndPowerCut(t *testing.T) {
	f := newFleet(t)
	if r := runT(t, f.env, "", "bucket", "init"); r.code != 0 {
		t.Fatal(r.stderr)
	}
	creds := filepath.Join(t.TempDir(), "dev.toml")
	if r := runT(t, f.env, "", "provision", "302", "--apply", "--credentials-out", creds); r.code != 0 {
		t.Fatal(r.stderr)
	}
	pcm := archivetest.Speechlike(30*16000, 1, 5)
	// 100 ms of audio every 10 ms: ten times real time, still paced.
	src := &recordertest.Source{PCM: pcm, Chunk: 3200, Every: 10 * time.Millisecond}
	cfg := recorder.Default()
	cfg.SpoolDir = t.TempDir()
	cfg.SegmentLength.Duration = 5 * time.Second // 2.4 age chunks per segment
	cfg.FreeMarginMB = 0
	rec, err := recorder.New(recorder.Options{Config: cfg, Recipients: []age.Recipient{f.id.Recipient()}, RoomID: "302", DeviceID: "302",
		Source: src, Log: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Close()
	now := time.Now().UTC()
	id := now.Format("20060102T150405Z") + "-0c0702"
	info := room.SessionInfo{ID: id, CounselorID: "c-1", Started: now, MaxLength: time.Hour,
		Consent: room.ConsentRecord{AgreementID: "rec-2026-01", TextSHA256: strings.Repeat("a", 64), Language: "en",
			Decisions: []room.Decision{{Participant: 1, Consented: true, Language: "en", At: now}}}}
	if err := rec.Start(info); err != nil {
		t.Fatal(err)
	}
	// Cut at 13.5 s: two sealed segments and a third holding one whole chunk.
	deadline := time.Now().Add(time.Minute)
	for src.Offset() < 27*16000 {
		if time.Now().After(deadline) {
			t.Fatal("recorder too slow")
		}
		time.Sleep(5 * time.Millisecond)
	}
	cut := t.TempDir()
	copyDir(t, filepath.Join(cfg.SpoolDir, "sessions", id), filepath.Join(cut, "sessions", id))
	if err := rec.Stop(id, false); err != nil {
		t.Fatal(err)
	}
	rec.Wait()

	// Next boot: recovery seals the .part, then the uploader sends it.
	sp := spool.Spool{Root: cut}
	got, err := sp.Recover(spool.RecoverOptions{RoomID: "302", DeviceID: "302",
		Format: manifest.Format{Codec: manifest.Codec, SampleRate: 16000, Channels: 1, Bits: 16}})
	if err != nil || len(got) != 1 || len(got[0].Partial) != 1 {
		t.Fatalf("recover: %+v %v", got, err)
	}
	uploadSpool(t, f, cut, "302", creds, id)

	out := filepath.Join(t.TempDir(), "cut.wav")
	r := runT(t, f.env, "", "pull", id, "-i", f.key, "-o", out)
	if r.code != 0 || !strings.Contains(r.stdout, "recovered prefix of partial") {
		t.Fatalf("pull: exit %d %s %s", r.code, r.stdout, r.stderr)
	}
	fh, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	w, err := archive.ReadWAV(fh)
	fh.Close()
	if err != nil {
		t.Fatal(err)
	}
	// The writer may lag the device by up to its 64-buffer queue (6.4 s of
	// audio here) on a loaded machine, so at least one sealed segment.
	sealed := 5 * 16000 * 2
	if len(w.PCM) <= sealed || len(w.PCM) > 27*16000 || !bytes.Equal(w.PCM, pcm[:len(w.PCM)]) {
		t.Fatalf("pulled %d bytes: want a prefix of the captured audio longer than the %d bytes of a sealed segment", len(w.PCM), sealed)
	}
	t.Logf("power cut after %.2f s captured: %.2f s recovered", float64(27*16000)/32000, float64(len(w.PCM))/32000)
}

// copyDir copies a folder's regular files as they are at this moment.
func copyDir(t *testing.T, from, to string) {
	t.Helper()
	if err := os.MkdirAll(to, 0o750); err != nil {
		t.Fatal(err)
	}
	ents, err := os.ReadDir(from)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if !e.Type().IsRegular() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(from, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(to, e.Name()), b, 0o640); err != nil {
			t.Fatal(err)
		}
	}
}
