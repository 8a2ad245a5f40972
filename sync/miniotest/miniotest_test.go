package miniotest_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"roomkiosk/sync/miniotest"
)

func TestServer(t *testing.T) {
	s := miniotest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s.MakeBucket(t, "bkt", true)
	ak, sk := s.AddWriteOnlyUser(t, "bkt", "rooms/101/")
	dev := s.ClientFor(t, ak, sk)
	put := func(c *minio.Client, key string) error {
		_, err := c.PutObject(ctx, "bkt", key, bytes.NewReader([]byte("x")), 1, minio.PutObjectOptions{})
		return err
	}
	if err := put(dev, "rooms/101/a"); err != nil {
		t.Fatalf("write-only put under own prefix: %v", err)
	}
	if err := put(dev, "rooms/102/a"); err == nil {
		t.Fatal("write-only put under another prefix succeeded")
	}
	if _, err := dev.StatObject(ctx, "bkt", "rooms/101/a", minio.StatObjectOptions{}); err == nil {
		t.Fatal("write-only stat succeeded")
	}
	out, err := s.MC(t, "ls", "local/bkt/rooms/101/")
	if err != nil || !strings.Contains(out, "a") {
		t.Fatalf("mc ls: %q %v", out, err)
	}

	s.Restart(t)
	if _, err := s.Client(t).StatObject(ctx, "bkt", "rooms/101/a", minio.StatObjectOptions{}); err != nil {
		t.Fatalf("object lost across restart: %v", err)
	}
	s.Stop()
	if err := put(s.Client(t), "rooms/101/b"); err == nil {
		t.Fatal("put to a stopped server succeeded")
	}
}

func TestServerTLS(t *testing.T) {
	s := miniotest.StartTLS(t)
	if !strings.HasPrefix(s.Endpoint, "https://") || s.CAFile == "" {
		t.Fatalf("endpoint %s, ca %q", s.Endpoint, s.CAFile)
	}
	s.MakeBucket(t, "bkt", false)
	if out, err := s.MC(t, "ls", "local/"); err != nil || !strings.Contains(out, "bkt") {
		t.Fatalf("mc over TLS: %q %v", out, err)
	}
}
