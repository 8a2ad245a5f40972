package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"roomkiosk/internal/room"
	"roomkiosk/internal/testenv"
	"roomkiosk/recorder/manifest"
	"roomkiosk/sync/admin"
	"roomkiosk/sync/archive"
	"roomkiosk/sync/archive/archivetest"
	"roomkiosk/sync/layout"
	"roomkiosk/sync/upload"
)

// lifecycleFleet is a fleet with one provisioned room (201, class
// supervision = 30d), the device's own client, and helpers to make
// sessions as that device uploads them.
type lifecycleFleet struct {
	*fleet
	dev *minio.Client
}

const testPolicyTOML = `default = "clinical"
[classes]
supervision = "30d"
clinical = "7y"
[rooms]
"201" = "supervision"
`

func newLifecycleFleet(t *testing.T) *lifecycleFleet {
	f := newFleet(t)
	if r := runT(t, f.env, "", "bucket", "init", "--retention-days", "1"); r.code != 0 {
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
	pol := filepath.Join(t.TempDir(), "retention.toml")
	if err := os.WriteFile(pol, []byte(testPolicyTOML), 0o600); err != nil {
		t.Fatal(err)
	}
	if r := runT(t, f.env, "", "retention", "set", pol); r.code != 0 {
		t.Fatalf("retention set: %+v", r)
	}
	// The device's client as the kiosk's store makes it (checksummed puts).
	dev, err := minio.New(f.srv.Host, &minio.Options{Creds: credentials.NewStaticV4(creds.AccessKey, creds.SecretKey, ""),
		Region: "us-east-1", TrailingHeaders: true})
	if err != nil {
		t.Fatal(err)
	}
	return &lifecycleFleet{fleet: f, dev: dev}
}

// session uploads, with the device's credentials, a recorded session
// (segments, manifest) and its summary carrying deviceClass.
func (f *lifecycleFleet) session(t *testing.T, started time.Time, seed uint64, deviceClass string) *archivetest.Session {
	t.Helper()
	s := archivetest.Build(t, archivetest.Spec{Room: "201", Started: started, Seed: seed,
		Segments: []archivetest.SegSpec{{Frames: 16000}, {Frames: 8000}}}, f.id.Recipient())
	s.Manifest.RetentionClass = deviceClass
	// Put as the kiosk's store puts: with the SHA-256 the server checks
	// (and a certificate records).
	put := func(key string, b []byte) {
		sum := sha256.Sum256(b)
		if _, err := f.dev.PutObject(f.ctx, "clinic", key, bytes.NewReader(b), int64(len(b)), minio.PutObjectOptions{DisableMultipart: true,
			DisableContentSha256: true, UserMetadata: map[string]string{"x-amz-checksum-sha256": base64.StdEncoding.EncodeToString(sum[:])}}); err != nil {
			t.Fatalf("device put %s: %v", key, err)
		}
	}
	for _, seg := range s.Manifest.Segments {
		put(s.Prefix+seg.Name, s.Files[seg.Name])
	}
	mb, err := s.Manifest.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	put(s.Prefix+manifest.FileName, mb)
	sum := layout.SummaryRecord{Version: layout.SummaryVersion, RoomID: "201", RetentionClass: deviceClass,
		Summary: room.Summary{ID: s.Manifest.SessionID, Started: started, Ended: started.Add(time.Minute), Participants: 2, WantRecording: true, Recorded: true}}
	b, _ := json.Marshal(sum)
	if _, err := f.dev.PutObject(f.ctx, "clinic", s.Prefix+layout.SummaryFile, bytes.NewReader(b), int64(len(b)), minio.PutObjectOptions{SendContentMd5: true}); err != nil {
		t.Fatal(err)
	}
	return s
}

// versions lists every version under prefix, markers included.
func (f *lifecycleFleet) versions(t *testing.T, prefix string) []minio.ObjectInfo {
	t.Helper()
	var out []minio.ObjectInfo
	for o := range f.cl.ListObjects(f.ctx, "clinic", minio.ListObjectsOptions{Prefix: prefix, Recursive: true, WithVersions: true}) {
		if o.Err != nil {
			t.Fatal(o.Err)
		}
		out = append(out, o)
	}
	return out
}

// timePasses stands for the day of the bucket's default retention going
// by: the root user (who may bypass governance) moves every version's
// retain-until under prefix to a moment from now, then waits for it.
func (f *lifecycleFleet) timePasses(t *testing.T, prefixes ...string) {
	t.Helper()
	var last time.Time
	mode := minio.Governance
	for _, p := range prefixes {
		for _, v := range f.versions(t, p) {
			if v.IsDeleteMarker {
				continue
			}
			// A second from each call (a loaded machine takes its time
			// over many versions): the server refuses a past date.
			until := time.Now().Add(time.Second).UTC()
			last = until
			if err := f.cl.PutObjectRetention(f.ctx, "clinic", v.Key, minio.PutObjectRetentionOptions{GovernanceBypass: true, Mode: &mode, RetainUntilDate: &until, VersionID: v.VersionID}); err != nil {
				t.Fatalf("shorten retention of %s: %v", v.Key, err)
			}
		}
	}
	time.Sleep(time.Until(last) + 200*time.Millisecond)
}

func (f *lifecycleFleet) rows(t *testing.T) map[string]archive.Session {
	t.Helper()
	return sessionRows(t, f.env)
}

// sessionRows runs `roomctl sessions --json` with args and maps its rows by
// session id.
func sessionRows(t *testing.T, env map[string]string, args ...string) map[string]archive.Session {
	t.Helper()
	r := runT(t, env, "", append([]string{"sessions", "--json"}, args...)...)
	if r.code != 0 {
		t.Fatalf("sessions: %+v", r)
	}
	var rows []archive.Session
	if err := json.Unmarshal([]byte(r.stdout), &rows); err != nil {
		t.Fatal(err)
	}
	m := map[string]archive.Session{}
	for _, row := range rows {
		m[row.Session] = row
	}
	return m
}

// certified checks a disposed session: no version left on the server,
// exactly one certificate (one version of its key) listing every version
// the session had, no intent left.
func (f *lifecycleFleet) certified(t *testing.T, s *archivetest.Session, had []minio.ObjectInfo) *layout.Certificate {
	t.Helper()
	id := s.Manifest.SessionID
	if left := f.versions(t, s.Prefix); len(left) != 0 {
		t.Fatalf("%s: %d version(s) left after disposal: %v", id, len(left), left[0].Key)
	}
	certKey := layout.CertificateKey("201", id)
	if cv := f.versions(t, certKey); len(cv) != 1 {
		t.Fatalf("%s: %d certificate versions, want exactly 1", id, len(cv))
	}
	if iv := f.versions(t, layout.DisposalKey("201", id)); len(iv) > 0 && !iv[0].IsDeleteMarker {
		t.Fatalf("%s: the disposal intent is still current", id)
	}
	ar := &archive.Archive{Client: f.cl, Bucket: "clinic"}
	c, err := ar.Certificate(f.ctx, "201", id)
	if err != nil {
		t.Fatal(err)
	}
	if len(had) > 0 && len(c.Objects) != len(had) {
		t.Fatalf("%s: certificate lists %d versions, the session had %d", id, len(c.Objects), len(had))
	}
	listed := map[string]layout.CertifiedObject{}
	for _, o := range c.Objects {
		listed[o.Key+"?"+o.VersionID] = o
	}
	for _, v := range had {
		o, ok := listed[v.Key+"?"+v.VersionID]
		if !ok || o.Size != v.Size || o.ETag == "" {
			t.Fatalf("%s: certificate entry for %s: %+v (had size %d)", id, v.Key, o, v.Size)
		}
	}
	// Each segment's hash is the one the server checked at upload: the
	// SHA-256 of the ciphertext the kiosk sealed.
	for name, b := range s.Files {
		sum := sha256.Sum256(b)
		found := false
		for _, o := range c.Objects {
			if strings.HasSuffix(o.Key, "/"+name) && o.SHA256 == base64.StdEncoding.EncodeToString(sum[:]) {
				found = true
			}
		}
		if !found {
			t.Fatalf("%s: no certificate entry for %s with its SHA-256", id, name)
		}
	}
	if c.RoomID != "201" || c.SessionID != id || c.DisposedAt.IsZero() || c.Who == "" {
		t.Fatalf("certificate: %+v", c)
	}
	return c
}

// TestLifecycle is retention, legal hold and certified disposal against a
// real MinIO, with the real device policy: what roomctl refuses, the
// server refuses too.
func TestLifecycle(t *testing.T) {
	f := newLifecycleFleet(t)
	old := time.Date(2025, 1, 10, 9, 0, 0, 0, time.UTC)
	held := f.session(t, old, 1, "")
	expired := f.session(t, old.Add(time.Hour), 2, "supervision")
	kept := f.session(t, old.Add(2*time.Hour), 3, "clinical") // the device lengthens: 7 years
	short := f.session(t, old.Add(3*time.Hour), 4, "one-day") // not in the policy: the room's class
	recent := f.session(t, time.Now().UTC().Add(-time.Minute).Truncate(time.Second), 5, "")
	erase := f.session(t, time.Now().UTC().Add(-2*time.Minute).Truncate(time.Second), 6, "")
	id := func(s *archivetest.Session) string { return s.Manifest.SessionID }

	t.Run("Classes", func(t *testing.T) {
		rows := f.rows(t)
		for _, tc := range []struct {
			s     *archivetest.Session
			class string
			until time.Time
		}{
			{held, "supervision", old.AddDate(0, 0, 30)},
			{kept, "clinical", old.Add(2*time.Hour).AddDate(7, 0, 0)},
			{short, "supervision", old.Add(3*time.Hour).AddDate(0, 0, 30)},
		} {
			r := rows[id(tc.s)]
			if r.Class != tc.class || !r.RetainUntil.Equal(tc.until) {
				t.Errorf("%s: class %q until %v, want %s until %v", id(tc.s), r.Class, r.RetainUntil, tc.class, tc.until)
			}
		}
		if n := rows[id(short)].RetentionNote; !strings.Contains(n, "not in the policy") {
			t.Errorf("device class unknown: note %q", n)
		}
		// A class may grow, never shrink.
		pol := filepath.Join(t.TempDir(), "shorter.toml")
		os.WriteFile(pol, []byte(strings.Replace(testPolicyTOML, `"30d"`, `"10d"`, 1)), 0o600)
		if r := runT(t, f.env, "", "retention", "set", pol); r.code != exitFailure || !strings.Contains(r.stderr, "supervision (30d -> 10d)") {
			t.Fatalf("shortening a class: %+v", r)
		}
	})

	t.Run("DeviceCannotShortenOrDelete", func(t *testing.T) {
		v := f.versions(t, recent.Prefix)[0]
		if err := f.dev.RemoveObject(f.ctx, "clinic", v.Key, minio.RemoveObjectOptions{VersionID: v.VersionID}); admin.ErrorCode(err) != "AccessDenied" {
			t.Fatalf("device removed a version: %v", err)
		}
		mode := minio.Governance
		soon := time.Now().Add(time.Minute).UTC()
		if err := f.dev.PutObjectRetention(f.ctx, "clinic", v.Key, minio.PutObjectRetentionOptions{GovernanceBypass: true, Mode: &mode, RetainUntilDate: &soon, VersionID: v.VersionID}); admin.ErrorCode(err) != "AccessDenied" {
			t.Fatalf("device set a retention: %v", err)
		}
		// Nor can a new object carry its own short retention.
		b := []byte("x")
		_, err := f.dev.PutObject(f.ctx, "clinic", layout.RoomPrefix("201")+"probe/short", bytes.NewReader(b), 1,
			minio.PutObjectOptions{Mode: minio.Governance, RetainUntilDate: soon, SendContentMd5: true})
		if admin.ErrorCode(err) != "AccessDenied" {
			t.Fatalf("device put an object with its own retention: %v", err)
		}
		off := minio.LegalHoldDisabled
		if err := f.dev.PutObjectLegalHold(f.ctx, "clinic", v.Key, minio.PutObjectLegalHoldOptions{VersionID: v.VersionID, Status: &off}); admin.ErrorCode(err) != "AccessDenied" {
			t.Fatalf("device changed a legal hold: %v", err)
		}
	})

	t.Run("HostileDeviceCannotPlant", func(t *testing.T) {
		cert, _ := json.Marshal(layout.Certificate{Version: 1, SessionID: id(recent), RoomID: "201", Reason: "retention-ended", DisposedAt: time.Now()})
		for _, key := range []string{
			layout.CertificateKey("201", id(recent)), layout.DisposalKey("201", id(recent)), layout.HoldKey("201", id(recent)),
			layout.ErasureKey("201", id(recent)), layout.ExtensionKey("201", id(recent)), layout.RetentionPolicyKey,
		} {
			_, err := f.dev.PutObject(f.ctx, "clinic", key, bytes.NewReader(cert), int64(len(cert)), minio.PutObjectOptions{SendContentMd5: true})
			if admin.ErrorCode(err) != "AccessDenied" {
				t.Errorf("device put %s: %v", key, err)
			}
		}
		if r := f.rows(t)[id(recent)]; r.State == archive.StateDisposed || r.Held {
			t.Fatalf("after the attempts: %+v", r)
		}
	})

	t.Run("RetentionApply", func(t *testing.T) {
		if r := runT(t, f.env, "", "retention", "apply"); r.code != 0 {
			t.Fatalf("%+v", r)
		}
		want := time.Now().Add(29 * 24 * time.Hour)
		for _, v := range f.versions(t, recent.Prefix) {
			_, until, err := f.cl.GetObjectRetention(f.ctx, "clinic", v.Key, v.VersionID)
			if err != nil || until == nil || until.Before(want) {
				t.Fatalf("%s retained until %v (%v), want the class's 30 days", v.Key, until, err)
			}
		}
		ext := time.Now().AddDate(1, 0, 0).Format("2006-01-02")
		if r := runT(t, f.env, "", "retention", "extend", id(recent), "--until", ext, "--reason", "supervision-cycle"); r.code != 0 {
			t.Fatalf("extend: %+v", r)
		}
		if r := f.rows(t)[id(recent)]; r.RetainUntil.Format("2006-01-02") != time.Now().AddDate(1, 0, 1).Format("2006-01-02") {
			t.Fatalf("extended until %v", r.RetainUntil)
		}
		if r := runT(t, f.env, "", "retention", "extend", id(recent), "--until", time.Now().Format("2006-01-02"), "--reason", "x"); r.code != exitFailure || !strings.Contains(r.stderr, "can only be extended") {
			t.Fatalf("shortening by extend: %+v", r)
		}
	})

	t.Run("Hold", func(t *testing.T) {
		r := runT(t, f.env, "", "hold", "set", id(held), "--reason", "subpoena")
		if r.code != 0 || !strings.Contains(r.stdout, "is held (subpoena)") {
			t.Fatalf("hold set: %+v", r)
		}
		vs := f.versions(t, held.Prefix)
		for _, v := range vs {
			st, err := f.cl.GetObjectLegalHold(f.ctx, "clinic", v.Key, minio.GetObjectLegalHoldOptions{VersionID: v.VersionID})
			if err != nil || st == nil || *st != minio.LegalHoldEnabled {
				t.Fatalf("%s: legal hold %v %v", v.Key, st, err)
			}
		}
		if row := f.rows(t)[id(held)]; !row.Held || row.HoldReason != "subpoena" {
			t.Fatalf("sessions: %+v", row)
		}
		if r := runT(t, f.env, "", "sessions"); !strings.Contains(r.stdout, "HELD (subpoena)") {
			t.Fatalf("sessions table: %s", r.stdout)
		}
		if r := runT(t, f.env, "", "status"); !strings.Contains(r.stdout, "LEGAL HOLDS") || !strings.Contains(r.stdout, "1 HELD") {
			t.Fatalf("status table: %s", r.stdout)
		}
		recs, _ := admin.ReadAudit(f.ctx, f.cl, "clinic")
		if last := recs[len(recs)-1]; last.Action != "hold-set" || last.Session != id(held) || len(last.Objects) != len(vs)+1 {
			t.Fatalf("audit: %+v", last)
		}
		if r := runT(t, f.env, "", "hold", "set", id(held), "--reason", "Jane Doe"); r.code != exitFailure || !strings.Contains(r.stderr, "never a name") {
			t.Fatalf("free-text reason: %+v", r)
		}
	})

	t.Run("ServerRefusesUnexpired", func(t *testing.T) {
		// The class of `expired` ended in 2025, but the server still
		// retains what was uploaded today (the bucket's default day):
		// roomctl refuses, and so does the server.
		r := runT(t, f.env, "", "dispose", "--session", id(expired))
		if r.code != exitFailure || !strings.Contains(r.stderr, "retention has not ended on the server") {
			t.Fatalf("dispose before the server's retention ended: %+v", r)
		}
		r = runT(t, f.env, "", "dispose", "--session", id(recent))
		if r.code != exitFailure || !strings.Contains(r.stderr, "retention has not ended: class supervision keeps it until") {
			t.Fatalf("dispose of a session in its class: %+v", r)
		}
		for _, s := range []*archivetest.Session{expired, recent} {
			v := f.versions(t, s.Prefix)[0]
			err := f.cl.RemoveObject(f.ctx, "clinic", v.Key, minio.RemoveObjectOptions{VersionID: v.VersionID})
			if err == nil {
				t.Fatalf("the server let the admin remove a retained version of %s", id(s))
			}
		}
		if n := len(f.versions(t, expired.Prefix)); n != 4 {
			t.Fatalf("expired: %d versions left, want all 4", n)
		}
	})

	f.timePasses(t, held.Prefix, expired.Prefix, short.Prefix, kept.Prefix)

	t.Run("ServerRefusesHeld", func(t *testing.T) {
		r := runT(t, f.env, "", "dispose", "--session", id(held))
		if r.code != exitFailure || !strings.Contains(r.stderr, "under legal hold") {
			t.Fatalf("dispose of a held session: %+v", r)
		}
		// Not even governance bypass passes a legal hold.
		v := f.versions(t, held.Prefix)[0]
		if err := f.cl.RemoveObject(f.ctx, "clinic", v.Key, minio.RemoveObjectOptions{VersionID: v.VersionID, GovernanceBypass: true}); err == nil {
			t.Fatal("the server let the admin remove a held version")
		}
	})

	t.Run("Erasure", func(t *testing.T) {
		r := runT(t, f.env, "", "deletions", "request", id(erase), "--reason", "client-request")
		if r.code != 0 || !strings.Contains(r.stdout, "erasure of session") {
			t.Fatalf("request: %+v", r)
		}
		if r := runT(t, f.env, "", "deletions", "request", id(held), "--reason", "client-request"); r.code != 0 || !strings.Contains(r.stdout, "HELD") {
			t.Fatalf("request on a held session: %+v", r)
		}
	})

	var had = map[string][]minio.ObjectInfo{}
	for _, s := range []*archivetest.Session{held, expired, short, erase} {
		had[id(s)] = f.versions(t, s.Prefix)
	}

	t.Run("DryRun", func(t *testing.T) {
		r := runT(t, f.env, "", "dispose", "--dry-run", "--json")
		if r.code != 0 {
			t.Fatalf("%+v", r)
		}
		var outs []archive.DisposalOutcome
		json.Unmarshal([]byte(r.stdout), &outs)
		got := map[string]string{}
		for _, o := range outs {
			got[o.Session] = o.Result
		}
		want := map[string]string{id(expired): "would dispose", id(short): "would dispose", id(erase): "would dispose", id(held): "held (subpoena): not disposed of"}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("dry run: %v, want %v", got, want)
		}
		if n := len(f.versions(t, expired.Prefix)); n != 4 {
			t.Fatalf("dry run removed something: %d left", n)
		}
	})

	t.Run("Dispose", func(t *testing.T) {
		r := runT(t, f.env, "", "dispose")
		if r.code != 0 || !strings.Contains(r.stderr, "disposed of 3 session(s)") {
			t.Fatalf("dispose: %+v", r)
		}
		for _, s := range []*archivetest.Session{expired, short} {
			if c := f.certified(t, s, had[id(s)]); c.Reason != layout.DisposalRetentionEnded || c.Class != "supervision" {
				t.Fatalf("certificate: %+v", c)
			}
		}
		if c := f.certified(t, erase, had[id(erase)]); c.Reason != "erasure:client-request" {
			t.Fatalf("erasure certificate: %+v", c)
		}
		for _, s := range []*archivetest.Session{held, kept, recent} {
			if len(f.versions(t, s.Prefix)) < 4 {
				t.Fatalf("%s lost versions", id(s))
			}
		}
		// The disposed records leave the admins' listing index with the
		// disposal, its replaced versions included: a cache must not
		// outlive the certificate.
		ixKey := layout.IndexKey("201", old)
		n := 0
		for obj := range f.cl.ListObjects(f.ctx, "clinic", minio.ListObjectsOptions{Prefix: ixKey, WithVersions: true}) {
			o, err := f.cl.GetObject(f.ctx, "clinic", ixKey, minio.GetObjectOptions{VersionID: obj.VersionID})
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(o)
			o.Close()
			ix, err := layout.ParseIndex(b, "201", old)
			if err != nil {
				t.Fatalf("index version %s: %v", obj.VersionID, err)
			}
			keeps := false
			for _, e := range ix.Entries {
				if strings.Contains(e.Key, id(expired)) || strings.Contains(e.Key, id(short)) {
					t.Fatalf("index version %s still holds %s after its disposal", obj.VersionID, e.Key)
				}
				keeps = keeps || strings.Contains(e.Key, id(held))
			}
			if !keeps {
				t.Fatalf("index version %s lost the held session's records", obj.VersionID)
			}
			n++
		}
		if n != 1 {
			t.Fatalf("%d versions of the index %s, want 1", n, ixKey)
		}
		rows := f.rows(t)
		if r := rows[id(expired)]; r.State != archive.StateDisposed || r.DisposedAt.IsZero() || time.Since(r.DisposedAt) > time.Hour {
			t.Fatalf("disposed row: %+v", r)
		}
		if r := runT(t, f.env, "", "sessions"); !strings.Contains(r.stdout, "disposed on "+time.Now().UTC().Format("2006-01-02")) {
			t.Fatalf("sessions table: %s", r.stdout)
		}
		out := filepath.Join(t.TempDir(), "x.wav")
		if r := runT(t, f.env, "", "pull", id(expired), "-i", f.key, "-o", out); r.code != exitFailure || !strings.Contains(r.stderr, "disposed") {
			t.Fatalf("pull of a disposed session: %+v", r)
		}
		// Retention apply passes over disposed sessions.
		if r := runT(t, f.env, "", "retention", "apply"); r.code != 0 {
			t.Fatalf("retention apply after disposals: %+v", r)
		}
		// Run again: nothing to do, still one certificate each.
		if r := runT(t, f.env, "", "dispose"); r.code != 0 || strings.Contains(r.stdout, "disposed\n") {
			t.Fatalf("second run: %+v", r)
		}
		f.certified(t, expired, had[id(expired)])
	})

	t.Run("ClearHold", func(t *testing.T) {
		if r := runT(t, f.env, "", "hold", "clear", id(held), "--reason", "case-closed"); r.code != 0 {
			t.Fatalf("clear: %+v", r)
		}
		if row := f.rows(t)[id(held)]; row.Held {
			t.Fatalf("still held: %+v", row)
		}
		// The erasure request waited for the hold: now it goes.
		if r := runT(t, f.env, "", "dispose"); r.code != 0 {
			t.Fatalf("dispose: %+v", r)
		}
		if c := f.certified(t, held, had[id(held)]); c.Reason != "erasure:client-request" {
			t.Fatalf("certificate: %+v", c)
		}
		recs, _ := admin.ReadAudit(f.ctx, f.cl, "clinic")
		n := 0
		for _, rec := range recs {
			if rec.Action == "dispose" && rec.Result == "ok" {
				n += len(rec.Objects)
			}
		}
		if n != 4 {
			t.Fatalf("the dispose audit records name %d certificates, want 4", n)
		}
	})
}

// TestDisposeKilled stops a disposal after each of its steps (as a kill
// would: nothing after the step runs) and runs roomctl dispose again: every
// version is gone and there is exactly one certificate, whatever the step.
func TestDisposeKilled(t *testing.T) {
	f := newLifecycleFleet(t)
	ar := &archive.Archive{Client: f.cl, Bucket: "clinic"}
	killed := errors.New("killed")
	old := time.Date(2025, 2, 1, 9, 0, 0, 0, time.UTC)
	for i, step := range []archive.DisposalStep{archive.StepIntent, archive.StepRemovedOne, archive.StepRemoved, archive.StepCertificate, archive.StepRetired} {
		t.Run(string(step), func(t *testing.T) {
			s := f.session(t, old.Add(time.Duration(i)*time.Hour), uint64(10+i), "")
			had := f.versions(t, s.Prefix)
			f.timePasses(t, s.Prefix)
			_, err := ar.Dispose(f.ctx, archive.DisposeOptions{Who: "test", Session: s.Manifest.SessionID,
				Audit: func(layout.AuditRecord) error { return nil },
				Step: func(st archive.DisposalStep, _, _ string) error {
					if st == step {
						return killed
					}
					return nil
				}})
			if !errors.Is(err, killed) {
				t.Fatalf("the run was not stopped at %s: %v", step, err)
			}
			if step != archive.StepRetired {
				if row := f.rows(t)[s.Manifest.SessionID]; row.State != archive.StateDisposing && row.State != archive.StateDisposed {
					t.Fatalf("after a kill at %s: state %q", step, row.State)
				}
			}
			if r := runT(t, f.env, "", "dispose"); r.code != 0 {
				t.Fatalf("re-run after a kill at %s: %+v", step, r)
			}
			f.certified(t, s, had)
		})
	}
}

// TestDisposeProcessKilled runs roomctl as a program over many sessions,
// SIGKILLs it once the first disposal intent is on the server, and runs it
// again: every session ends with no version and one certificate.
func TestDisposeProcessKilled(t *testing.T) {
	f := newLifecycleFleet(t)
	bin := buildRoomctl(t)
	old := time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)
	var ss []*archivetest.Session
	var prefixes []string
	for i := range 24 {
		s := f.session(t, old.Add(time.Duration(i)*time.Minute), uint64(100+i), "")
		ss = append(ss, s)
		prefixes = append(prefixes, s.Prefix)
	}
	had := map[string][]minio.ObjectInfo{}
	for _, s := range ss {
		had[s.Manifest.SessionID] = f.versions(t, s.Prefix)
	}
	f.timePasses(t, prefixes...)
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}
	for k, v := range f.env {
		env = append(env, k+"="+v)
	}
	cmd := exec.Command(bin, "dispose")
	cmd.Env = env
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(2 * time.Minute)
	// Killed once the first certificate is written: the other workers'
	// sessions are then between their intent and their certificate.
	for len(f.versions(t, layout.CertificatesPrefix)) == 0 && time.Now().Before(deadline) {
		time.Sleep(2 * time.Millisecond)
	}
	cmd.Process.Kill()
	cmd.Wait()
	left, certs, intents := 0, len(f.versions(t, layout.CertificatesPrefix)), 0
	for _, v := range f.versions(t, layout.DisposalsPrefix) {
		if v.IsLatest && !v.IsDeleteMarker {
			intents++
		}
	}
	for _, p := range prefixes {
		if len(f.versions(t, p)) > 0 {
			left++
		}
	}
	t.Logf("killed with %d of %d sessions certified, %d with versions left, %d intents open", certs, len(ss), left, intents)
	ctx, cancel := context.WithTimeout(f.ctx, 3*time.Minute)
	defer cancel()
	rerun := exec.CommandContext(ctx, bin, "dispose")
	rerun.Env = env
	if out, err := rerun.CombinedOutput(); err != nil {
		t.Fatalf("re-run: %v\n%s", err, out)
	}
	for _, s := range ss {
		f.certified(t, s, had[s.Manifest.SessionID])
	}
}

// buildRoomctl builds the roomctl program as admins do (no cgo).
func buildRoomctl(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "roomctl")
	if err := testenv.GoBuild(testenv.ModuleRoot(t), bin, []string{"CGO_ENABLED=0"}, "./cmd/roomctl"); err != nil {
		t.Fatal(err)
	}
	return bin
}

// TestDisposeTampered: a session a device wrote over is evidence; a
// disposal run lists it and leaves it, and an admin who has looked disposes
// of it by name, every version (the thief's too) in its certificate.
func TestDisposeTampered(t *testing.T) {
	f := newLifecycleFleet(t)
	s := f.session(t, time.Date(2025, 4, 1, 9, 0, 0, 0, time.UTC), 7, "")
	other := []byte(`{"version":1}`)
	if _, err := f.dev.PutObject(f.ctx, "clinic", s.Prefix+layout.SummaryFile, bytes.NewReader(other), int64(len(other)), minio.PutObjectOptions{SendContentMd5: true}); err != nil {
		t.Fatal(err)
	}
	had := f.versions(t, s.Prefix)
	f.timePasses(t, s.Prefix)
	r := runT(t, f.env, "", "dispose")
	if r.code != 0 || !strings.Contains(r.stdout, "TAMPERED: not disposed of") {
		t.Fatalf("bulk run: %+v", r)
	}
	if n := len(f.versions(t, s.Prefix)); n != len(had) {
		t.Fatalf("bulk run removed versions of a tampered session: %d of %d left", n, len(had))
	}
	if r := runT(t, f.env, "", "dispose", "--session", s.Manifest.SessionID); r.code != 0 {
		t.Fatalf("dispose by name: %+v", r)
	}
	f.certified(t, s, had)
}
