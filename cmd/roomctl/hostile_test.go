package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"roomkiosk/internal/room"
	"roomkiosk/recorder/manifest"
	"roomkiosk/sync/admin"
	"roomkiosk/sync/archive"
	"roomkiosk/sync/archive/archivetest"
	"roomkiosk/sync/layout"
	"roomkiosk/sync/upload"
)

// TestHostileDevice is the threat model made executable: an attacker holds
// one room's kiosk, that is its real write-only storage credentials (made
// by `roomctl provision --apply` through mc, the policy a real device gets)
// and the admins' public age recipient. Each subtest carries out one attack
// with exactly that against a real MinIO, and asserts roomctl's answer.
func TestHostileDevice(t *testing.T) {
	f := newFleet(t)
	if r := runT(t, f.env, "", "bucket", "init"); r.code != 0 {
		t.Fatal(r.stderr)
	}
	credFile := filepath.Join(t.TempDir(), "dev-201.toml")
	if r := runT(t, f.env, "", "provision", "201", "--apply", "--credentials-out", credFile); r.code != 0 {
		t.Fatal(r.stderr)
	}
	creds, err := upload.LoadCredentials(credFile)
	if err != nil {
		t.Fatal(err)
	}
	dev := f.srv.ClientFor(t, creds.AccessKey, creds.SecretKey)
	put := func(t *testing.T, cl *minio.Client, key string, b []byte) error {
		t.Helper()
		_, err := cl.PutObject(f.ctx, "clinic", key, bytes.NewReader(b), int64(len(b)), minio.PutObjectOptions{SendContentMd5: true})
		return err
	}
	mustPut := func(t *testing.T, key string, b []byte) {
		t.Helper()
		if err := put(t, dev, key, b); err != nil {
			t.Fatalf("device put %s: %v", key, err)
		}
	}
	jsonOf := func(v any) []byte {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	// Nothing a device wrote may reach the terminal raw.
	noControl := func(t *testing.T, r result) {
		t.Helper()
		for _, out := range []string{r.stdout, r.stderr} {
			if i := strings.IndexFunc(out, func(c rune) bool { return c < 0x20 && c != '\n' && c != '\t' || c == 0x7f || c >= 0x80 && c < 0xa0 }); i >= 0 {
				t.Fatalf("a control character reached the terminal at %d: %q", i, out)
			}
		}
	}
	lastAudit := func(t *testing.T) layout.AuditRecord {
		t.Helper()
		recs, err := admin.ReadAudit(f.ctx, f.cl, "clinic")
		if err != nil || len(recs) == 0 {
			t.Fatalf("audit: %v %v", recs, err)
		}
		return recs[len(recs)-1]
	}
	sessionsOf := func(t *testing.T) map[string]archive.Session {
		t.Helper()
		return sessionRows(t, f.env, "--room", "201")
	}

	// Honest sessions the kiosk uploaded before it was stolen.
	honest := func(seed uint64, start string) *archivetest.Session {
		at, _ := time.Parse(time.RFC3339, start)
		s := archivetest.Build(t, archivetest.Spec{Room: "201", Started: at, Seed: seed,
			Segments: []archivetest.SegSpec{{Frames: 48000}, {Frames: 48000}}}, f.id.Recipient())
		s.Upload(t, dev, "clinic")
		return s
	}
	victim := honest(1, "2026-11-02T10:00:00Z")
	normal := honest(2, "2026-11-02T11:00:00Z")
	shown := honest(3, "2026-11-02T12:00:00Z")
	// Opened just before midnight UTC, recording from just after it: its
	// writer puts the manifest and segments in the next day's folder.
	midnight := func(seed uint64, id string) *archivetest.Session {
		s := archivetest.Build(t, archivetest.Spec{Room: "201", ID: id, Started: time.Date(2026, 11, 3, 0, 0, 5, 0, time.UTC), Seed: seed,
			Segments: []archivetest.SegSpec{{Frames: 48000}, {Frames: 48000}}}, f.id.Recipient())
		s.Upload(t, dev, "clinic")
		return s
	}
	late := midnight(5, "20261102T235950Z-abc123")
	// The admin lists the archive before the kiosk is stolen: roomctl
	// witnesses what it read (admin/witness/).
	witnessed := sessionsOf(t)
	for _, s := range []*archivetest.Session{victim, normal, shown, late} {
		if r := witnessed[s.Manifest.SessionID]; r.Tampered || r.State != "recorded" {
			t.Fatalf("genuine session listed as %+v", r)
		}
	}

	// A thief's put: the headers minio-go sends for its replication
	// options, which the pinned MinIO honours from a plain PutObject.
	putAs := func(t *testing.T, key string, b []byte, in minio.AdvancedPutOptions) error {
		t.Helper()
		_, err := dev.PutObject(f.ctx, "clinic", key, bytes.NewReader(b), int64(len(b)), minio.PutObjectOptions{SendContentMd5: true, Internal: in})
		return err
	}
	backdated := minio.AdvancedPutOptions{SourceMTime: time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC)}
	versionsOf := func(t *testing.T, room, id string) int {
		t.Helper()
		vs, err := (&archive.Archive{Client: f.cl, Bucket: "clinic"}).SessionVersions(f.ctx, room, id)
		if err != nil {
			t.Fatal(err)
		}
		return len(vs)
	}
	withdrawnCopy := func(s *archivetest.Session) []byte {
		forged := *s.Manifest
		forged.Withdrawn, forged.Deleted = true, true
		mb, _ := forged.Marshal()
		return mb
	}
	requestFor := func(id string) []byte {
		return jsonOf(manifest.Deletion{Version: 1, SessionID: id, RoomID: "201", RequestedAt: time.Now().UTC(), Reason: "withdrawn"})
	}
	// deletionRefused runs `deletions apply` and checks the session kept
	// every version, its request stayed, and the audit says why.
	deletionRefused := func(t *testing.T, id string, before int) {
		t.Helper()
		r := runT(t, f.env, "", "deletions", "apply")
		if r.code != exitFailure || !strings.Contains(r.stdout, "suspicious") {
			t.Fatalf("deletions apply: %+v", r)
		}
		if after := versionsOf(t, "201", id); after != before {
			t.Fatalf("a forged request removed versions: %d -> %d", before, after)
		}
		r = runT(t, f.env, "", "deletions", "apply", "--session", id, "--room", "201")
		if r.code == 0 || !strings.Contains(r.stderr, "TAMPERED") {
			t.Fatalf("deletions apply --session without --confirm: %+v", r)
		}
		if after := versionsOf(t, "201", id); after != before {
			t.Fatalf("apply --session without --confirm removed versions: %d -> %d", before, after)
		}
	}

	// Uploaded just before the theft, never listed by an admin: no witness.
	// The thief's backdated withdrawal (BackdatedUnwitnessed) goes up
	// before any admin reads again.
	unseen := honest(4, "2026-11-02T13:00:00Z")
	if err := putAs(t, unseen.Prefix+manifest.FileName, withdrawnCopy(unseen), backdated); err != nil {
		t.Fatal(err)
	}
	if err := putAs(t, layout.DeletionKey("201", unseen.Manifest.SessionID), requestFor(unseen.Manifest.SessionID), backdated); err != nil {
		t.Fatal(err)
	}

	t.Run("SilentReplacement", func(t *testing.T) {
		// 3 s of validly encrypted other audio over a segment and the
		// manifest: new versions of the session's own keys.
		fake := archivetest.Build(t, archivetest.Spec{Room: "201", ID: victim.Manifest.SessionID, Started: victim.Manifest.Started, Seed: 99,
			Segments: []archivetest.SegSpec{{Frames: 48000}}}, f.id.Recipient())
		mustPut(t, victim.Prefix+"seg-000001.wav.age", fake.Files["seg-000001.wav.age"])
		mb, _ := fake.Manifest.Marshal()
		mustPut(t, victim.Prefix+manifest.FileName, mb)

		rows := sessionsOf(t)
		if r := rows[victim.Manifest.SessionID]; r.State != archive.StateTampered || len(r.TamperedKeys) != 2 || r.Segments != 2 {
			t.Fatalf("sessions: %+v", r)
		}
		r := runT(t, f.env, "", "sessions", "--room", "201")
		if !strings.Contains(r.stdout, "tampered") || !strings.Contains(r.stderr, "TAMPERED") || !strings.Contains(r.stderr, "seg-000001.wav.age (2 versions)") {
			t.Fatalf("sessions table: %+v", r)
		}
		r = runT(t, f.env, "", "status", "--json")
		var st []archive.RoomStatus
		if err := json.Unmarshal([]byte(r.stdout), &st); err != nil || len(st) != 1 || st[0].Tampered != 2 { // victim and unseen
			t.Fatalf("status: %v %+v", err, st)
		}
		dir := t.TempDir()
		out := filepath.Join(dir, "s.wav")
		r = runT(t, f.env, "", "pull", victim.Manifest.SessionID, "-i", f.key, "-o", out)
		if r.code != exitFailure || !strings.Contains(r.stderr, "manifest.json (2 versions)") || !strings.Contains(r.stderr, "--original") {
			t.Fatalf("pull of a tampered session: %+v", r)
		}
		if left, _ := os.ReadDir(dir); len(left) != 0 {
			t.Fatalf("left at OUT: %v", left)
		}
		if a := lastAudit(t); a.Action != "pull" || a.Result == "ok" || a.Session != victim.Manifest.SessionID {
			t.Fatalf("refused pull not audited: %+v", a)
		}
		r = runT(t, f.env, "", "pull", victim.Manifest.SessionID, "-i", f.key, "-o", out, "--original")
		if r.code != 0 {
			t.Fatalf("pull --original: %+v", r)
		}
		fh, _ := os.Open(out)
		w, err := archive.ReadWAV(fh)
		fh.Close()
		if err != nil || !bytes.Equal(w.PCM, victim.WantPCM) {
			t.Fatalf("pull --original did not give the first-written audio (%v)", err)
		}
		if a := lastAudit(t); a.Result != "ok" || !strings.Contains(a.Detail, "TAMPERED") {
			t.Fatalf("pull --original audit: %+v", a)
		}
	})

	t.Run("ForgedDeletion", func(t *testing.T) {
		id := normal.Manifest.SessionID
		// The thief also rewrites the manifest to claim withdrawal with
		// delete: its versions differ, so it decides nothing.
		forged := *normal.Manifest
		forged.Withdrawn, forged.Deleted = true, true
		mb, _ := forged.Marshal()
		mustPut(t, normal.Prefix+manifest.FileName, mb)
		mustPut(t, layout.DeletionKey("201", id), jsonOf(manifest.Deletion{Version: 1, SessionID: id, RoomID: "201", RequestedAt: time.Now().UTC(), Reason: "withdrawn"}))
		before, _ := (&archive.Archive{Client: f.cl, Bucket: "clinic"}).SessionVersions(f.ctx, "201", id)

		r := runT(t, f.env, "", "deletions", "apply")
		if r.code != exitFailure || !strings.Contains(r.stdout, "suspicious") || !strings.Contains(r.stderr, "suspicious") {
			t.Fatalf("deletions apply: %+v", r)
		}
		after, _ := (&archive.Archive{Client: f.cl, Bucket: "clinic"}).SessionVersions(f.ctx, "201", id)
		if len(after) != len(before) || len(after) == 0 {
			t.Fatalf("a forged request removed versions: %d -> %d", len(before), len(after))
		}
		if a := lastAudit(t); a.Action != "delete-session" || !strings.Contains(a.Result, "suspicious") {
			t.Fatalf("suspicious request not audited: %+v", a)
		}
		if row := sessionsOf(t)[id]; row.State == archive.StateDeleted || row.State == archive.StateDeletionRequested || !strings.Contains(strings.Join(row.Warnings, "\n"), "SUSPICIOUS") {
			t.Fatalf("sessions: %+v", row)
		}
		// Admin records live where the device cannot write.
		for _, key := range []string{layout.TombstoneKey("201", id), layout.AuditKey(time.Now(), "delete-session", "FORGED22")} {
			if err := put(t, dev, key, []byte(`{}`)); admin.ErrorCode(err) != "AccessDenied" {
				t.Errorf("device put %s: %v, want AccessDenied", key, err)
			}
		}
	})

	t.Run("ForgedTombstone", func(t *testing.T) {
		id := shown.Manifest.SessionID
		mustPut(t, layout.LegacyTombstoneKey("201", shown.Manifest.Started, id),
			jsonOf(layout.Tombstone{SessionID: id, RoomID: "201", AppliedAt: time.Now()}))
		row := sessionsOf(t)[id]
		if row.State != "recorded" || row.DeletedKey != "" || !strings.Contains(strings.Join(row.Warnings, "\n"), "ignored") {
			t.Fatalf("a device-written tombstone hid a recording: %+v", row)
		}
	})

	t.Run("HostileSizes", func(t *testing.T) {
		for i, tc := range []struct {
			name string
			edit func(m *manifest.Manifest)
		}{
			{"bytes 1<<36", func(m *manifest.Manifest) { m.Segments[0].Bytes = 1 << 36 }},
			{"bytes 1<<62", func(m *manifest.Manifest) { m.Segments[0].Bytes = 1 << 62 }},
			{"bytes overflow", func(m *manifest.Manifest) {
				m.Segments[0].Bytes, m.Segments[1].Bytes = math.MaxInt64/2+1, math.MaxInt64/2+1
			}},
			{"samples 1<<62", func(m *manifest.Manifest) { m.Segments[0].Samples = 1 << 62 }},
			{"gap 1<<62", func(m *manifest.Manifest) {
				m.Gaps = []manifest.Gap{{AfterSegment: 1, Frames: 1 << 62, Reason: "mic_lost"}}
			}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				at := time.Date(2026, 11, 3, 10, i, 0, 0, time.UTC)
				s := archivetest.Build(t, archivetest.Spec{Room: "201", Started: at, Seed: uint64(10 + i),
					Segments: []archivetest.SegSpec{{Frames: 16000}, {Frames: 16000}}}, f.id.Recipient())
				for _, sg := range s.Manifest.Segments {
					mustPut(t, s.Prefix+sg.Name, s.Files[sg.Name])
				}
				tc.edit(s.Manifest)
				mustPut(t, s.Prefix+manifest.FileName, jsonOf(s.Manifest)) // no Validate: hostile
				dir := t.TempDir()
				r := runT(t, f.env, "", "pull", s.Manifest.SessionID, "-i", f.key, "-o", filepath.Join(dir, "x.wav"))
				if r.code != exitFailure || !strings.Contains(r.stderr, "manifest") {
					t.Fatalf("pull: %+v", r)
				}
				if left, _ := os.ReadDir(dir); len(left) != 0 {
					t.Fatalf("left at or beside OUT: %v", left)
				}
				if a := lastAudit(t); a.Action != "pull" || a.Session != s.Manifest.SessionID || a.Result == "ok" {
					t.Fatalf("failed pull not audited: %+v", a)
				}
				if row := sessionsOf(t)[s.Manifest.SessionID]; row.State != "unreadable" {
					t.Fatalf("sessions: %+v", row)
				}
			})
		}
	})

	t.Run("FutureStatus", func(t *testing.T) {
		// The genuine kiosk last reported Out of service ten minutes ago
		// (the admin client backdates it to stand for that report); the
		// thief's "free" status dated 2099 would stay the latest for ever.
		genuine, _ := (&layout.Status{RoomID: "201", Door: room.DoorOutOfService}).Marshal()
		if _, err := f.cl.PutObject(f.ctx, "clinic", layout.StatusKey("201"), bytes.NewReader(genuine), int64(len(genuine)),
			minio.PutObjectOptions{Internal: minio.AdvancedPutOptions{SourceMTime: time.Now().Add(-10 * time.Minute)}}); err != nil {
			t.Fatal(err)
		}
		forged, _ := (&layout.Status{RoomID: "201", Door: room.DoorFree}).Marshal()
		if err := putAs(t, layout.StatusKey("201"), forged, minio.AdvancedPutOptions{SourceMTime: time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC)}); err != nil {
			t.Fatal(err)
		}
		r := runT(t, f.env, "", "status", "--json")
		var rows []archive.RoomStatus
		if err := json.Unmarshal([]byte(r.stdout), &rows); err != nil || len(rows) != 1 {
			t.Fatalf("status: %v %+v", err, r)
		}
		st := rows[0]
		if st.Status == nil || st.Status.Door != room.DoorOutOfService || !st.Stale || !strings.Contains(strings.Join(st.Forged, "\n"), "2099") {
			t.Fatalf("status believed the future-dated version: %+v", st)
		}
		if r := runT(t, f.env, "", "status"); !strings.Contains(r.stderr, "FORGED") || !strings.Contains(r.stdout, "STALE") {
			t.Fatalf("status table: %+v", r)
		}
	})

	t.Run("LogRewrite", func(t *testing.T) {
		// The uploader puts every log key once: a closed day's log put
		// again is a rewrite, and a day in 2099 a forgery.
		day := time.Now().UTC().AddDate(0, 0, -1).Truncate(24 * time.Hour)
		line := func(v string) []byte {
			return []byte(fmt.Sprintf(`{"at":%q,"kind":"run","results":[{"name":"temperature","state":"good","value":"%s"}]}`+"\n", day.Add(time.Hour).Format(time.RFC3339), v))
		}
		mustPut(t, layout.LogSnapshotKey("201", day, int64(len(line("21.0 °C")))), line("21.0 °C"))
		mustPut(t, layout.LogDayKey("201", day), line("21.0 °C"))
		// A plain put: the newest version, which the old reader took.
		if err := putAs(t, layout.LogDayKey("201", day), line("35.0 °C"), minio.AdvancedPutOptions{}); err != nil {
			t.Fatal(err)
		}
		if err := putAs(t, layout.LogDayKey("201", time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC)), line("1e17"), minio.AdvancedPutOptions{}); err != nil {
			t.Fatal(err)
		}
		ar := &archive.Archive{Client: f.cl, Bucket: "clinic"}
		rep, err := ar.CheckLogReport(f.ctx, "201", day, time.Time{}, time.Now())
		if err != nil || len(rep.Lines) != 1 || rep.Lines[0].Results[0].Value != "21.0 °C" || len(rep.Forged) != 2 {
			t.Fatalf("log read: %v %+v", err, rep)
		}
		r := runT(t, f.env, "", "status")
		if !strings.Contains(r.stderr, "rewritten") || !strings.Contains(r.stderr, "2099") {
			t.Fatalf("status does not flag the rewritten log: %+v", r)
		}
	})

	t.Run("TerminalInjection", func(t *testing.T) {
		st := layout.Status{RoomID: "201", Door: room.Door("\x1b[2J\x1b]0;owned\x07free"),
			Checks: []room.CheckResult{{Name: "door\x1b[8m", State: room.CheckAbnormal}}}
		b, _ := st.Marshal()
		mustPut(t, layout.StatusKey("201"), b)
		hostileKeys := []string{
			"rooms/201/sessions/2026/11/02/\x1b]0;owned\x07/manifest.json",
			"rooms/201/deletions/\x1b[2J.json",
			"rooms/201/\x1b[2Jstatus.json",
		}
		for _, k := range hostileKeys {
			mustPut(t, k, []byte(`{}`))
		}
		for _, args := range [][]string{{"status"}, {"sessions"}, {"sessions", "--room", "201"}, {"deletions", "apply", "--dry-run"}, {"deletions", "apply"}, {"audit"}} {
			r := runT(t, f.env, "", args...)
			noControl(t, r)
		}
		r := runT(t, f.env, "", "status", "--json")
		var rows []archive.RoomStatus
		if err := json.Unmarshal([]byte(r.stdout), &rows); err != nil || len(rows) != 1 || rows[0].Status != nil || !strings.Contains(rows[0].Error, "door") {
			t.Fatalf("a status with a hostile door was accepted: %v %+v", err, rows)
		}
	})

	t.Run("BackdatedWithdrawal", func(t *testing.T) {
		// A manifest dated 2001 saying "withdrawn, delete", and a request:
		// the old reader took the 2001 version as the first and applied it.
		id := victim.Manifest.SessionID
		if err := putAs(t, victim.Prefix+manifest.FileName, withdrawnCopy(victim), backdated); err != nil {
			t.Fatal(err)
		}
		if err := putAs(t, layout.DeletionKey("201", id), requestFor(id), backdated); err != nil {
			t.Fatal(err)
		}
		before := versionsOf(t, "201", id)
		deletionRefused(t, id, before)
		row := sessionsOf(t)[id]
		if !row.Tampered || row.Withdrawn || row.State == archive.StateDeleted || !strings.Contains(strings.Join(row.Warnings, "\n"), "SUSPICIOUS") {
			t.Fatalf("sessions: %+v", row)
		}
		// The witness saw the genuine manifest: --original pulls it.
		out := filepath.Join(t.TempDir(), "v.wav")
		if r := runT(t, f.env, "", "pull", id, "-i", f.key, "-o", out); r.code != exitFailure || !strings.Contains(r.stderr, "--original") {
			t.Fatalf("pull: %+v", r)
		}
		if r := runT(t, f.env, "", "pull", id, "-i", f.key, "-o", out, "--original"); r.code != 0 {
			t.Fatalf("pull --original: %+v", r)
		}
		fh, _ := os.Open(out)
		w, err := archive.ReadWAV(fh)
		fh.Close()
		if err != nil || !bytes.Equal(w.PCM, victim.WantPCM) {
			t.Fatalf("pull --original did not give the genuine audio (%v)", err)
		}
	})

	t.Run("BackdatedUnwitnessed", func(t *testing.T) {
		// No admin ever listed it: the two manifests are disputed, neither
		// is shown, nothing is removed, and no pull picks one.
		id := unseen.Manifest.SessionID
		before := versionsOf(t, "201", id)
		deletionRefused(t, id, before)
		row := sessionsOf(t)[id]
		if !row.Tampered || row.Withdrawn || row.Manifest != nil || row.State != archive.StateTampered {
			t.Fatalf("sessions: %+v", row)
		}
		r := runT(t, f.env, "", "pull", id, "-i", f.key, "-o", filepath.Join(t.TempDir(), "u.wav"), "--original")
		if r.code != exitFailure || !strings.Contains(r.stderr, "witness") {
			t.Fatalf("pull --original of an unwitnessed dispute: %+v", r)
		}
	})

	t.Run("NextDayFolder", func(t *testing.T) {
		// A forged manifest in the next day's folder: a fresh key with one
		// version. It is a second manifest of the session: both disputed.
		id := shown.Manifest.SessionID
		forged := *shown.Manifest
		forged.Started = time.Date(2026, 11, 3, 0, 0, 1, 0, time.UTC)
		forged.StopReason = "forged"
		mb, _ := forged.Marshal()
		if err := putAs(t, layout.ManifestKey("201", forged.Started, id), mb, minio.AdvancedPutOptions{}); err != nil {
			t.Fatal(err)
		}
		// And a segment a week later: not this session's folder at all.
		if err := putAs(t, layout.SegmentKey("201", forged.Started.AddDate(0, 0, 7), id, "seg-000009.wav.age"), []byte("x"), backdated); err != nil {
			t.Fatal(err)
		}
		r := runT(t, f.env, "", "sessions", "--room", "201", "--since", "2026-11-03", "--json")
		var rows []archive.Session
		_ = json.Unmarshal([]byte(r.stdout), &rows)
		found := false
		for _, row := range rows {
			found = found || row.Session == id
		}
		if found {
			t.Fatalf("--since moved the session to the forged day: %+v", rows)
		}
		row := sessionsOf(t)[id]
		keys := strings.Join(row.TamperedKeys, "\n")
		if !row.Tampered || !strings.Contains(keys, "two day folders") || !strings.Contains(keys, "another day's folder") {
			t.Fatalf("sessions: %+v", row)
		}
		if r := runT(t, f.env, "", "pull", id, "-i", f.key, "-o", filepath.Join(t.TempDir(), "n.wav")); r.code != exitFailure || !strings.Contains(r.stderr, "tampered") {
			t.Fatalf("pull: %+v", r)
		}
	})

	t.Run("MidnightForgery", func(t *testing.T) {
		// The genuine session keeps its manifest in the next day's folder;
		// a forged manifest in the id's own day says "withdrawn, delete".
		id := late.Manifest.SessionID
		out := filepath.Join(t.TempDir(), "m.wav")
		if r := runT(t, f.env, "", "pull", id, "-i", f.key, "-o", out); r.code != 0 {
			t.Fatalf("pull of a genuine midnight session: %+v", r)
		}
		if err := putAs(t, layout.ManifestKey("201", time.Date(2026, 11, 2, 23, 59, 50, 0, time.UTC), id), withdrawnCopy(late), backdated); err != nil {
			t.Fatal(err)
		}
		if err := putAs(t, layout.DeletionKey("201", id), requestFor(id), backdated); err != nil {
			t.Fatal(err)
		}
		deletionRefused(t, id, versionsOf(t, "201", id))
		if row := sessionsOf(t)[id]; !row.Tampered || row.Withdrawn {
			t.Fatalf("sessions: %+v", row)
		}
	})

	t.Run("ChosenVersion", func(t *testing.T) {
		// MinIO writes a PutObject's ?versionId= as given, over an existing
		// version too (even under governance retention): the device policy
		// denies naming a version.
		for _, vid := range []string{"11111111-2222-3333-4444-555555555555", "null"} {
			err := putAs(t, shown.Prefix+manifest.FileName, []byte("{}"), minio.AdvancedPutOptions{SourceVersionID: vid})
			if admin.ErrorCode(err) != "AccessDenied" {
				t.Fatalf("put with versionId %s: %v, want AccessDenied", vid, err)
			}
		}
	})

	// Last: it cuts the device off.
	t.Run("Revocation", func(t *testing.T) {
		probe := layout.ProbeKey("201", "revocation")
		if err := put(t, dev, probe, []byte("x")); err != nil {
			t.Fatalf("before revoke: %v", err)
		}
		r := runT(t, f.env, "", "revoke", "201")
		if r.code != 0 || !strings.Contains(r.stdout, creds.AccessKey) {
			t.Fatalf("revoke: %+v", r)
		}
		// MinIO answers a disabled account with InvalidAccessKeyId ("Your
		// account is disabled"); with its policy detached as well, either
		// refusal is the server's, never a network error.
		refused := func(err error) bool {
			c := admin.ErrorCode(err)
			return c == "AccessDenied" || c == "InvalidAccessKeyId"
		}
		if err := put(t, dev, probe, []byte("x")); !refused(err) {
			t.Fatalf("revoked credentials: %v, want AccessDenied or InvalidAccessKeyId", err)
		}
		if a := lastAudit(t); a.Action != "revoke" || a.Room != "201" || !strings.Contains(a.Detail, creds.AccessKey) {
			t.Fatalf("revoke audit: %+v", a)
		}
		// Re-provisioning makes new keys; provisioning again rotates them.
		next := filepath.Join(t.TempDir(), "dev-201-2.toml")
		if r := runT(t, f.env, "", "provision", "201", "--apply", "--credentials-out", next); r.code != 0 {
			t.Fatal(r.stderr)
		}
		c2, _ := upload.LoadCredentials(next)
		dev2 := f.srv.ClientFor(t, c2.AccessKey, c2.SecretKey)
		if err := put(t, dev2, probe, []byte("x")); err != nil {
			t.Fatalf("new keys: %v", err)
		}
		third := filepath.Join(t.TempDir(), "dev-201-3.toml")
		r = runT(t, f.env, "", "provision", "201", "--apply", "--credentials-out", third)
		if r.code != 0 || !strings.Contains(r.stderr, "rotated") || !strings.Contains(r.stderr, c2.AccessKey) {
			t.Fatalf("rotation: %+v", r)
		}
		if err := put(t, dev2, probe, []byte("x")); !refused(err) {
			t.Fatalf("rotated-out credentials: %v, want a refusal", err)
		}
		c3, _ := upload.LoadCredentials(third)
		if err := put(t, f.srv.ClientFor(t, c3.AccessKey, c3.SecretKey), probe, []byte("x")); err != nil {
			t.Fatalf("rotated-in keys: %v", err)
		}
		if a := lastAudit(t); a.Action != "rotate" || !strings.Contains(a.Detail, c2.AccessKey) {
			t.Fatalf("rotate audit: %+v", a)
		}
	})
}
