package cluster

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"roomkiosk/internal/testenv"
	"roomkiosk/sync/admin"
	"roomkiosk/sync/admin/admintest"
	"roomkiosk/sync/miniotest"
)

// TestSiteReplication follows the README's recipe for a second site: site
// replication set up while both sites are empty, then `roomctl bucket init`
// and `roomctl provision` on the first. The second site then holds the
// bucket with object lock and its default retention, the device's
// write-only rights, and each object with its version id, locked.
//
// The order matters: tried here with the bucket made first, the second
// site got it without object lock, and removing a version there removed it
// on the first site too, retention or not.
func TestSiteReplication(t *testing.T) {
	s1, s2 := miniotest.Start(t), miniotest.Start(t)
	mcBin := testenv.Tool(t, "mc")
	cmd := exec.Command(mcBin, "--config-dir", t.TempDir(), "--no-color", "--disable-pager", "admin", "replicate", "add", "site1", "site2")
	cmd.Env = append(os.Environ(),
		"MC_HOST_site1=http://"+s1.AccessKey+":"+s1.SecretKey+"@"+s1.Host,
		"MC_HOST_site2=http://"+s2.AccessKey+":"+s2.SecretKey+"@"+s2.Host)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("mc admin replicate add: %v: %s", err, bytes.TrimSpace(out))
	}

	conn := admin.Conn{Endpoint: s1.Endpoint, AccessKey: s1.AccessKey, SecretKey: s1.SecretKey, Bucket: bucket}
	cl1, err := conn.Client()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if _, err := admin.InitBucket(ctx, cl1, bucket, retentionDays); err != nil {
		t.Fatal(err)
	}
	creds := admin.NewDeviceCredentials()
	if err := (admin.MC{Path: mcBin, Conn: conn}).ProvisionRoom(ctx, "101", creds); err != nil {
		t.Fatal(err)
	}

	// Replication is asynchronous: wait for the bucket's settings and the
	// device's user to arrive, then check them as on the first site.
	cl2 := s2.Client(t)
	want := admin.BucketState{Bucket: bucket, Versioning: "Enabled", ObjectLock: true, RetentionMode: "GOVERNANCE", RetentionDays: retentionDays}
	var got admin.BucketState
	waitFor(t, "the bucket's lock settings on site 2", time.Minute, func() bool {
		got, err = admin.DescribeBucket(ctx, cl2, bucket)
		return err == nil && got == want
	})
	dev2 := s2.ClientFor(t, creds.AccessKey, creds.SecretKey)
	waitFor(t, "the device's user on site 2", time.Minute, func() bool {
		_, err := dev2.PutObject(ctx, bucket, "rooms/101/arrived.txt", strings.NewReader("x"), 1, minio.PutObjectOptions{SendContentMd5: true})
		return err == nil
	})
	admintest.CheckDeviceRights(t, dev2, bucket, "101", "102")

	// An object the device puts on site 1 arrives with its version id and
	// stays locked there.
	dev1 := s1.ClientFor(t, creds.AccessKey, creds.SecretKey)
	key := "rooms/101/sessions/2026/11/02/20261102T090000Z-abc123/seg-000001.wav.age"
	info, err := dev1.PutObject(ctx, bucket, key, strings.NewReader("ciphertext"), 10, minio.PutObjectOptions{SendContentMd5: true})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the object on site 2", time.Minute, func() bool {
		_, err := cl2.StatObject(ctx, bucket, key, minio.StatObjectOptions{VersionID: info.VersionID})
		return err == nil
	})
	// The version can be visible before its retention is (replication
	// applies the lock metadata after the data): wait for it too.
	var mode *minio.RetentionMode
	var until *time.Time
	waitFor(t, "the version's retention on site 2", time.Minute, func() bool {
		mode, until, err = cl2.GetObjectRetention(ctx, bucket, key, info.VersionID)
		return err == nil && mode != nil
	})
	if err != nil || mode == nil || *mode != minio.Governance || until == nil || until.Before(time.Now().AddDate(0, 0, retentionDays-1)) {
		t.Fatalf("retention on site 2: %v until %v (%v), want GOVERNANCE for %d days", mode, until, err, retentionDays)
	}
	err = cl2.RemoveObject(ctx, bucket, key, minio.RemoveObjectOptions{VersionID: info.VersionID})
	if err == nil || !strings.Contains(err.Error(), "WORM protected") {
		t.Fatalf("remove the version on site 2: %v, want WORM protected", err)
	}
	if _, err := cl1.StatObject(ctx, bucket, key, minio.StatObjectOptions{VersionID: info.VersionID}); err != nil {
		t.Fatalf("the version on site 1: %v", err)
	}
}
