// Package admintest holds assertions shared by the admin tool's tests.
package admintest

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"roomkiosk/sync/layout"
)

// RightsProbeKey is the object CheckDeviceRights puts under the room's
// prefix with the device's credentials (one version of it stays).
func RightsProbeKey(room string) string { return layout.ProbeKey(room, "rights-check") }

// CheckDeviceRights asserts a device client may put under its own room's
// prefix and nothing else, naming the S3 error codes.
func CheckDeviceRights(t *testing.T, dev *minio.Client, bucket, room, other string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	put := func(key string) error {
		_, err := dev.PutObject(ctx, bucket, key, strings.NewReader("hello"), 5, minio.PutObjectOptions{SendContentMd5: true})
		return err
	}
	own := RightsProbeKey(room)
	if err := put(own); err != nil {
		t.Fatalf("put under own prefix: %v", err)
	}
	denied := func(what string, err error) {
		t.Helper()
		if code := minio.ToErrorResponse(err).Code; code != "AccessDenied" {
			t.Errorf("%s: err %v (code %q), want AccessDenied", what, err, code)
		}
	}
	denied("put under another room", put(RightsProbeKey(other)))
	denied("put an audit record", put(layout.AuditKey(time.Now(), "pull", "FORGED22")))
	denied("put a tombstone", put(layout.TombstoneKey(room, "20261102T150405Z-abc123")))
	_, err := dev.StatObject(ctx, bucket, own, minio.StatObjectOptions{})
	denied("stat own object", err)
	o, err := dev.GetObject(ctx, bucket, own, minio.GetObjectOptions{})
	if err == nil {
		_, err = o.Read(make([]byte, 1))
		o.Close()
	}
	denied("get own object", err)
	for obj := range dev.ListObjects(ctx, bucket, minio.ListObjectsOptions{Prefix: layout.RoomPrefix(room), Recursive: true}) {
		err = obj.Err
		break
	}
	denied("list own prefix", err)
	denied("remove own object", dev.RemoveObject(ctx, bucket, own, minio.RemoveObjectOptions{}))
}
