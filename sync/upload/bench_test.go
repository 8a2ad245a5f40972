//go:build bench

package upload

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"roomkiosk/internal/testenv"
	"roomkiosk/sync/miniotest"
)

// TestBenchUploadSpool uploads a one-hour spool (120 segments of 30 s at
// 16 kHz mono, about 960 KB each; random bytes stand in for ciphertext) to a
// local MinIO with the uploader (device credentials, SHA-256 verified
// locally and by the server, If-None-Match) and with `mc cp --recursive` of
// the same files, in the same run. Best of three rounds each, alternating which goes first.
func TestBenchUploadSpool(t *testing.T) {
	const segs, size = 120, 960_000
	srv := miniotest.Start(t)
	srv.MakeBucket(t, testBucket, true)
	cfg := deviceConfig(t, srv)
	total := float64(segs * size)

	var ours, mc time.Duration
	for round := 0; round < 3; round++ {
		spool := t.TempDir()
		s := writeSession(t, spool, time.Now().Add(time.Duration(round)*time.Hour), segs, size)
		// mc gets its own copy of the same files (the uploader removes its own).
		mcDir := filepath.Join(t.TempDir(), s.id)
		if err := os.MkdirAll(mcDir, 0o750); err != nil {
			t.Fatal(err)
		}
		ents, _ := os.ReadDir(s.dir)
		for _, e := range ents {
			b, err := os.ReadFile(filepath.Join(s.dir, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(mcDir, e.Name()), b, 0o640); err != nil {
				t.Fatal(err)
			}
		}

		runMC := func() {
			start := time.Now()
			if out, err := srv.MC(t, "cp", "--recursive", "--quiet", mcDir+"/", fmt.Sprintf("local/%s/mc/%d/", testBucket, round)); err != nil {
				t.Fatalf("mc cp: %v\n%s", err, out)
			}
			if d := time.Since(start); mc == 0 || d < mc {
				mc = d
			}
		}
		runOurs := func() {
			u := newTestUploader(t, cfg, spool, "")
			start := time.Now()
			if err := u.drain(context.Background()); err != nil {
				t.Fatal(err)
			}
			if d := time.Since(start); ours == 0 || d < ours {
				ours = d
			}
		}
		// Alternate who goes first, so neither always gets the warmer cache.
		if round%2 == 0 {
			runMC()
			runOurs()
		} else {
			runOurs()
			runMC()
		}
		if !spoolEmpty(t, spool) {
			t.Fatal("spool not drained")
		}
		checkArrivedUnder(t, srv.Client(t), s.prefix, []testSession{s})
	}
	oursMBs := total / ours.Seconds() / 1e6
	mcMBs := total / mc.Seconds() / 1e6
	ratio := oursMBs / mcMBs
	testenv.Report(t, testenv.Figure{
		Name:     "upload of a 1-hour spool vs mc cp",
		Value:    oursMBs,
		Unit:     "MB/s",
		Baseline: "mc cp --recursive (same files, same MinIO)",
		BaseVal:  mcMBs,
		Ratio:    ratio,
		Target:   ">= 0.9",
		Met:      ratio >= 0.9,
		Note:     fmt.Sprintf("120 segments x 960 KB; ours %v, mc %v (best of 3)", ours.Round(time.Millisecond), mc.Round(time.Millisecond)),
	})
}
