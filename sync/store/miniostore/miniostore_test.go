package miniostore_test

import (
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"roomkiosk/sync/miniotest"
	"roomkiosk/sync/store/internal/storetest"
	"roomkiosk/sync/store/miniostore"
)

const bucket = "roomkiosk"

// The store under test has the device's rights only (PutObject under
// rooms/101/): that is where If-None-Match and checksums must work.
func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Harness {
		srv := miniotest.Start(t)
		srv.MakeBucket(t, bucket, true)
		ak, sk := srv.AddWriteOnlyUser(t, bucket, "rooms/101/")
		s := newStore(t, srv.Endpoint, ak, sk)
		admin := srv.Client(t)
		return storetest.Harness{
			Store:   s,
			Prefix:  "rooms/101/",
			Inspect: func(t *testing.T, key string) ([]byte, int) { return inspect(t, admin, key) },
			// Same device, another room's prefix.
			Denied: prefixed{s, "rooms/102/"},
		}
	})
}

func newStore(t *testing.T, endpoint, ak, sk string) *miniostore.Store {
	t.Helper()
	s, err := miniostore.New(miniostore.Config{Endpoint: endpoint, Bucket: bucket, AccessKey: ak, SecretKey: sk})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func inspect(t *testing.T, c *minio.Client, key string) ([]byte, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	n := 0
	for o := range c.ListObjects(ctx, bucket, minio.ListObjectsOptions{Prefix: key, WithVersions: true, Recursive: true}) {
		if o.Err != nil {
			t.Fatalf("list versions of %s: %v", key, o.Err)
		}
		if o.Key == key && !o.IsDeleteMarker {
			n++
		}
	}
	if n == 0 {
		return nil, 0
	}
	obj, err := c.GetObject(ctx, bucket, key, minio.GetObjectOptions{})
	if err != nil {
		t.Fatalf("get %s: %v", key, err)
	}
	defer obj.Close()
	b, err := io.ReadAll(obj)
	if err != nil {
		var er minio.ErrorResponse
		if errors.As(err, &er) && er.Code == "NoSuchKey" {
			return nil, n
		}
		t.Fatalf("read %s: %v", key, err)
	}
	return b, n
}
