package recorder_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"filippo.io/age"

	"roomkiosk/internal/room"
	"roomkiosk/recorder/manifest"
	"roomkiosk/recorder/spool"
)

// A withdrawn session is sealed under the held name: no manifest.json (the
// uploader's signal) and no wake until Keep, which releases it.
func TestWithdrawnHeldUntilKeep(t *testing.T) {
	g := newRig(t, randomPCM(2), 0, 30*time.Second)
	const sid = "20261102T150405Z-abc125"
	if err := g.rec.Start(info(sid)); err != nil {
		t.Fatal(err)
	}
	g.st.waitFor(t, "recording", func(s room.RecorderStatus) bool { return s.State == room.RecorderRecording })
	wakes := g.up.Wakes()
	if err := g.rec.Stop(sid, true); err != nil {
		t.Fatal(err)
	}
	g.rec.Wait()
	sp := g.rec.Spool()
	if _, err := os.Stat(sp.ManifestPath(sid)); !os.IsNotExist(err) {
		t.Fatalf("withdrawn session has a manifest.json before the choice: %v", err)
	}
	if _, err := os.Stat(sp.HeldPath(sid)); err != nil {
		t.Fatalf("no held manifest: %v", err)
	}
	if g.up.Wakes() != wakes {
		t.Errorf("uploader woken for a held session")
	}
	if held, err := g.rec.Held(); err != nil || !slices.Equal(held, []room.HeldRecording{{SessionID: sid}}) {
		t.Errorf("Held() = %v, %v", held, err)
	}
	// A restart before the choice keeps it held.
	if rec, err := g.rec.Recover(); err != nil || len(rec) != 0 {
		t.Fatalf("recover %v %v", rec, err)
	}
	if _, err := os.Stat(sp.ManifestPath(sid)); !os.IsNotExist(err) {
		t.Fatal("recovery released a held session")
	}
	if err := g.rec.Keep(sid); err != nil {
		t.Fatal(err)
	}
	g.rec.Wait()
	m, got := readSession(t, sp.SessionDir(sid), g.id)
	if !m.Withdrawn || m.StopReason != "withdrawn" || len(got) == 0 {
		t.Fatalf("kept manifest %+v, %d bytes", m, len(got))
	}
	if _, err := os.Stat(sp.HeldPath(sid)); !os.IsNotExist(err) {
		t.Fatal("held manifest left after keep")
	}
	if g.up.Wakes() == wakes {
		t.Error("uploader not woken by keep")
	}
	if err := g.rec.Keep(sid); err != nil {
		t.Errorf("second keep: %v", err)
	}
}

// Keep right after Stop, while the session is still sealing, releases it
// once sealed.
func TestKeepWhileSealing(t *testing.T) {
	g := newRig(t, randomPCM(2), 0, 30*time.Second)
	const sid = "20261102T150405Z-abc126"
	if err := g.rec.Start(info(sid)); err != nil {
		t.Fatal(err)
	}
	g.st.waitFor(t, "recording", func(s room.RecorderStatus) bool { return s.State == room.RecorderRecording })
	g.rec.Stop(sid, true)
	if err := g.rec.Keep(sid); err != nil {
		t.Fatal(err)
	}
	g.rec.Wait()
	if _, err := os.Stat(g.rec.Spool().ManifestPath(sid)); err != nil {
		t.Fatalf("kept session not released: %v", err)
	}
	if err := g.rec.Keep("20261102T150405Z-abc999"); err == nil {
		t.Error("keep of an unknown session: no error")
	}
}

// Delete of a held session: nothing of it stays, a deletion request is
// queued, and no manifest ever appeared.
func TestDiscardHeld(t *testing.T) {
	g := newRig(t, randomPCM(2), 0, 30*time.Second)
	const sid = "20261102T150405Z-abc127"
	if err := g.rec.Start(info(sid)); err != nil {
		t.Fatal(err)
	}
	g.st.waitFor(t, "recording", func(s room.RecorderStatus) bool { return s.State == room.RecorderRecording })
	g.rec.Stop(sid, true)
	g.rec.Wait()
	if err := g.rec.Discard(sid); err != nil {
		t.Fatal(err)
	}
	g.rec.Wait()
	if _, err := os.Stat(g.rec.Spool().SessionDir(sid)); !os.IsNotExist(err) {
		t.Fatalf("session folder still there: %v", err)
	}
	if _, err := os.Stat(g.rec.Spool().DeletionPath(sid)); err != nil {
		t.Fatalf("no deletion request: %v", err)
	}
}

// A power cut after the withdrawal but before the held manifest: the
// journal says withdrawn, so recovery holds the session too.
func TestRecoverWithdrawnJournalHeld(t *testing.T) {
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	personal, err := manifest.SealPersonal(manifest.Personal{}, id.Recipient())
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	sp := spool.Spool{Root: dir}
	if err := sp.Init(); err != nil {
		t.Fatal(err)
	}
	const sid = "20261102T150405Z-abc128"
	os.MkdirAll(sp.SessionDir(sid), 0o700)
	m := &manifest.Manifest{Version: manifest.Version, SessionID: sid, RoomID: "101", DeviceID: "101",
		Format: manifest.Format{Codec: manifest.Codec, SampleRate: 16000, Channels: 1, Bits: 16}, Started: time.Now().UTC(),
		Segments: []manifest.Segment{}, Gaps: []manifest.Gap{}, Withdrawn: true, Personal: personal}
	b, _ := json.Marshal(m)
	os.WriteFile(filepath.Join(sp.SessionDir(sid), spool.JournalName), b, 0o600)
	rec, err := sp.Recover(spool.RecoverOptions{RoomID: "101", DeviceID: "101"})
	if err != nil || len(rec) != 1 || !rec[0].Held {
		t.Fatalf("recover %+v %v", rec, err)
	}
	if _, err := os.Stat(sp.ManifestPath(sid)); !os.IsNotExist(err) {
		t.Fatal("recovery released a withdrawn session")
	}
	if _, err := os.Stat(sp.HeldPath(sid)); err != nil {
		t.Fatalf("no held manifest after recovery: %v", err)
	}
	if err := sp.QueueHeld(sid); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(sp.ManifestPath(sid)); err != nil {
		t.Fatalf("released: %v", err)
	}
}

// Settle writes who decided and when with the recording: into the kept
// manifest (uploaded with it) or into the deletion request.
func TestSettleRecordsTheDecision(t *testing.T) {
	at := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	for _, c := range []room.HeldDecision{
		{Keep: true, By: room.DecidedByClient, At: at},
		{Keep: false, By: room.DecidedByCounselor, At: at},
		{Keep: false, By: room.DecidedByDeadline, At: at},
	} {
		t.Run(c.By, func(t *testing.T) {
			g := newRig(t, randomPCM(2), 0, 30*time.Second)
			const sid = "20261102T150405Z-abc128"
			if err := g.rec.Start(info(sid)); err != nil {
				t.Fatal(err)
			}
			g.st.waitFor(t, "recording", func(s room.RecorderStatus) bool { return s.State == room.RecorderRecording })
			g.rec.Stop(sid, true)
			g.rec.Wait()
			if err := g.rec.Settle(sid, c); err != nil {
				t.Fatal(err)
			}
			g.rec.Wait()
			sp := g.rec.Spool()
			if c.Keep {
				b, err := os.ReadFile(sp.ManifestPath(sid))
				if err != nil {
					t.Fatal(err)
				}
				m, err := manifest.Parse(b)
				if err != nil {
					t.Fatal(err)
				}
				if d := m.HeldDecision; d == nil || *d != c {
					t.Fatalf("kept manifest's decision %+v, want %+v", d, c)
				}
				return
			}
			b, err := os.ReadFile(sp.DeletionPath(sid))
			if err != nil {
				t.Fatal(err)
			}
			del, err := manifest.ParseDeletion(b)
			if err != nil {
				t.Fatal(err)
			}
			if del.DecidedBy != c.By || !del.DecidedAt.Equal(at) {
				t.Fatalf("deletion request %+v, want decided by %s at %v", del, c.By, at)
			}
		})
	}
}
