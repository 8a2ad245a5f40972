package archive_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"filippo.io/age"
	"github.com/minio/minio-go/v7"

	"roomkiosk/internal/room"
	"roomkiosk/recorder/manifest"
	"roomkiosk/sync/admin"
	"roomkiosk/sync/archive"
	"roomkiosk/sync/archive/archivetest"
	"roomkiosk/sync/layout"
	"roomkiosk/sync/miniotest"
)

const bucket = "archive"

type env struct {
	srv *miniotest.Server
	cl  *minio.Client
	ar  *archive.Archive
	id  *age.X25519Identity
	ctx context.Context
}

func setup(t *testing.T) *env {
	srv := miniotest.Start(t)
	conn := admin.Conn{Endpoint: srv.Endpoint, AccessKey: srv.AccessKey, SecretKey: srv.SecretKey, Bucket: bucket}
	cl, err := conn.Client()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	if _, err := admin.InitBucket(ctx, cl, bucket, 1); err != nil {
		t.Fatal(err)
	}
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	return &env{srv: srv, cl: cl, ar: &archive.Archive{Client: cl, Bucket: bucket}, id: id, ctx: ctx}
}

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

// One server for the whole package: each start costs seconds on a shared
// two-core machine.
func TestArchive(t *testing.T) {
	e := setup(t)
	rec := e.id.Recipient()

	plain := archivetest.Build(t, archivetest.Spec{Room: "101", Started: at("2026-11-02T15:04:05Z"),
		Segments: []archivetest.SegSpec{{Frames: 48000}, {Frames: 48000}, {Frames: 20000}}}, rec)
	gappy := archivetest.Build(t, archivetest.Spec{Room: "101", Started: at("2026-11-03T09:00:00Z"), Seed: 7,
		Segments: []archivetest.SegSpec{{Frames: 40000, GapAfter: 16000}, {Frames: 40000}, {Frames: 30000, GapAfter: 8000}}}, rec)
	crashed := archivetest.Build(t, archivetest.Spec{Room: "102", Started: at("2026-11-03T23:59:58Z"), Seed: 9,
		Segments: []archivetest.SegSpec{{Frames: 80000, Partial: true}, {Frames: 80000, Torn: true}}}, rec)
	withdrawn := archivetest.Build(t, archivetest.Spec{Room: "102", Started: at("2026-11-05T10:00:00Z"), Seed: 11, Withdrawn: true,
		Segments: []archivetest.SegSpec{{Frames: 16000}}}, rec)
	for _, s := range []*archivetest.Session{plain, gappy, crashed, withdrawn} {
		s.Upload(t, e.cl, bucket)
	}

	t.Run("Sessions", func(t *testing.T) {
		for _, tc := range []struct {
			name string
			f    archive.Filter
			want []string
		}{
			{"all", archive.Filter{}, []string{plain.Manifest.SessionID, gappy.Manifest.SessionID, crashed.Manifest.SessionID, withdrawn.Manifest.SessionID}},
			{"room", archive.Filter{Room: "102"}, []string{crashed.Manifest.SessionID, withdrawn.Manifest.SessionID}},
			{"since", archive.Filter{Since: at("2026-11-03T00:00:00Z")}, []string{gappy.Manifest.SessionID, crashed.Manifest.SessionID, withdrawn.Manifest.SessionID}},
			{"until", archive.Filter{Until: at("2026-11-04T00:00:00Z")}, []string{plain.Manifest.SessionID, gappy.Manifest.SessionID, crashed.Manifest.SessionID}},
			{"window", archive.Filter{Since: at("2026-11-03T00:00:00Z"), Until: at("2026-11-03T12:00:00Z")}, []string{gappy.Manifest.SessionID}},
			{"none", archive.Filter{Room: "999"}, nil},
		} {
			t.Run(tc.name, func(t *testing.T) {
				rows, err := e.ar.Sessions(e.ctx, tc.f)
				if err != nil {
					t.Fatal(err)
				}
				var got []string
				for _, r := range rows {
					got = append(got, r.Session)
				}
				if strings.Join(got, ",") != strings.Join(tc.want, ",") {
					t.Fatalf("got %v, want %v", got, tc.want)
				}
			})
		}
		// A broken manifest gets a row of its own and hides nothing.
		bad := "rooms/107/sessions/2026/11/04/20261104T000000Z-bad000/manifest.json"
		if _, err := e.cl.PutObject(e.ctx, bucket, bad, strings.NewReader("{not json"), 9, minio.PutObjectOptions{SendContentMd5: true}); err != nil {
			t.Fatal(err)
		}
		rows, err := e.ar.Sessions(e.ctx, archive.Filter{})
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) != 5 || rows[3].State != "unreadable" || rows[3].Room != "107" || !strings.Contains(rows[3].Error, "parse manifest") {
			t.Fatalf("rows %+v", rows)
		}
		vs, _ := e.ar.KeyVersions(e.ctx, bad)
		if _, err := e.ar.RemoveVersions(e.ctx, vs); err != nil {
			t.Fatal(err)
		}
		rows = append(rows[:3], rows[4:]...)
		states := map[string]string{}
		for _, r := range rows {
			states[r.Session] = r.State
		}
		want := map[string]string{plain.Manifest.SessionID: "recorded", gappy.Manifest.SessionID: "partial",
			crashed.Manifest.SessionID: "interrupted", withdrawn.Manifest.SessionID: "withdrawn"}
		for id, st := range want {
			if states[id] != st {
				t.Errorf("state of %s = %q, want %q", id, states[id], st)
			}
		}
		if r := rows[0]; r.Segments != 3 || r.Audio != 116000*time.Second/16000 || r.Bytes == 0 || r.Room != "101" {
			t.Errorf("row %+v", r)
		}
	})

	checkPull := func(t *testing.T, s *archivetest.Session, room string) {
		t.Helper()
		out := filepath.Join(t.TempDir(), "out.wav")
		var progress []archive.Progress
		var committed bool
		res, err := e.ar.Pull(e.ctx, archive.PullOptions{SessionID: s.Manifest.SessionID, Room: room,
			Identities: []age.Identity{e.id}, Out: out,
			Progress:     func(p archive.Progress) { progress = append(progress, p) },
			BeforeCommit: func(archive.PullResult) error { committed = true; return nil }})
		if err != nil {
			t.Fatal(err)
		}
		f, err := os.Open(out)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		w, err := archive.ReadWAV(f)
		if err != nil {
			t.Fatal(err)
		}
		if w.SampleRate != 16000 || w.Channels != 1 || w.Bits != 16 {
			t.Fatalf("format %+v", w)
		}
		if !bytes.Equal(w.PCM, s.WantPCM) {
			t.Fatalf("PCM differs: got %d bytes, want %d (first difference at %d)", len(w.PCM), len(s.WantPCM), firstDiff(w.PCM, s.WantPCM))
		}
		if res.Frames != int64(len(w.PCM)/2) || !committed || len(progress) != len(s.Manifest.Segments) || progress[len(progress)-1].Done != len(s.Manifest.Segments) {
			t.Fatalf("result %+v committed %v progress %v", res, committed, progress)
		}
		if s == crashed && len(res.Recovered) != 2 {
			t.Fatalf("recovered %v, want both segments", res.Recovered)
		}
		if s == gappy && res.SilenceFrames != 24000 {
			t.Fatalf("silence %d frames, want 24000", res.SilenceFrames)
		}
		left, _ := filepath.Glob(filepath.Join(filepath.Dir(out), ".*"))
		if len(left) != 0 {
			t.Fatalf("temporary files left: %v", left)
		}
	}
	for _, tc := range []struct {
		name string
		s    *archivetest.Session
		room string
	}{
		{"PullPlain", plain, ""},
		{"PullGaps", gappy, "101"},
		{"PullPartialAndTorn", crashed, ""},
	} {
		t.Run(tc.name, func(t *testing.T) { checkPull(t, tc.s, tc.room) })
	}

	t.Run("PullCutBeforeFirstChunk", func(t *testing.T) {
		// Cut before its first chunk was full: listed, holds no audio. (In
		// the middle only here, to check that later audio keeps its time.)
		cut := archivetest.Build(t, archivetest.Spec{Room: "108", Started: at("2026-11-08T10:00:00Z"), Seed: 13,
			Segments: []archivetest.SegSpec{{Frames: 48000}, {Frames: 1000, Partial: true}, {Frames: 16000}}}, rec)
		if cut.Manifest.Segments[1].Samples != 0 {
			t.Fatalf("fixture: %+v", cut.Manifest.Segments[1])
		}
		cut.Upload(t, e.cl, bucket)
		defer func() {
			vs, _ := e.ar.SessionVersions(e.ctx, "108", cut.Manifest.SessionID)
			e.ar.RemoveVersions(e.ctx, vs)
		}()
		checkPull(t, cut, "108")
	})

	t.Run("PullFailures", func(t *testing.T) {
		other, _ := age.GenerateX25519Identity()
		// A session whose segments the tests below damage.
		victim := archivetest.Build(t, archivetest.Spec{Room: "103", Seed: 21, Started: at("2026-11-06T08:00:00Z"),
			Segments: []archivetest.SegSpec{{Frames: 30000}, {Frames: 30000}, {Frames: 30000}}}, rec)
		victim.Upload(t, e.cl, bucket)
		id := victim.Manifest.SessionID
		pull := func(t *testing.T, ids ...age.Identity) (string, error) {
			out := filepath.Join(t.TempDir(), "out.wav")
			_, err := e.ar.Pull(e.ctx, archive.PullOptions{SessionID: id, Identities: ids, Out: out})
			if _, serr := os.Stat(out); serr == nil {
				t.Errorf("%s exists after a failed pull", out)
			}
			left, _ := filepath.Glob(filepath.Join(filepath.Dir(out), "*"))
			if len(left) != 0 {
				t.Errorf("files left behind: %v", left)
			}
			return out, err
		}
		t.Run("wrong identity", func(t *testing.T) {
			_, err := pull(t, other)
			if err == nil || !strings.Contains(err.Error(), "seg-000001.wav.age") || !strings.Contains(err.Error(), "identity") {
				t.Fatalf("err %v", err)
			}
		})
		t.Run("unknown session", func(t *testing.T) {
			_, err := e.ar.Pull(e.ctx, archive.PullOptions{SessionID: "20200101T000000Z-000000", Identities: []age.Identity{e.id}, Out: filepath.Join(t.TempDir(), "x.wav")})
			if err == nil || !strings.Contains(err.Error(), "no manifest") {
				t.Fatalf("err %v", err)
			}
		})
		t.Run("tampered", func(t *testing.T) {
			// A second version over an uploaded segment: refused by name,
			// and --original pulls the first versions, the real audio.
			b := bytes.Clone(victim.Files["seg-000002.wav.age"])
			b[len(b)/2] ^= 0x01
			if _, err := e.cl.PutObject(e.ctx, bucket, victim.Prefix+"seg-000002.wav.age", bytes.NewReader(b), int64(len(b)), minio.PutObjectOptions{SendContentMd5: true}); err != nil {
				t.Fatal(err)
			}
			_, err := pull(t, e.id)
			var te *archive.TamperedError
			if !errors.As(err, &te) || len(te.Keys) != 1 || !strings.Contains(te.Keys[0], "seg-000002.wav.age (2 versions)") {
				t.Fatalf("err %v, want a tampered error naming seg-000002.wav.age", err)
			}
			out := filepath.Join(t.TempDir(), "orig.wav")
			res, err := e.ar.Pull(e.ctx, archive.PullOptions{SessionID: id, Identities: []age.Identity{e.id}, Out: out, Original: true})
			if err != nil || !res.Original {
				t.Fatalf("pull --original: %+v %v", res, err)
			}
			f, err := os.Open(out)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			info, err := archive.ReadWAV(f)
			if err != nil || !bytes.Equal(info.PCM, victim.WantPCM) {
				t.Fatalf("pull --original: not the first versions' audio (%v)", err)
			}
		})
		t.Run("checksum", func(t *testing.T) {
			// The first version itself differs from the manifest (damaged
			// before the manifest went up).
			bad := archivetest.Build(t, archivetest.Spec{Room: "107", Seed: 23, Started: at("2026-11-06T09:00:00Z"),
				Segments: []archivetest.SegSpec{{Frames: 30000}, {Frames: 30000}}}, rec)
			bad.Files["seg-000002.wav.age"][100] ^= 0x01
			bad.Upload(t, e.cl, bucket)
			out := filepath.Join(t.TempDir(), "out.wav")
			_, err := e.ar.Pull(e.ctx, archive.PullOptions{SessionID: bad.Manifest.SessionID, Identities: []age.Identity{e.id}, Out: out})
			var se *archive.SegmentError
			if !errors.As(err, &se) || se.Name != "seg-000002.wav.age" || !errors.Is(err, archive.ErrChecksum) {
				t.Fatalf("err %v, want a checksum error naming seg-000002.wav.age", err)
			}
			if left, _ := filepath.Glob(filepath.Join(filepath.Dir(out), "*")); len(left) != 0 {
				t.Fatalf("left %v", left)
			}
		})
		t.Run("missing", func(t *testing.T) {
			gone := archivetest.Build(t, archivetest.Spec{Room: "108", Seed: 25, Started: at("2026-11-06T09:30:00Z"),
				Segments: []archivetest.SegSpec{{Frames: 30000}, {Frames: 30000}, {Frames: 30000}}}, rec)
			gone.Upload(t, e.cl, bucket)
			vs, err := e.ar.KeyVersions(e.ctx, gone.Prefix+"seg-000003.wav.age")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := e.ar.RemoveVersions(e.ctx, vs); err != nil {
				t.Fatal(err)
			}
			out := filepath.Join(t.TempDir(), "out.wav")
			_, err = e.ar.Pull(e.ctx, archive.PullOptions{SessionID: gone.Manifest.SessionID, Identities: []age.Identity{e.id}, Out: out})
			var se *archive.SegmentError
			if !errors.As(err, &se) || se.Name != "seg-000003.wav.age" || !errors.Is(err, archive.ErrMissing) {
				t.Fatalf("err %v, want missing seg-000003.wav.age", err)
			}
			if left, _ := filepath.Glob(filepath.Join(filepath.Dir(out), "*")); len(left) != 0 {
				t.Fatalf("left %v", left)
			}
		})
		t.Run("audit refused", func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out.wav")
			_, err := e.ar.Pull(e.ctx, archive.PullOptions{SessionID: plain.Manifest.SessionID, Identities: []age.Identity{e.id}, Out: out,
				BeforeCommit: func(archive.PullResult) error { return errors.New("audit store down") }})
			if err == nil || !strings.Contains(err.Error(), "audit store down") {
				t.Fatalf("err %v", err)
			}
			if left, _ := filepath.Glob(filepath.Join(filepath.Dir(out), "*")); len(left) != 0 {
				t.Fatalf("left %v", left)
			}
		})
		t.Run("ambiguous", func(t *testing.T) {
			twin := archivetest.Build(t, archivetest.Spec{Room: "105", Started: plain.Manifest.Started,
				Segments: []archivetest.SegSpec{{Frames: 1000}}}, rec)
			twin.Upload(t, e.cl, bucket)
			defer func() {
				vs, _ := e.ar.SessionVersions(e.ctx, "105", twin.Manifest.SessionID)
				e.ar.RemoveVersions(e.ctx, vs)
			}()
			_, err := e.ar.FindSession(e.ctx, plain.Manifest.SessionID, "")
			if err == nil || !strings.Contains(err.Error(), "rooms 101, 105") {
				t.Fatalf("err %v", err)
			}
			if s, err := e.ar.FindSession(e.ctx, plain.Manifest.SessionID, "105"); err != nil || s.Room != "105" {
				t.Fatalf("with room: %+v %v", s, err)
			}
		})
		t.Run("deleted on the device", func(t *testing.T) {
			gone := archivetest.Build(t, archivetest.Spec{Room: "106", Started: at("2026-11-07T08:00:00Z"),
				Segments: []archivetest.SegSpec{{Frames: 1000}}}, rec)
			gone.Manifest.Deleted, gone.Manifest.Withdrawn = true, true
			mb, err := gone.Manifest.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			if _, err := e.cl.PutObject(e.ctx, bucket, gone.Prefix+manifest.FileName, bytes.NewReader(mb), int64(len(mb)), minio.PutObjectOptions{SendContentMd5: true}); err != nil {
				t.Fatal(err)
			}
			defer func() {
				vs, _ := e.ar.SessionVersions(e.ctx, "106", gone.Manifest.SessionID)
				e.ar.RemoveVersions(e.ctx, vs)
			}()
			rows, err := e.ar.Sessions(e.ctx, archive.Filter{Room: "106"})
			if err != nil || len(rows) != 1 || rows[0].State != "deleted" {
				t.Fatalf("rows %+v %v", rows, err)
			}
			_, err = e.ar.Pull(e.ctx, archive.PullOptions{SessionID: gone.Manifest.SessionID, Identities: []age.Identity{e.id}, Out: filepath.Join(t.TempDir(), "x.wav")})
			if err == nil || !strings.Contains(err.Error(), "deleted on the device") {
				t.Fatalf("err %v", err)
			}
		})
		t.Run("existing out", func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out.wav")
			os.WriteFile(out, []byte("keep"), 0o600)
			_, err := e.ar.Pull(e.ctx, archive.PullOptions{SessionID: plain.Manifest.SessionID, Identities: []age.Identity{e.id}, Out: out})
			if err == nil || !strings.Contains(err.Error(), "exists") {
				t.Fatalf("err %v", err)
			}
		})
	})

	t.Run("Statuses", func(t *testing.T) {
		put := func(room string, st layout.Status) {
			b, err := st.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			if _, err := e.cl.PutObject(e.ctx, bucket, layout.StatusKey(room), bytes.NewReader(b), int64(len(b)), minio.PutObjectOptions{SendContentMd5: true}); err != nil {
				t.Fatal(err)
			}
		}
		put("101", layout.Status{RoomID: "101", Door: room.DoorInSession, Recording: true, ClockOffsetMS: 1200,
			Checks: []room.CheckResult{{Name: "temperature", State: room.CheckAbnormal}, {Name: "clock", State: room.CheckGood}},
			Queue:  layout.Queue{Objects: 4, OldestAgeSec: 90}})
		put("102", layout.Status{RoomID: "102", Door: room.DoorFree})
		put("104", layout.Status{RoomID: "999", Door: room.DoorFree}) // lies about its room
		now := time.Now()
		rows, err := e.ar.Statuses(e.ctx, now.Add(time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		byRoom := map[string]archive.RoomStatus{}
		for _, r := range rows {
			byRoom[r.Room] = r
		}
		if len(rows) != 6 { // 101-104, and 107, 108 from PullFailures
			t.Fatalf("rows %+v", rows)
		}
		// PullFailures/tampered wrote over a segment of room 103's session.
		if byRoom["103"].Tampered != 1 || byRoom["101"].Tampered != 0 {
			t.Fatalf("tampered sessions: 103 %d, 101 %d", byRoom["103"].Tampered, byRoom["101"].Tampered)
		}
		r101 := byRoom["101"]
		if r101.Stale || r101.Status == nil || !r101.Status.Recording || strings.Join(r101.Failing, ",") != "temperature" || r101.Status.Queue.Objects != 4 {
			t.Fatalf("101: %+v", r101)
		}
		if r := byRoom["103"]; !r.Stale || r.Status != nil || !strings.Contains(r.Error, "no status") {
			t.Fatalf("103 (sessions only): %+v", r)
		}
		if r := byRoom["104"]; r.Status != nil || !strings.Contains(r.Error, "names room") {
			t.Fatalf("104: %+v", r)
		}
		rows, err = e.ar.Statuses(e.ctx, now.Add(layout.StaleAfter+time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			if !r.Stale {
				t.Fatalf("%s not stale 4 minutes on: %+v", r.Room, r)
			}
		}
	})

	t.Run("Deletions", func(t *testing.T) {
		put := func(key string, v any) {
			b, _ := json.Marshal(v)
			if _, err := e.cl.PutObject(e.ctx, bucket, key, bytes.NewReader(b), int64(len(b)), minio.PutObjectOptions{SendContentMd5: true}); err != nil {
				t.Fatal(err)
			}
		}
		// A withdrawn session whose participants chose Keep (its manifest
		// records no delete): a request for it is suspicious.
		id := withdrawn.Manifest.SessionID
		put(archive.DeletionKey("102", id), manifest.Deletion{SessionID: id, RoomID: "102", RequestedAt: time.Now(), Reason: "withdrawn"})
		// Room 101 cannot ask to delete room 102's sessions.
		forged := archive.DeletionKey("101", plain.Manifest.SessionID)
		put(forged, manifest.Deletion{SessionID: plain.Manifest.SessionID, RoomID: "102", RequestedAt: time.Now(), Reason: "withdrawn"})
		// Its summary (no audio, no personal data) survives the deletion.
		sumKey := archive.SessionPrefix("102", withdrawn.Manifest.Started, id) + archive.SummaryFile
		put(sumKey, map[string]any{"room_id": "102", "session_id": id, "started": withdrawn.Manifest.Started,
			"ended": withdrawn.Manifest.Ended, "participants": 2, "recorded": true, "withdrawn": true})
		// A withdrawn session whose audio never left the device (held,
		// then deleted): a summary recording the delete, and a request.
		const heldID = "20261106T100000Z-abc777"
		heldStart := at("2026-11-06T10:00:00Z")
		heldSum := archive.SessionPrefix("102", heldStart, heldID) + archive.SummaryFile
		put(heldSum, map[string]any{"room_id": "102", "session_id": heldID, "started": heldStart,
			"ended": heldStart.Add(time.Minute), "participants": 2, "recorded": true, "withdrawn": true, "audio_deleted": true})
		put(archive.DeletionKey("102", heldID), manifest.Deletion{SessionID: heldID, RoomID: "102", RequestedAt: time.Now(), Reason: "withdrawn"})
		states := func() map[string]archive.Session {
			t.Helper()
			rows, err := e.ar.Sessions(e.ctx, archive.Filter{Room: "102"})
			if err != nil {
				t.Fatal(err)
			}
			m := map[string]archive.Session{}
			for _, r := range rows {
				m[r.Session] = r
			}
			return m
		}
		st := states()
		if st[id].State != "withdrawn" || len(st[id].Warnings) != 1 || !strings.Contains(st[id].Warnings[0], "SUSPICIOUS") ||
			st[heldID].State != archive.StateDeleted || !st[heldID].Withdrawn {
			t.Fatalf("before apply: %+v / %+v", st[id], st[heldID])
		}
		before, err := e.ar.SessionVersions(e.ctx, "102", id)
		if err != nil || len(before) != 3 {
			t.Fatalf("before: %v %v", before, err)
		}
		var audited []archive.DeletionOutcome
		outs, err := e.ar.ApplyDeletions(e.ctx, func(o archive.DeletionOutcome) error { audited = append(audited, o); return nil })
		if err == nil || !strings.Contains(err.Error(), "names room") {
			t.Fatalf("err %v, want the forged request reported", err)
		}
		if len(outs) != 3 || len(audited) != 3 {
			t.Fatalf("outcomes %+v", outs)
		}
		for _, o := range outs {
			switch o.Key {
			case forged:
				if o.Result == "ok" || len(o.Removed) != 0 {
					t.Fatalf("forged: %+v", o)
				}
			case archive.DeletionKey("102", heldID):
				if o.Result != "ok" || len(o.Removed) != 0 {
					t.Fatalf("held: %+v", o)
				}
			default:
				if !o.Suspicious || !strings.HasPrefix(o.Result, "suspicious") || len(o.Removed) != 0 {
					t.Fatalf("kept withdrawn session: %+v", o)
				}
			}
		}
		if vs, _ := e.ar.SessionVersions(e.ctx, "102", id); len(vs) != 3 {
			t.Fatalf("suspicious request applied: %v", vs)
		}
		// Only an admin naming it, with confirm, applies it.
		if _, err := e.ar.ApplyDeletion(e.ctx, "102", id, false, func(archive.DeletionOutcome) error { return nil }); !errors.Is(err, archive.ErrSuspicious) {
			t.Fatalf("apply by name without confirm: %v", err)
		}
		o, err := e.ar.ApplyDeletion(e.ctx, "102", id, true, func(o archive.DeletionOutcome) error { audited = append(audited, o); return nil })
		if err != nil || len(o.Removed) != 2 || len(audited) != 4 {
			t.Fatalf("apply by name with confirm: %+v %v", o, err)
		}
		after, err := e.ar.SessionVersions(e.ctx, "102", id)
		var left []string
		for _, v := range after {
			left = append(left, v.Key[strings.LastIndexByte(v.Key, '/')+1:])
		}
		slices.Sort(left)
		if err != nil || strings.Join(left, ",") != "summary.json" {
			t.Fatalf("after: %v %v", after, err)
		}
		st = states()
		for _, sid := range []string{id, heldID} {
			if r := st[sid]; r.State != archive.StateDeleted || !strings.HasPrefix(r.DeletedKey, "admin/tombstones/102/") || r.SummaryKey == "" || r.Key != "" || r.Participants != 2 {
				t.Errorf("after apply: %+v", r)
			}
		}
		if _, err := e.ar.Pull(e.ctx, archive.PullOptions{SessionID: id, Room: "102", Identities: []age.Identity{e.id}, Out: filepath.Join(t.TempDir(), "x.wav")}); err == nil || !strings.Contains(err.Error(), "no recording") {
			t.Errorf("pull of a deleted session: %v", err)
		}
		if vs, _ := e.ar.KeyVersions(e.ctx, archive.DeletionKey("102", id)); len(vs) != 0 {
			t.Fatalf("request still there: %v", vs)
		}
		if vs, _ := e.ar.KeyVersions(e.ctx, forged); len(vs) != 1 {
			t.Fatalf("forged request removed: %v", vs)
		}
		if vs, _ := e.ar.SessionVersions(e.ctx, "101", plain.Manifest.SessionID); len(vs) != 4 {
			t.Fatalf("room 101's session touched: %v", vs)
		}
	})

	// A deletion applied by roomctl before tombstones moved under admin/
	// left deleted.json in the session folder: honoured when the audit log
	// (admin-only) records the deletion, ignored otherwise (a device could
	// have written it).
	t.Run("LegacyTombstone", func(t *testing.T) {
		put := func(key, body string) {
			t.Helper()
			if _, err := e.cl.PutObject(e.ctx, bucket, key, strings.NewReader(body), int64(len(body)), minio.PutObjectOptions{SendContentMd5: true}); err != nil {
				t.Fatal(err)
			}
		}
		audited, forged := "20261112T100000Z-ddd444", "20261112T110000Z-eee555"
		for _, id := range []string{audited, forged} {
			start, _ := layout.SessionStart(id)
			put(layout.SummaryKey("130", start, id), `{"room_id":"130","session_id":"`+id+`","started":"`+start.Format(time.RFC3339)+`","recorded":true,"withdrawn":true}`)
			put(layout.LegacyTombstoneKey("130", start, id), `{"session_id":"`+id+`","room_id":"130"}`)
		}
		au := admin.Auditor{Client: e.cl, Bucket: bucket, Who: "old-roomctl"}
		if _, err := au.Write(e.ctx, admin.AuditRecord{Action: "delete-session", Room: "130", Session: audited, Result: "ok"}); err != nil {
			t.Fatal(err)
		}
		rows, err := e.ar.Sessions(e.ctx, archive.Filter{Room: "130"})
		if err != nil || len(rows) != 2 {
			t.Fatalf("rows %+v %v", rows, err)
		}
		for _, r := range rows {
			switch r.Session {
			case audited:
				if r.State != archive.StateDeleted || !strings.Contains(strings.Join(r.Warnings, " "), "confirmed by the audit log") {
					t.Errorf("audited legacy deletion: %+v", r)
				}
			case forged:
				if r.State == archive.StateDeleted || !strings.Contains(strings.Join(r.Warnings, " "), "ignored") {
					t.Errorf("unaudited deleted.json: %+v", r)
				}
			}
		}
	})

	// Every session leaves a summary.json (sync/upload): an unrecorded one
	// is listed from it alone, a recorded one gets its figures added.
	t.Run("Summaries", func(t *testing.T) {
		put := func(key, body string) {
			t.Helper()
			if _, err := e.cl.PutObject(e.ctx, bucket, key, strings.NewReader(body), int64(len(body)), minio.PutObjectOptions{SendContentMd5: true}); err != nil {
				t.Fatal(err)
			}
		}
		dec, forged := "20261110T100000Z-bbb222", "20261110T110000Z-ccc333"
		recorded := archivetest.Build(t, archivetest.Spec{Room: "120", Started: at("2026-11-10T09:00:00Z"), Seed: 21,
			Segments: []archivetest.SegSpec{{Frames: 16000}}}, e.id.Recipient())
		recorded.Upload(t, e.cl, bucket)
		rec := recorded.Manifest.SessionID
		put(archive.SessionPrefix("120", recorded.Manifest.Started, rec)+archive.SummaryFile,
			`{"room_id":"120","session_id":"`+rec+`","started":"2026-11-10T09:00:00Z","ended":"2026-11-10T09:50:00Z","participants":2,"want_recording":true,"recorded":true,"feedback":5}`)
		put("rooms/120/sessions/2026/11/10/"+dec+"/summary.json",
			`{"room_id":"120","session_id":"`+dec+`","started":"2026-11-10T10:00:00Z","ended":"2026-11-10T10:45:00Z","participants":3,"want_recording":true,"declined":true}`)
		put("rooms/120/sessions/2026/11/10/"+forged+"/summary.json",
			`{"room_id":"101","session_id":"`+forged+`","started":"2026-11-10T11:00:00Z","ended":"2026-11-10T11:45:00Z"}`)
		rows, err := e.ar.Sessions(e.ctx, archive.Filter{Room: "120"})
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]archive.Session{}
		for _, r := range rows {
			got[r.Session] = r
		}
		if r := got[rec]; r.State != "recorded" || r.Participants != 2 || r.Feedback != 5 || r.Segments != 1 || r.Key == "" || r.SummaryKey == "" {
			t.Errorf("recorded session with summary: %+v", r)
		}
		if r := got[dec]; r.State != "declined" || !r.Declined || r.Participants != 3 || r.Segments != 0 || r.Duration != 45*time.Minute || r.Key != "" {
			t.Errorf("declined session: %+v", r)
		}
		if r := got[forged]; r.State != "unreadable" || !strings.Contains(r.Error, "not those of its path") {
			t.Errorf("summary naming another room: %+v", r)
		}
		if len(rows) != 3 {
			t.Errorf("rows = %+v", rows)
		}
	})
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}
