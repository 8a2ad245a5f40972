package main

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"filippo.io/age"
	"github.com/minio/minio-go/v7"
	"github.com/rs/zerolog"

	"roomkiosk/internal/room"
	"roomkiosk/recorder"
	"roomkiosk/recorder/recordertest"
	"roomkiosk/sync/admin"
	"roomkiosk/sync/archive"
	"roomkiosk/sync/archive/archivetest"
	"roomkiosk/sync/console"
	"roomkiosk/sync/layout"
)

// person is someone with their own age identity (roomctl keygen).
type person struct {
	key string
	id  *age.X25519Identity
}

func keygen(t *testing.T, name string) person {
	t.Helper()
	key := filepath.Join(t.TempDir(), name+".key")
	if r := runT(t, nil, "", "keygen", "-o", key); r.code != 0 {
		t.Fatal(r.stderr)
	}
	ids, _ := readIdentities(key)
	return person{key, ids[0].(*age.X25519Identity)}
}

// recordAndUpload records pcm as a session of counselor with the real
// recorder and keyring, and uploads it with the device's uploader.
func recordAndUpload(t *testing.T, f *fleet, kr *recorder.Keyring, creds, counselor, id string, pcm []byte) {
	t.Helper()
	src := &recordertest.Source{PCM: pcm, Chunk: 3200}
	cfg := recorder.Default()
	cfg.SpoolDir = t.TempDir()
	cfg.SegmentLength.Duration = time.Second
	cfg.FreeMarginMB = 0
	rec, err := recorder.New(recorder.Options{Config: cfg, Keyring: kr, RoomID: "101", DeviceID: "101", Source: src, Log: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Close()
	now := time.Now().UTC()
	info := room.SessionInfo{ID: id, CounselorID: counselor, Started: now, MaxLength: time.Hour,
		Consent: room.ConsentRecord{AgreementID: "rec-2026-01", TextSHA256: strings.Repeat("a", 64), Language: "en",
			Decisions: []room.Decision{{Participant: 1, Consented: true, Language: "en", At: now}}}}
	if err := rec.Start(info); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(time.Minute)
	for src.Offset() < len(pcm) {
		if time.Now().After(deadline) {
			t.Fatal("recorder stalled")
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond)
	if err := rec.Stop(id, false); err != nil {
		t.Fatal(err)
	}
	rec.Wait()
	uploadSpool(t, f, cfg.SpoolDir, "101", creds, id)
}

// TestReadersAndGrants: with real MinIO, mc, recorder and uploader. The
// device config's roles reach the archive: a counselor's reader credentials
// and identity list and pull exactly their sessions, their supervisor's
// too, nobody else's (told plainly); every pull is audited under the
// reader's pseudonym; a reader can neither delete nor write outside its
// audit prefix, nor read admin records; a grant made with the escrow
// identity lets a new recipient pull a session byte for byte as escrow
// does, and revoking it stops the next pull.
func TestReadersAndGrants(t *testing.T) {
	f := newFleet(t)
	if r := runT(t, f.env, "", "bucket", "init"); r.code != 0 {
		t.Fatal(r.stderr)
	}
	creds := filepath.Join(t.TempDir(), "dev.toml")
	if r := runT(t, f.env, "", "provision", "101", "--apply", "--credentials-out", creds); r.code != 0 {
		t.Fatal(r.stderr)
	}
	alice, sup, bob, carol := keygen(t, "alice"), keygen(t, "sup"), keygen(t, "bob"), keygen(t, "carol")
	kr, err := recorder.NewKeyring([]string{f.id.Recipient().String()}, []recorder.CounselorKeys{
		{ID: "c-alice", Recipient: alice.id.Recipient().String(), Supervisors: []string{sup.id.Recipient().String()}},
		{ID: "c-bob", Recipient: bob.id.Recipient().String()},
	})
	if err != nil {
		t.Fatal(err)
	}
	day := time.Now().UTC().Format("20060102T150405Z")
	aliceID, bobID := day+"-a11ce0", day+"-b0b000"
	pcm := archivetest.Speechlike(40000, 1, 3)
	recordAndUpload(t, f, kr, creds, "c-alice", aliceID, pcm)
	recordAndUpload(t, f, kr, creds, "c-bob", bobID, pcm[:32000*2])

	// Readers: one per person, each with their own credentials.
	readerEnv := map[string]map[string]string{}
	for _, name := range []string{"alice", "sup", "bob", "carol"} {
		secret := filepath.Join(t.TempDir(), name+".secret")
		r := runT(t, f.env, "", "provision-reader", name, "--apply", "--secret-out", secret)
		if r.code != 0 {
			t.Fatalf("provision-reader %s: %s", name, r.stderr)
		}
		env := map[string]string{"ROOMCTL_CACHE_DIR": t.TempDir()}
		for _, line := range strings.Split(r.stdout, "\n") {
			if k, v, ok := strings.Cut(strings.TrimPrefix(line, "export "), "="); ok && strings.HasPrefix(line, "export ") {
				env[k] = strings.Trim(v, "'")
			}
		}
		if env["ROOMCTL_READER"] != name || env["ROOMCTL_SECRET_KEY_FILE"] != secret || env["ROOMCTL_ACCESS_KEY"] == "" {
			t.Fatalf("provision-reader printed %q", r.stdout)
		}
		readerEnv[name] = env
	}
	keys := map[string]string{"alice": alice.key, "sup": sup.key, "bob": bob.key, "carol": carol.key}

	t.Run("each lists exactly their sessions", func(t *testing.T) {
		for _, tt := range []struct {
			reader string
			want   map[string]string // session -> access
		}{
			{"alice", map[string]string{aliceID: "counselor"}},
			{"sup", map[string]string{aliceID: "supervisor"}},
			{"bob", map[string]string{bobID: "counselor"}},
			{"carol", map[string]string{}},
		} {
			r := runT(t, readerEnv[tt.reader], "", "sessions", "-i", keys[tt.reader])
			if r.code != 0 {
				t.Fatalf("%s: sessions: %s", tt.reader, r.stderr)
			}
			for _, id := range []string{aliceID, bobID} {
				access, mine := tt.want[id]
				line := ""
				for _, l := range strings.Split(r.stdout, "\n") {
					if strings.Contains(l, id) {
						line = l
					}
				}
				if mine != (line != "") || (mine && !strings.HasSuffix(strings.TrimSpace(line), access)) {
					t.Errorf("%s lists %s: %q (want listed %v as %s)", tt.reader, id, line, mine, access)
				}
			}
		}
		if r := runT(t, readerEnv["alice"], "", "sessions"); r.code != exitUsage || !strings.Contains(r.stderr, "give -i IDENTITY") {
			t.Errorf("a reader's sessions without -i: %+v", r)
		}
	})

	out := t.TempDir()
	escrowWAV := filepath.Join(out, "escrow.wav")
	if r := runT(t, f.env, "", "pull", aliceID, "-i", f.key, "-o", escrowWAV); r.code != 0 {
		t.Fatal(r.stderr)
	}
	want, _ := os.ReadFile(escrowWAV)

	t.Run("each pulls exactly their sessions", func(t *testing.T) {
		for _, tt := range []struct {
			reader, session string
			ok              bool
		}{
			{"alice", aliceID, true}, {"sup", aliceID, true}, {"bob", aliceID, false}, {"carol", aliceID, false},
			{"alice", bobID, false}, {"sup", bobID, false}, {"bob", bobID, true},
		} {
			wav := filepath.Join(out, tt.reader+"-"+tt.session+".wav")
			r := runT(t, readerEnv[tt.reader], "", "pull", tt.session, "-i", keys[tt.reader], "-o", wav)
			if !tt.ok {
				if r.code != exitFailure || !strings.Contains(r.stderr, "is not yours") {
					t.Errorf("%s pulls %s: %+v, want not yours", tt.reader, tt.session, r)
				}
				if _, err := os.Stat(wav); err == nil {
					t.Errorf("%s: a refused pull left %s", tt.reader, wav)
				}
				continue
			}
			if r.code != 0 {
				t.Fatalf("%s pulls %s: %s", tt.reader, tt.session, r.stderr)
			}
			if got, _ := os.ReadFile(wav); tt.session == aliceID && !bytes.Equal(got, want) {
				t.Errorf("%s's pull differs from escrow's", tt.reader)
			}
		}
	})

	t.Run("every reader pull is audited under its pseudonym", func(t *testing.T) {
		recs, err := admin.ReadAudit(f.ctx, f.cl, "clinic")
		if err != nil {
			t.Fatal(err)
		}
		count := map[string]int{}
		for _, rec := range recs {
			switch {
			case rec.Action != "pull" || !strings.HasPrefix(rec.Who, "reader:"):
			case rec.Result == "ok":
				count[rec.Who+" ok"]++
			case strings.Contains(rec.Result, "is not yours"):
				count[rec.Who+" refused"]++
			default:
				count[rec.Who+" "+rec.Result]++
			}
		}
		for who, n := range map[string]int{"reader:alice ok": 1, "reader:sup ok": 1, "reader:bob ok": 1, "reader:carol refused": 1, "reader:bob refused": 1, "reader:alice refused": 1, "reader:sup refused": 1} {
			if count[who] != n {
				t.Errorf("%s: %d pull records, want %d (all: %v)", who, count[who], n, count)
			}
		}
		r := runT(t, f.env, "", "audit")
		if !strings.Contains(r.stdout, "reader:alice") {
			t.Errorf("roomctl audit does not show the readers: %s", r.stdout)
		}
	})

	t.Run("a reader reads sessions and writes its audit records, nothing else", func(t *testing.T) {
		env := readerEnv["alice"]
		secret, _ := os.ReadFile(env["ROOMCTL_SECRET_KEY_FILE"])
		cl := f.srv.ClientFor(t, env["ROOMCTL_ACCESS_KEY"], strings.TrimSpace(string(secret)))
		ar := &archive.Archive{Client: f.cl, Bucket: "clinic"}
		s, err := ar.FindSession(f.ctx, aliceID, "101")
		if err != nil {
			t.Fatal(err)
		}
		seg := strings.TrimSuffix(s.Key, "manifest.json") + s.Manifest.Segments[0].Name
		if _, err := cl.StatObject(f.ctx, "clinic", seg, minio.StatObjectOptions{}); err != nil {
			t.Fatalf("the reader cannot read a segment: %v", err)
		}
		denied := func(what string, err error) {
			t.Helper()
			if minio.ToErrorResponse(err).Code != "AccessDenied" {
				t.Errorf("%s: %v, want AccessDenied", what, err)
			}
		}
		vs, _ := ar.KeyVersions(f.ctx, seg)
		denied("delete a segment's version", cl.RemoveObject(f.ctx, "clinic", seg, minio.RemoveObjectOptions{VersionID: vs[0].VersionID}))
		denied("delete a segment", cl.RemoveObject(f.ctx, "clinic", seg, minio.RemoveObjectOptions{}))
		b := []byte("{}")
		for _, key := range []string{
			seg, s.Key, layout.StatusKey("101"),
			layout.GrantKey("101", aliceID, "0123456789abcdef"),
			layout.TombstoneKey("101", aliceID),
			layout.AuditKey(time.Now(), "pull", "AAAAAAAA"),
			layout.ReaderAuditKey("bob", time.Now(), "pull", "AAAAAAAA"),
			layout.WitnessKey(s.Key),
		} {
			_, err := cl.PutObject(f.ctx, "clinic", key, bytes.NewReader(b), 2, minio.PutObjectOptions{})
			denied("put "+key, err)
		}
		// The witness is readable (a pull checks records against it), by key
		// only. The admin's listing writes it.
		if r := runT(t, f.env, "", "sessions", "--room", "101"); r.code != 0 {
			t.Fatalf("admin sessions: %s", r.stderr)
		}
		if _, err := cl.StatObject(f.ctx, "clinic", layout.WitnessKey(s.Key), minio.StatObjectOptions{}); err != nil {
			t.Errorf("the reader cannot read the witness of %s: %v", s.Key, err)
		}
		for o := range cl.ListObjects(f.ctx, "clinic", minio.ListObjectsOptions{Prefix: layout.WitnessPrefix, Recursive: true}) {
			denied("list the witness records", o.Err)
			break
		}
		if _, err := cl.PutObject(f.ctx, "clinic", layout.ReaderAuditKey("alice", time.Now(), "pull", "AAAAAAAA"), bytes.NewReader(b), 2, minio.PutObjectOptions{}); err != nil {
			t.Errorf("the reader cannot write its own audit record: %v", err)
		}
		for _, prefix := range []string{layout.AdminPrefix, layout.AuditPrefix, ""} {
			for obj := range cl.ListObjects(f.ctx, "clinic", minio.ListObjectsOptions{Prefix: prefix, Recursive: true}) {
				denied("list "+prefix, obj.Err)
				break
			}
		}
		o, err := cl.GetObject(f.ctx, "clinic", layout.StatusKey("101"), minio.GetObjectOptions{})
		if err == nil {
			_, err = o.Stat()
		}
		denied("read a room's status", err)
	})

	t.Run("a reader's console lists and shows its own sessions", func(t *testing.T) {
		env := readerEnv["alice"]
		secret, _ := os.ReadFile(env["ROOMCTL_SECRET_KEY_FILE"])
		cl, err := admin.Conn{Endpoint: f.srv.Endpoint, AccessKey: env["ROOMCTL_ACCESS_KEY"], SecretKey: strings.TrimSpace(string(secret)), Bucket: "clinic"}.Client()
		if err != nil {
			t.Fatal(err)
		}
		srv, err := console.New(console.Options{Archive: &archive.Archive{Client: cl, Bucket: "clinic", Reader: true},
			Auditor:    admin.Auditor{Client: cl, Bucket: "clinic", Reader: "alice"},
			Identities: []age.Identity{alice.id}, AudioDir: t.TempDir(), Token: "t0ken", Loopback: true})
		if err != nil {
			t.Fatal(err)
		}
		defer srv.Close()
		var cookies []*http.Cookie
		get := func(target string) *httptest.ResponseRecorder {
			w := httptest.NewRecorder()
			r := httptest.NewRequest("GET", target, nil)
			r.Host = "127.0.0.1:8070" // the console answers its own address only
			for _, c := range cookies {
				r.AddCookie(c)
			}
			srv.ServeHTTP(w, r)
			return w
		}
		login := get("/?token=t0ken") // the one-time URL roomctl prints
		if cookies = login.Result().Cookies(); len(cookies) == 0 {
			t.Fatalf("login: %d, no cookie", login.Code)
		}
		if w := get("/"); w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/sessions" {
			t.Fatalf("reader's fleet page: %d %q", w.Code, w.Header().Get("Location"))
		}
		w := get("/sessions")
		if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), aliceID) || strings.Contains(w.Body.String(), bobID) {
			t.Fatalf("reader's sessions page: %d, lists alice's %v, bob's %v", w.Code, strings.Contains(w.Body.String(), aliceID), strings.Contains(w.Body.String(), bobID))
		}
		w = get("/session/101/" + aliceID)
		if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), "counselor (1) – yours") {
			t.Fatalf("reader's session page: %d %s", w.Code, w.Body.String())
		}
	})

	t.Run("grant and revoke", func(t *testing.T) {
		to := carol.id.Recipient().String()
		if r := runT(t, f.env, "", "grant", aliceID, "--to", to); r.code != exitUsage || !strings.Contains(r.stderr, "-i IDENTITY") {
			t.Fatalf("grant without identity: %+v", r)
		}
		r := runT(t, f.env, "", "grant", aliceID, "--to", to, "-i", f.key)
		if r.code != 0 || !strings.Contains(r.stdout, "audio untouched") {
			t.Fatalf("grant: %+v", r)
		}
		if r := runT(t, f.env, "", "grant", aliceID, "--list"); !strings.Contains(r.stdout, to) {
			t.Fatalf("grant --list: %+v", r)
		}
		if r := runT(t, readerEnv["carol"], "", "sessions", "-i", carol.key); !strings.Contains(r.stdout, aliceID) || !strings.Contains(r.stdout, "grant") {
			t.Fatalf("carol's sessions after the grant: %+v", r)
		}
		wav := filepath.Join(out, "carol-granted.wav")
		if r := runT(t, readerEnv["carol"], "", "pull", aliceID, "-i", carol.key, "-o", wav); r.code != 0 {
			t.Fatalf("carol's pull: %s", r.stderr)
		}
		if got, _ := os.ReadFile(wav); !bytes.Equal(got, want) {
			t.Fatal("the granted pull differs from escrow's")
		}
		// A reader cannot grant (no write outside its audit prefix).
		if r := runT(t, readerEnv["alice"], "", "grant", aliceID, "--to", bob.id.Recipient().String(), "-i", alice.key); r.code == 0 {
			t.Fatal("a reader granted a session")
		}
		if r := runT(t, f.env, "", "grant", aliceID, "--revoke", "--to", to); r.code != 0 {
			t.Fatalf("revoke: %+v", r)
		}
		r = runT(t, readerEnv["carol"], "", "pull", aliceID, "-i", carol.key, "-o", filepath.Join(out, "carol-revoked.wav"))
		if r.code != exitFailure || !strings.Contains(r.stderr, "is not yours") {
			t.Fatalf("pull after revoke: %+v", r)
		}
		recs, _ := admin.ReadAudit(f.ctx, f.cl, "clinic")
		var grants, revokes int
		for _, rec := range recs {
			switch {
			case rec.Action == "grant" && rec.Result == "ok" && rec.Session == aliceID:
				grants++
			case rec.Action == "grant-revoke" && rec.Result == "ok" && len(rec.Objects) > 0:
				revokes++
			}
		}
		if grants != 1 || revokes != 1 {
			t.Fatalf("audit: %d grants, %d revokes", grants, revokes)
		}
	})
}
