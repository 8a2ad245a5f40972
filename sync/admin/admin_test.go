package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/minio/minio-go/v7"

	"roomkiosk/internal/testenv"
	"roomkiosk/sync/admin/admintest"
	"roomkiosk/sync/miniotest"
)

func TestConnValidate(t *testing.T) {
	env := map[string]string{"ROOMCTL_ENDPOINT": "http://127.0.0.1:9000", "ROOMCTL_BUCKET": "b"}
	c := Conn{AccessKey: "flag"}.FromEnv(func(k string) string { return env[k] })
	if c.Endpoint != "http://127.0.0.1:9000" || c.AccessKey != "flag" || c.Bucket != "b" {
		t.Fatalf("FromEnv: %+v", c)
	}
	err := c.Validate()
	if err == nil || !strings.Contains(err.Error(), "ROOMCTL_SECRET_KEY") || strings.Contains(err.Error(), "ROOMCTL_BUCKET") {
		t.Fatalf("Validate = %v, want only the secret key named", err)
	}
	for _, ep := range []string{"127.0.0.1:9000", "ftp://x", "http://x/path"} {
		c := Conn{Endpoint: ep, AccessKey: "a", SecretKey: "s", Bucket: "b"}
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "endpoint") {
			t.Errorf("Validate(%q) = %v, want an endpoint error", ep, err)
		}
	}
}

func TestDevicePolicy(t *testing.T) {
	b, err := DevicePolicy("roomkiosk", "101")
	if err != nil {
		t.Fatal(err)
	}
	var p struct {
		Statement []struct {
			Effect    string
			Action    []string
			Resource  []string
			Condition map[string]map[string]string
		}
	}
	if err := json.Unmarshal(b, &p); err != nil {
		t.Fatal(err)
	}
	// PutObject on its prefix, and never with a version named (the
	// hostile-device test shows MinIO refusing it).
	if len(p.Statement) != 2 || p.Statement[0].Effect != "Allow" ||
		strings.Join(p.Statement[0].Action, ",") != "s3:PutObject" ||
		strings.Join(p.Statement[0].Resource, ",") != "arn:aws:s3:::roomkiosk/rooms/101/*" ||
		p.Statement[1].Effect != "Deny" || strings.Join(p.Statement[1].Action, ",") != "s3:PutObject" ||
		p.Statement[1].Condition["StringLike"]["s3:versionid"] != "?*" {
		t.Fatalf("policy: %s", b)
	}
	for _, bad := range []string{"", "10/1", "a*", "room 1", strings.Repeat("x", 65)} {
		if _, err := DevicePolicy("roomkiosk", bad); err == nil {
			t.Errorf("DevicePolicy(%q) accepted", bad)
		}
	}
}

func TestDeviceStorageTOML(t *testing.T) {
	s := DeviceStorageTOML("101", "https://minio.lan:9000", "roomkiosk", "/etc/roomkiosk/credentials.toml", "")
	var v struct {
		Storage map[string]any `toml:"storage"`
	}
	if _, err := toml.Decode(s, &v); err != nil {
		t.Fatalf("not TOML: %v\n%s", err, s)
	}
	if v.Storage["endpoint"] != "https://minio.lan:9000" || v.Storage["bucket"] != "roomkiosk" || v.Storage["credentials_file"] != "/etc/roomkiosk/credentials.toml" {
		t.Fatalf("storage: %v", v.Storage)
	}
}

func TestCredentialsFile(t *testing.T) {
	c := NewDeviceCredentials()
	if len(c.AccessKey) != 20 || len(c.SecretKey) != 40 || c == NewDeviceCredentials() {
		t.Fatalf("credentials: %+v", c)
	}
	path := filepath.Join(t.TempDir(), "cred.toml")
	if err := WriteCredentialsFile(path, "101", c); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode: %v %v", fi.Mode(), err)
	}
	var got DeviceCredentials
	md, err := toml.DecodeFile(path, &got)
	if err != nil || got != c || len(md.Undecoded()) != 0 {
		t.Fatalf("read back %+v %v", got, err)
	}
	if err := WriteCredentialsFile(path, "101", NewDeviceCredentials()); err == nil || !strings.Contains(err.Error(), "exists") {
		t.Fatalf("overwrite: %v", err)
	}
}

func TestMCCommands(t *testing.T) {
	c := NewDeviceCredentials()
	s, err := MCCommands(Conn{Endpoint: "http://127.0.0.1:9000", Bucket: "roomkiosk"}, "101", c, "/tmp/my creds.toml")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"mc alias set roomctl http://127.0.0.1:9000", "mc admin policy create roomctl roomkiosk-roomkiosk-101",
		"mc admin user add roomctl", "--user " + c.AccessKey, "'/tmp/my creds.toml'", "arn:aws:s3:::roomkiosk/rooms/101/*"} {
		if !strings.Contains(s, want) {
			t.Errorf("commands lack %q:\n%s", want, s)
		}
	}
	if strings.Contains(s, c.SecretKey) {
		t.Error("commands print the device secret")
	}
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// One server for the integration tests of this package: starting MinIO
// costs seconds on a shared two-core machine.
func TestWithMinIO(t *testing.T) {
	srv := miniotest.Start(t)
	conn := Conn{Endpoint: srv.Endpoint, AccessKey: srv.AccessKey, SecretKey: srv.SecretKey, Bucket: "archive"}
	cl, err := conn.Client()
	if err != nil {
		t.Fatal(err)
	}
	ctx := ctxT(t)

	t.Run("InitBucket", func(t *testing.T) {
		st, err := InitBucket(ctx, cl, "archive", 30)
		if err != nil {
			t.Fatal(err)
		}
		want := BucketState{Bucket: "archive", Created: true, Versioning: "Enabled", ObjectLock: true, RetentionMode: "GOVERNANCE", RetentionDays: 30}
		if st != want {
			t.Fatalf("state %+v, want %+v", st, want)
		}
		// Again: checked, retention updated.
		st, err = InitBucket(ctx, cl, "archive", 90)
		if err != nil || st.Created || st.RetentionDays != 90 {
			t.Fatalf("second init: %+v %v", st, err)
		}
		// A locked object cannot be deleted without governance bypass.
		body := []byte("x")
		info, err := cl.PutObject(ctx, "archive", "rooms/1/x", bytes.NewReader(body), 1, minio.PutObjectOptions{SendContentMd5: true})
		if err != nil {
			t.Fatal(err)
		}
		err = cl.RemoveObject(ctx, "archive", "rooms/1/x", minio.RemoveObjectOptions{VersionID: info.VersionID})
		if err == nil || !strings.Contains(err.Error(), "WORM protected") {
			t.Fatalf("remove locked version: %v (code %q), want WORM protected", err, ErrorCode(err))
		}
		if err := cl.RemoveObject(ctx, "archive", "rooms/1/x", minio.RemoveObjectOptions{VersionID: info.VersionID, GovernanceBypass: true}); err != nil {
			t.Fatalf("remove with bypass: %v", err)
		}
		// A bucket made without lock is refused by name.
		if err := cl.MakeBucket(ctx, "plain", minio.MakeBucketOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := InitBucket(ctx, cl, "plain", 30); err == nil || !strings.Contains(err.Error(), "without object lock") {
			t.Fatalf("plain bucket: %v", err)
		}
	})

	t.Run("ProvisionRoom", func(t *testing.T) {
		mc := MC{Path: testenv.Tool(t, "mc"), Conn: conn}
		creds := NewDeviceCredentials()
		if err := mc.ProvisionRoom(ctx, "101", creds); err != nil {
			t.Fatal(err)
		}
		admintest.CheckDeviceRights(t, srv.ClientFor(t, creds.AccessKey, creds.SecretKey), "archive", "101", "102")
		// Provisioning the room again (a replaced kiosk) gives a second
		// working user; the policy is updated in place.
		again := NewDeviceCredentials()
		if err := mc.ProvisionRoom(ctx, "101", again); err != nil {
			t.Fatalf("provision again: %v", err)
		}
		admintest.CheckDeviceRights(t, srv.ClientFor(t, again.AccessKey, again.SecretKey), "archive", "101", "102")

		bad := MC{Path: mc.Path, Conn: conn}
		bad.Conn.SecretKey = "wrong-secret"
		if err := bad.ProvisionRoom(ctx, "103", NewDeviceCredentials()); err == nil || !strings.Contains(err.Error(), "set admin alias") {
			t.Fatalf("wrong admin secret: %v", err)
		}
	})

	t.Run("Audit", func(t *testing.T) {
		a := Auditor{Client: cl, Bucket: "archive", Who: srv.AccessKey}
		key, err := a.Write(ctx, AuditRecord{Action: "pull", Room: "101", Session: "s1"})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(key, "audit/") {
			t.Fatalf("key %s", key)
		}
		recs, err := ReadAudit(ctx, cl, "archive")
		if err != nil || len(recs) != 1 || recs[0].Who != srv.AccessKey || recs[0].Action != "pull" || recs[0].Result != "ok" || recs[0].At.IsZero() {
			t.Fatalf("records %+v %v", recs, err)
		}
	})
}
