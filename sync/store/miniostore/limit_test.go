package miniostore_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"testing"
	"time"

	"roomkiosk/sync/miniotest"
	"roomkiosk/sync/store"
	"roomkiosk/sync/store/miniostore"
)

// The bandwidth limit holds: 192 KiB at 256 KiB/s cannot take less than
// (192-64 burst)/256 s. Only this lower bound is asserted; it does not
// depend on the machine's speed.
func TestBandwidthLimit(t *testing.T) {
	srv := miniotest.Start(t)
	srv.MakeBucket(t, bucket, false)
	data := make([]byte, 192<<10)
	_, _ = rand.Read(data)
	s, err := miniostore.New(miniostore.Config{Endpoint: srv.Endpoint, Bucket: bucket, AccessKey: srv.AccessKey, SecretKey: srv.SecretKey, BandwidthKBps: 256})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if _, err := s.Put(context.Background(), "rooms/101/big", bytes.NewReader(data), int64(len(data)), sha256.Sum256(data), store.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 450*time.Millisecond {
		t.Fatalf("192 KiB at 256 KiB/s took %v, want at least 0.5 s", d)
	}
	got, n := inspect(t, srv.Client(t), "rooms/101/big")
	if n != 1 || !bytes.Equal(got, data) {
		t.Fatalf("object through the limiter differs")
	}
}

// The probe relies on MinIO checking rights before If-None-Match: a device
// without the right gets AccessDenied, never "already exists", for an
// object that does exist.
func TestIfNoneMatchChecksRightsFirst(t *testing.T) {
	srv := miniotest.Start(t)
	srv.MakeBucket(t, bucket, true)
	ak, sk := srv.AddWriteOnlyUser(t, bucket, "rooms/101/")
	data := []byte("x")
	sum := sha256.Sum256(data)
	admin, err := miniostore.New(miniostore.Config{Endpoint: srv.Endpoint, Bucket: bucket, AccessKey: srv.AccessKey, SecretKey: srv.SecretKey})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Put(context.Background(), "rooms/102/probe/d", bytes.NewReader(data), 1, sum, store.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	dev := newStore(t, srv.Endpoint, ak, sk)
	_, err = dev.Put(context.Background(), "rooms/102/probe/d", bytes.NewReader(data), 1, sum, store.PutOptions{IfAbsent: true})
	var se *store.Error
	if !store.IsPermanent(err) || !asErr(err, &se) || se.Code != "AccessDenied" {
		t.Fatalf("got %v, want AccessDenied", err)
	}
}
