package console_test

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"filippo.io/age"
	"github.com/minio/minio-go/v7"

	"roomkiosk/sync/admin"
	"roomkiosk/sync/archive/archivetest"
	"roomkiosk/sync/console"
	"roomkiosk/sync/layout"
)

// TestDisposePage runs the Disposal page against a real MinIO: it lists
// the due session and keeps the held one, refuses to run without the
// confirmation, and with it disposes through the certified path; the
// sessions table then says "disposed on DATE" and shows the hold.
func TestDisposePage(t *testing.T) {
	f := newFixture(t)
	old := time.Date(2025, 1, 10, 9, 0, 0, 0, time.UTC)
	due := archivetest.Build(t, archivetest.Spec{Room: "101", Started: old, Seed: 1, Segments: []archivetest.SegSpec{{Frames: 8000}}}, f.id.Recipient())
	held := archivetest.Build(t, archivetest.Spec{Room: "101", Started: old.Add(time.Hour), Seed: 2, Segments: []archivetest.SegSpec{{Frames: 8000}}}, f.id.Recipient())
	due.Upload(t, f.cl, bucket)
	held.Upload(t, f.cl, bucket)
	if err := f.ar.SetRetentionPolicy(f.ctx, &layout.RetentionPolicy{Default: "supervision", Classes: map[string]string{"supervision": "30d"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.ar.SetHold(f.ctx, "101", held.Manifest.SessionID, "subpoena", "admin"); err != nil {
		t.Fatal(err)
	}
	// The bucket's default retention (30 days from upload) passes: the root
	// user moves it to a moment from now.
	mode := minio.Governance
	var last time.Time
	for _, prefix := range []string{due.Prefix, held.Prefix} {
		for o := range f.cl.ListObjects(f.ctx, bucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: true, WithVersions: true}) {
			last = time.Now().Add(time.Second).UTC()
			if err := f.cl.PutObjectRetention(f.ctx, bucket, o.Key, minio.PutObjectRetentionOptions{GovernanceBypass: true, Mode: &mode, RetainUntilDate: &last, VersionID: o.VersionID}); err != nil {
				t.Fatal(err)
			}
		}
	}
	time.Sleep(time.Until(last) + 200*time.Millisecond)

	// The console's own client, as roomctl makes it (checksummed audit puts).
	cl, err := admin.Conn{Endpoint: f.srv.Endpoint, AccessKey: f.srv.AccessKey, SecretKey: f.srv.SecretKey, Bucket: bucket}.Client()
	if err != nil {
		t.Fatal(err)
	}
	srv, err := console.New(console.Options{Archive: f.ar, Auditor: admin.Auditor{Client: cl, Bucket: bucket, Who: "admin"},
		Identities: []age.Identity{f.id}, AudioDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	hs := httptest.NewServer(srv)
	defer hs.Close()
	// Log in once with the console's one-time URL; the cookie carries on.
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar}
	getPage := func(path string) string {
		t.Helper()
		resp, err := client.Get(hs.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	getPage("/?token=" + srv.LoginToken())

	body := getPage("/dispose")
	dueRow := regexp.MustCompile(`data-session="` + due.Manifest.SessionID + `" data-result="would dispose"`)
	heldRow := regexp.MustCompile(`data-session="` + held.Manifest.SessionID + `" data-result="held \(subpoena\): not disposed of"`)
	if !dueRow.MatchString(body) || !heldRow.MatchString(body) || !strings.Contains(body, `id="dispose-run"`) {
		t.Fatalf("dispose page:\n%s", body)
	}
	csrf := regexp.MustCompile(`name="csrf" value="([0-9a-f]+)"`).FindStringSubmatch(body)[1]
	post := func(form url.Values) (int, string) {
		req, _ := http.NewRequest(http.MethodPost, hs.URL+"/dispose/run", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b strings.Builder
		buf := make([]byte, 32<<10)
		for {
			n, err := resp.Body.Read(buf)
			b.Write(buf[:n])
			if err != nil {
				break
			}
		}
		return resp.StatusCode, b.String()
	}
	if code, _ := post(url.Values{"csrf": {csrf}}); code != http.StatusBadRequest {
		t.Fatalf("run without the confirmation: %d", code)
	}
	if n := countVersions(t, f, due.Prefix); n != 2 {
		t.Fatalf("refused run removed versions: %d left", n)
	}
	code, out := post(url.Values{"csrf": {csrf}, "confirm": {"yes-dispose-for-good"}})
	if code != http.StatusOK || !strings.Contains(out, `data-result="disposed"`) || !strings.Contains(out, layout.CertificateKey("101", due.Manifest.SessionID)) {
		t.Fatalf("run: %d\n%s", code, out)
	}
	if n := countVersions(t, f, due.Prefix); n != 0 {
		t.Fatalf("%d versions left after disposal", n)
	}
	if n := countVersions(t, f, held.Prefix); n != 2 {
		t.Fatalf("held session: %d versions, want 2", n)
	}
	body = getPage("/sessions?since=2025-01-01")
	if !strings.Contains(body, "disposed on "+time.Now().UTC().Format(time.DateOnly)) || !strings.Contains(body, "held (subpoena)") {
		t.Fatalf("sessions page:\n%s", body)
	}
	if body := getPage("/session/101/" + due.Manifest.SessionID); !strings.Contains(body, layout.CertificateKey("101", due.Manifest.SessionID)) || strings.Contains(body, `id="play"`) {
		t.Fatalf("disposed session page:\n%s", body)
	}
}

func countVersions(t *testing.T, f *fixture, prefix string) int {
	t.Helper()
	n := 0
	for o := range f.cl.ListObjects(f.ctx, bucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: true, WithVersions: true}) {
		if o.Err != nil {
			t.Fatal(o.Err)
		}
		n++
	}
	return n
}
