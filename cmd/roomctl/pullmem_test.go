package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"roomkiosk/internal/testenv"
	"roomkiosk/sync/archive"
	"roomkiosk/sync/archive/archivetest"
)

// TestPullMemoryBounded pulls a one-hour session (120 segments of 30 s,
// 115 MB of ciphertext) with the roomctl program and reads its peak
// resident memory from the kernel (testdata/rsswrap): segments stream
// through files beside OUT and decrypt straight into the WAV, so the peak
// must stay under 64 MB whatever the session's length.
func TestPullMemoryBounded(t *testing.T) {
	f := newFleet(t)
	if r := runT(t, f.env, "", "bucket", "init"); r.code != 0 {
		t.Fatal(r.stderr)
	}
	bin := buildRoomctl(t)
	wrap := filepath.Join(t.TempDir(), "rsswrap")
	if err := testenv.GoBuild(testenv.ModuleRoot(t), wrap, []string{"CGO_ENABLED=0"}, "./cmd/roomctl/testdata/rsswrap"); err != nil {
		t.Fatal(err)
	}
	segs := make([]archivetest.SegSpec, 120)
	for i := range segs {
		segs[i] = archivetest.SegSpec{Frames: 30 * 16000}
	}
	src := archivetest.Build(t, archivetest.Spec{Room: "101", Segments: segs}, f.id.Recipient())
	src.Upload(t, f.cl, "clinic")
	want := src.WantPCM
	src.Files = nil // let this process's copy go

	out := filepath.Join(t.TempDir(), "hour.wav")
	cmd := exec.Command(wrap, bin, "pull", src.Manifest.SessionID, "-i", f.key, "-o", out)
	cmd.Env = append(os.Environ(), "ROOMCTL_ENDPOINT="+f.env["ROOMCTL_ENDPOINT"], "ROOMCTL_ACCESS_KEY="+f.env["ROOMCTL_ACCESS_KEY"],
		"ROOMCTL_SECRET_KEY="+f.env["ROOMCTL_SECRET_KEY"], "ROOMCTL_BUCKET=clinic")
	b, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("roomctl pull: %v\n%s", err, b)
	}
	i := bytes.LastIndex(b, []byte("maxrss_kb "))
	var kb int64
	if i < 0 {
		t.Fatalf("no peak memory reported: %s", b)
	}
	if _, err := fmt.Sscanf(string(b[i:]), "maxrss_kb %d", &kb); err != nil {
		t.Fatal(err)
	}
	peakMB := float64(kb) / 1024
	t.Logf("roomctl pull of a 1 h session: peak RSS %.1f MB", peakMB)
	if peakMB >= 64 {
		t.Errorf("peak RSS %.1f MB, want under 64 MB", peakMB)
	}
	fh, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	w, err := archive.ReadWAV(fh)
	if err != nil || !bytes.Equal(w.PCM, want) {
		t.Fatalf("pulled audio differs (%v)", err)
	}
}
