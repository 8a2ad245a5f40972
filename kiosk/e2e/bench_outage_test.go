//go:build bench

package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
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
	"roomkiosk/recorder/alsatest"
	"roomkiosk/recorder/manifest"
	"roomkiosk/recorder/recordertest"
	"roomkiosk/sync/archive"
	"roomkiosk/sync/upload"
)

// recordSpool records n sessions of d each (in-memory microphone, as fast
// as the recorder takes it) into a spool and returns their manifests.
func recordSpool(t *testing.T, spool, roomID string, rcpt age.Recipient, n int, d time.Duration) []*manifest.Manifest {
	t.Helper()
	pcm := alsatest.SpeechStream(t, time.Duration(n)*d, rate)
	cfg := recorder.Default()
	cfg.SpoolDir = spool
	cfg.SegmentLength.Duration = time.Second
	cfg.FreeMarginMB = 0
	per := int(d.Seconds()) * bytesPerSec
	var ms []*manifest.Manifest
	base := time.Now().UTC().Add(-time.Hour)
	for i := 0; i < n; i++ {
		src := &recordertest.Source{PCM: pcm[i*per : (i+1)*per], Chunk: feedChunk}
		rec, err := recorder.New(recorder.Options{Config: cfg, Recipients: []age.Recipient{rcpt}, RoomID: roomID, DeviceID: roomID, Source: src, Log: zerolog.Nop()})
		if err != nil {
			t.Fatal(err)
		}
		started := base.Add(time.Duration(i) * time.Minute)
		id := fmt.Sprintf("%s-%06x", started.Format("20060102T150405Z"), 0xa00000+i)
		info := room.SessionInfo{ID: id, CounselorID: "c-1", Started: started, MaxLength: time.Hour,
			Consent: room.ConsentRecord{AgreementID: "rec-1", TextSHA256: strings.Repeat("a", 64), Language: "en",
				Decisions: []room.Decision{{Participant: 1, Consented: true, Language: "en", At: started}}}}
		if err := rec.Start(info); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "session "+id+" recorded", time.Minute, func() bool { return src.Offset() >= per })
		time.Sleep(100 * time.Millisecond)
		if err := rec.Stop(id, false); err != nil {
			t.Fatal(err)
		}
		rec.Wait()
		rec.Close()
		b, err := os.ReadFile(rec.Spool().ManifestPath(id))
		if err != nil {
			t.Fatal(err)
		}
		m, err := manifest.Parse(b)
		if err != nil {
			t.Fatal(err)
		}
		ms = append(ms, m)
	}
	return ms
}

// TestBenchMinIOOutage stops and restarts MinIO 5 times while the device's
// uploader sends a spool of 10 sessions, then counts, from the bucket's
// object versions, what was lost, duplicated or changed. It then corrupts
// stored segments and checks that roomctl pull refuses each, naming it.
func TestBenchMinIOOutage(t *testing.T) {
	const restarts = 5
	bin := binaries(t)
	adm := newAdmin(t, bin)
	roomID := "outage-101"
	creds := filepath.Join(t.TempDir(), "credentials.toml")
	adm.Run(t, "", "provision", roomID, "--apply", "--credentials-out", creds)
	rcpt, err := age.ParseX25519Recipient(adm.Recipient)
	if err != nil {
		t.Fatal(err)
	}
	spool := t.TempDir()
	ms := recordSpool(t, spool, roomID, rcpt, 10, 12*time.Second)
	want := map[string]string{} // key -> sha256 of the ciphertext ("" for manifests)
	for _, m := range ms {
		p := archive.SessionPrefix(roomID, m.Started, m.SessionID)
		for _, s := range m.Segments {
			want[p+s.Name] = s.SHA256
		}
		want[p+manifest.FileName] = ""
	}

	ucfg := upload.Default()
	ucfg.Endpoint, ucfg.Bucket, ucfg.CredentialsFile = adm.Srv.Endpoint, bucket, creds
	ucfg.BandwidthKBps = 160 // spread the upload over the restarts
	ucfg.BackoffMax.Duration = time.Second
	u, err := upload.New(ucfg, roomID, roomID, spool, t.TempDir(), zerolog.Nop(), upload.WithRetryBase(100*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = u.Run(ctx) }()
	defer func() { cancel(); <-done }()

	rng := rand.New(rand.NewPCG(5, uint64(time.Now().UnixNano())))
	last := int64(0)
	for i := 0; i < restarts; i++ {
		// Cut in the middle of the transfer: after some more bytes went.
		step := int64(100<<10 + rng.IntN(300<<10))
		waitFor(t, "upload progress", 2*time.Minute, func() bool { return u.Metrics().BytesSent >= last+step })
		if u.Metrics().QueueObjects == 0 {
			t.Fatalf("the queue drained after %d restarts: spool too small for the figure", i)
		}
		adm.Srv.Stop()
		time.Sleep(time.Duration(200+rng.IntN(1500)) * time.Millisecond)
		adm.Srv.Restart(t)
		last = u.Metrics().BytesSent
	}
	waitFor(t, "queue drained", 5*time.Minute, func() bool { m := u.Metrics(); return m.QueueObjects == 0 })

	cl := adm.Srv.Client(t)
	lctx, lcancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer lcancel()
	versions := map[string]int{}
	for o := range cl.ListObjects(lctx, bucket, minio.ListObjectsOptions{Prefix: "rooms/" + roomID + "/sessions/", Recursive: true, WithVersions: true}) {
		if o.Err != nil {
			t.Fatal(o.Err)
		}
		if !o.IsDeleteMarker {
			versions[o.Key]++
		}
	}
	lost, dup, changed, extra := 0, 0, 0, 0
	for k, sum := range want {
		switch n := versions[k]; {
		case n == 0:
			lost++
			t.Errorf("lost: %s", k)
			continue
		case n > 1:
			dup++
			t.Errorf("duplicated: %s has %d versions", k, n)
		}
		if sum == "" {
			continue
		}
		obj, err := cl.GetObject(lctx, bucket, k, minio.GetObjectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		h := sha256.New()
		_, err = io.Copy(h, obj)
		obj.Close()
		if err != nil || hex.EncodeToString(h.Sum(nil)) != sum {
			changed++
			t.Errorf("changed: %s (%v)", k, err)
		}
	}
	for k := range versions {
		if _, ok := want[k]; !ok {
			extra++
			t.Errorf("unexpected object %s", k)
		}
	}
	testenv.Report(t, testenv.Figure{
		Name: "minio restarts objects lost or duplicated", Value: float64(lost + dup + changed + extra), Unit: "objects",
		Baseline: fmt.Sprintf("objects uploaded across %d MinIO stops and restarts", restarts), BaseVal: float64(len(want)),
		Target: "= 0", Met: lost+dup+changed+extra == 0,
		Note: fmt.Sprintf("lost %d, duplicated %d, changed %d, unexpected %d (object versions listed); %d upload failures retried", lost, dup, changed, extra, u.Metrics().Failures),
	})

	// roomctl pull on corrupted stored segments: each refused, naming it.
	var o outcome
	for i, m := range ms {
		sg := m.Segments[rng.IntN(len(m.Segments))]
		key := archive.SessionPrefix(roomID, m.Started, m.SessionID) + sg.Name
		obj, err := cl.GetObject(lctx, bucket, key, minio.GetObjectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		c, err := io.ReadAll(obj)
		obj.Close()
		if err != nil {
			t.Fatal(err)
		}
		var what string
		switch i % 4 {
		case 0:
			c[rng.IntN(len(c))] ^= 0x10
			what = "bit flip"
		case 1:
			c = c[:rng.IntN(len(c))]
			what = "truncated"
		case 2:
			c = append(c, "junk"...)
			what = "junk appended"
		case 3:
			c = bytes.Repeat([]byte{0}, len(c))
			what = "zeroed"
		}
		if _, err := cl.PutObject(lctx, bucket, key, bytes.NewReader(c), int64(len(c)), minio.PutObjectOptions{}); err != nil {
			t.Fatal(err)
		}
		out := filepath.Join(t.TempDir(), "pulled.wav")
		o.feed(t, fmt.Sprintf("pull of %s with %s %s", m.SessionID, what, sg.Name), sg.Name, func() error {
			stdout, stderr, err := adm.Try("", "pull", m.SessionID, "-i", adm.Key, "-o", out, "--room", roomID)
			if err == nil {
				return nil
			}
			if ee, ok := err.(interface{ ExitCode() int }); ok && ee.ExitCode() != 1 {
				panic(fmt.Sprintf("roomctl pull exit %d: %s%s", ee.ExitCode(), stdout, stderr))
			}
			if _, serr := os.Stat(out); serr == nil {
				t.Errorf("roomctl pull left %s behind after refusing: %s", out, stderr)
			}
			return fmt.Errorf("%s", stderr)
		})
	}
	o.report(t, "roomctl pull corrupted stored segments refused", "roomctl pull")
}
