package miniostore_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"testing"
	"time"

	"roomkiosk/sync/miniotest"
	"roomkiosk/sync/store"
	"roomkiosk/sync/store/miniostore"
)

func TestErrorKinds(t *testing.T) {
	srv := miniotest.Start(t)
	srv.MakeBucket(t, bucket, true)
	ak, sk := srv.AddWriteOnlyUser(t, bucket, "rooms/101/")
	data := []byte("probe")
	sum := sha256.Sum256(data)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	tests := []struct {
		name    string
		cfg     miniostore.Config
		key     string
		kind    store.Kind
		code    string
		stopped bool
	}{
		{"ok", miniostore.Config{AccessKey: ak, SecretKey: sk}, "rooms/101/a", -1, "", false},
		{"unknown access key", miniostore.Config{AccessKey: "nobody", SecretKey: "nothing12345"}, "rooms/101/b", store.Permanent, "InvalidAccessKeyId", false},
		{"wrong secret", miniostore.Config{AccessKey: ak, SecretKey: sk + "x"}, "rooms/101/c", store.Permanent, "SignatureDoesNotMatch", false},
		{"other room", miniostore.Config{AccessKey: ak, SecretKey: sk}, "rooms/102/a", store.Permanent, "AccessDenied", false},
		{"no bucket", miniostore.Config{Bucket: "missing", AccessKey: srv.AccessKey, SecretKey: srv.SecretKey}, "rooms/101/a", store.Permanent, "NoSuchBucket", false},
		{"server down", miniostore.Config{AccessKey: ak, SecretKey: sk}, "rooms/101/d", store.Temporary, "", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.stopped {
				srv.Stop()
			}
			cfg := tc.cfg
			cfg.Endpoint = srv.Endpoint
			if cfg.Bucket == "" {
				cfg.Bucket = bucket
			}
			s, err := miniostore.New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			_, err = s.Put(ctx, tc.key, bytes.NewReader(data), int64(len(data)), sum, store.PutOptions{IfAbsent: true})
			if tc.kind == -1 {
				if err != nil {
					t.Fatalf("put: %v", err)
				}
				return
			}
			var se *store.Error
			if !errors.As(err, &se) || se.Kind != tc.kind || (tc.code != "" && se.Code != tc.code) {
				t.Fatalf("got %v, want kind %v code %q", err, tc.kind, tc.code)
			}
		})
	}
}

func TestNewRefusesBadConfig(t *testing.T) {
	for _, cfg := range []miniostore.Config{
		{Endpoint: "127.0.0.1:9000", Bucket: "b", AccessKey: "a", SecretKey: "s"},
		{Endpoint: "http://h/path", Bucket: "b", AccessKey: "a", SecretKey: "s"},
		{Endpoint: "http://h", AccessKey: "a", SecretKey: "s"},
		{Endpoint: "http://h", Bucket: "b"},
		{Endpoint: "http://h", Bucket: "b", AccessKey: "a", SecretKey: "s", CAFile: "/nonexistent"},
		{Endpoint: "https://h", Bucket: "b", AccessKey: "a", SecretKey: "s", CAFile: "/nonexistent"},
	} {
		if _, err := miniostore.New(cfg); err == nil {
			t.Errorf("New(%+v) accepted", cfg)
		}
	}
}
