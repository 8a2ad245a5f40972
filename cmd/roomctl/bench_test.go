//go:build bench

package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"roomkiosk/internal/room"
	"roomkiosk/internal/testenv"
	"roomkiosk/sync/archive"
	"roomkiosk/sync/archive/archivetest"
	"roomkiosk/sync/layout"
)

// TestBenchPull measures `roomctl pull` of a one-hour session (120 segments
// of 30 s at 16 kHz mono) against what an admin could do without it: `mc cp
// --recursive` of the session folder, then `age -d` on each segment. Both
// read the same objects from the same local MinIO in the same run; each side
// runs three times, interleaved, and the best run counts (the machine is
// shared).
func TestBenchPull(t *testing.T) {
	f := newFleet(t)
	ageBin := testenv.Tool(t, "age")
	src, cipher := hourSession(t, f)
	id := src.Manifest.SessionID

	ours := func() time.Duration {
		dir := t.TempDir()
		start := time.Now()
		r := runT(t, f.env, "", "pull", id, "-i", f.key, "-o", filepath.Join(dir, "s.wav"))
		d := time.Since(start)
		if r.code != 0 {
			t.Fatalf("pull: %s", r.stderr)
		}
		fh, _ := os.Open(filepath.Join(dir, "s.wav"))
		w, err := archive.ReadWAV(fh)
		fh.Close()
		if err != nil || !bytes.Equal(w.PCM, src.WantPCM) {
			t.Fatalf("pulled audio differs (%v)", err)
		}
		return d
	}
	theirs := func() time.Duration {
		dir := t.TempDir()
		start := time.Now()
		if _, err := f.srv.MC(t, "cp", "--recursive", "--quiet", "local/clinic/"+src.Prefix, dir+"/"); err != nil {
			t.Fatal(err)
		}
		for _, s := range src.Manifest.Segments {
			in := filepath.Join(dir, s.Name)
			cmd := exec.Command(ageBin, "-d", "-i", f.key, "-o", strings.TrimSuffix(in, ".age"), in)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("age -d %s: %v %s", s.Name, err, out)
			}
		}
		d := time.Since(start)
		if n, _ := filepath.Glob(filepath.Join(dir, "*.wav")); len(n) != 120 {
			t.Fatalf("baseline decrypted %d segments", len(n))
		}
		return d
	}
	best := func(a, b time.Duration) time.Duration {
		if a == 0 || b < a {
			return b
		}
		return a
	}
	var o, m time.Duration
	for range 3 {
		o = best(o, ours())
		m = best(m, theirs())
	}
	mb := float64(cipher) / 1e6
	v, bv := mb/o.Seconds(), mb/m.Seconds()
	testenv.Report(t, testenv.Figure{
		Name: "roomctl pull 1 h session vs mc cp + age -d", Value: v, Unit: "MB/s",
		Baseline: "mc cp --recursive + age -d per segment (same objects, same run)", BaseVal: bv,
		Ratio: v / bv, Target: ">= 0.9", Met: v/bv >= 0.9,
		Note: fmt.Sprintf("120 x 30 s segments, %.1f MB; best of 3: pull %v (verify, decrypt, one WAV, audit), baseline %v", mb, o.Round(time.Millisecond), m.Round(time.Millisecond)),
	})
}

// hourSession makes the bucket and uploads a one-hour session (120 x 30 s
// at 16 kHz mono, escrow's) for the pull and grant figures; it returns the
// session and its ciphertext size.
func hourSession(t *testing.T, f *fleet) (*archivetest.Session, int64) {
	t.Helper()
	if r := runT(t, f.env, "", "bucket", "init"); r.code != 0 {
		t.Fatal(r.stderr)
	}
	segs := make([]archivetest.SegSpec, 120)
	for i := range segs {
		segs[i] = archivetest.SegSpec{Frames: 30 * 16000}
	}
	src := archivetest.Build(t, archivetest.Spec{Room: "101", Segments: segs}, f.id.Recipient())
	src.Upload(t, f.cl, "clinic")
	var cipher int64
	for _, s := range src.Manifest.Segments {
		cipher += s.Bytes
	}
	return src, cipher
}

// TestBenchStatus measures `roomctl status` over 500 rooms' status objects
// (an absolute target: under 2 s).
func TestBenchStatus(t *testing.T) {
	f := newFleet(t)
	if r := runT(t, f.env, "", "bucket", "init"); r.code != 0 {
		t.Fatal(r.stderr)
	}
	const rooms = 500
	keys := make([]string, rooms)
	for i := range keys {
		keys[i] = fmt.Sprintf("r%03d", i)
	}
	putAll(t, f, keys)
	var best time.Duration
	for range 3 {
		start := time.Now()
		r := runT(t, f.env, "", "status", "--json")
		d := time.Since(start)
		if r.code != 0 || strings.Count(r.stdout, `"room":`) != rooms {
			t.Fatalf("status: exit %d, %d rooms", r.code, strings.Count(r.stdout, `"room":`))
		}
		if best == 0 || d < best {
			best = d
		}
	}
	testenv.Report(t, testenv.Figure{
		Name: "roomctl status over 500 rooms", Value: float64(best.Milliseconds()), Unit: "ms",
		Target: "< 2000 ms", Met: best < 2*time.Second,
		Note: "best of 3, local MinIO, 32 workers: each room's status.json read and its session versions listed (tampered count)",
	})
}

func putAll(t *testing.T, f *fleet, rooms []string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	errs := make(chan error, len(rooms))
	sem := make(chan struct{}, 32)
	for _, roomID := range rooms {
		sem <- struct{}{}
		go func() {
			defer func() { <-sem }()
			st := layout.Status{RoomID: roomID, Door: room.DoorFree, Checks: []room.CheckResult{{Name: "clock", State: room.CheckGood}}}
			b, err := st.Marshal()
			if err == nil {
				_, err = f.cl.PutObject(ctx, "clinic", layout.StatusKey(roomID), bytes.NewReader(b), int64(len(b)), minio.PutObjectOptions{SendContentMd5: true})
			}
			errs <- err
		}()
	}
	for range rooms {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}
