// Package storetest is the conformance suite every store.Store passes: the
// in-memory one and minio-go against a real MinIO server.
package storetest

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"roomkiosk/sync/store"
)

// Harness is what the suite needs besides the store under test.
type Harness struct {
	// Store is under test. Its keys start with Prefix, which it may write.
	Store  store.Store
	Prefix string // a room's prefix, as layout.RoomPrefix builds it
	// Inspect returns the latest version's bytes and how many versions key
	// has (0 and nil if none), read with admin rights.
	Inspect func(t *testing.T, key string) (data []byte, versions int)
	// Denied is a store whose puts are refused (credentials without the
	// right); the suite expects a permanent error from it.
	Denied store.Store
}

// Run runs the suite. newHarness is called once.
func Run(t *testing.T, newHarness func(t *testing.T) Harness) {
	h := newHarness(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	key := func(t *testing.T, name string) string {
		return h.Prefix + strings.ReplaceAll(t.Name(), "/", "_") + "/" + name
	}

	t.Run("PutAndRead", func(t *testing.T) {
		for _, size := range []int{0, 1, 64<<10 + 3, 1<<20 + 7} {
			k := key(t, fmt.Sprintf("obj-%d", size))
			data := random(t, size)
			if _, err := put(ctx, h.Store, k, data, store.PutOptions{}); err != nil {
				t.Fatalf("put %d bytes: %v", size, err)
			}
			got, n := h.Inspect(t, k)
			if n != 1 || !bytes.Equal(got, data) {
				t.Fatalf("size %d: read back %d bytes in %d versions", size, len(got), n)
			}
		}
	})

	t.Run("IfAbsentIsIdempotent", func(t *testing.T) {
		k := key(t, "seg-000001.wav.age")
		first := random(t, 1000)
		if _, err := put(ctx, h.Store, k, first, store.PutOptions{IfAbsent: true}); err != nil {
			t.Fatalf("first put: %v", err)
		}
		for i, data := range [][]byte{first, random(t, 10)} {
			_, err := put(ctx, h.Store, k, data, store.PutOptions{IfAbsent: true})
			if !errors.Is(err, store.ErrExists) {
				t.Fatalf("re-put %d: got %v, want ErrExists", i, err)
			}
		}
		got, n := h.Inspect(t, k)
		if n != 1 || !bytes.Equal(got, first) {
			t.Fatalf("after re-puts: %d versions, content equal %v", n, bytes.Equal(got, first))
		}
	})

	t.Run("PlainPutReplaces", func(t *testing.T) {
		k := key(t, "status.json")
		a, b := []byte(`{"v":1}`), []byte(`{"v":2}`)
		for _, d := range [][]byte{a, b} {
			if _, err := put(ctx, h.Store, k, d, store.PutOptions{ContentType: "application/json"}); err != nil {
				t.Fatal(err)
			}
		}
		got, n := h.Inspect(t, k)
		if !bytes.Equal(got, b) || n != 2 {
			t.Fatalf("got %q in %d versions, want %q in 2 (versioned bucket)", got, n, b)
		}
	})

	t.Run("ChecksumMismatchRefused", func(t *testing.T) {
		k := key(t, "bad")
		data := random(t, 5000)
		wrong := sha256.Sum256([]byte("something else"))
		_, err := h.Store.Put(ctx, k, bytes.NewReader(data), int64(len(data)), wrong, store.PutOptions{IfAbsent: true})
		if err == nil || store.KindOf(err) != store.Checksum {
			t.Fatalf("put with a wrong sha256: got %v (kind %v), want a checksum error", err, store.KindOf(err))
		}
		if _, n := h.Inspect(t, k); n != 0 {
			t.Fatalf("object stored despite checksum mismatch (%d versions)", n)
		}
		// The refused put must not block the correct one.
		if _, err := put(ctx, h.Store, k, data, store.PutOptions{IfAbsent: true}); err != nil {
			t.Fatalf("put after refused put: %v", err)
		}
	})

	t.Run("ConcurrentIfAbsent", func(t *testing.T) {
		k := key(t, "race")
		data := random(t, 20000)
		var wg sync.WaitGroup
		var mu sync.Mutex
		created, exists := 0, 0
		for i := 0; i < 6; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := put(ctx, h.Store, k, data, store.PutOptions{IfAbsent: true})
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					created++
				case errors.Is(err, store.ErrExists):
					exists++
				default:
					t.Errorf("concurrent put: %v", err)
				}
			}()
		}
		wg.Wait()
		if _, n := h.Inspect(t, k); n != 1 || created < 1 {
			t.Fatalf("concurrent IfAbsent puts: %d created, %d exists, %d versions; want exactly one version", created, exists, n)
		}
	})

	t.Run("ServerTime", func(t *testing.T) {
		res, err := put(ctx, h.Store, key(t, "t"), []byte("x"), store.PutOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if res.ServerTime.IsZero() || res.LocalTime.IsZero() {
			t.Fatalf("no server time: %+v", res)
		}
		if d := res.LocalTime.Sub(res.ServerTime); d < -5*time.Second || d > 5*time.Second {
			t.Fatalf("server time %v far from local %v", res.ServerTime, res.LocalTime)
		}
		_, err = put(ctx, h.Store, key(t, "t"), []byte("x"), store.PutOptions{IfAbsent: true})
		if !errors.Is(err, store.ErrExists) {
			t.Fatalf("want ErrExists, got %v", err)
		}
	})

	t.Run("CancelledIsTemporary", func(t *testing.T) {
		c, cancel := context.WithCancel(ctx)
		cancel()
		_, err := put(c, h.Store, key(t, "c"), []byte("x"), store.PutOptions{IfAbsent: true})
		if err == nil || store.KindOf(err) != store.Temporary || errors.Is(err, store.ErrExists) {
			t.Fatalf("cancelled put: %v (kind %v), want a temporary error", err, store.KindOf(err))
		}
	})

	t.Run("DeniedIsPermanent", func(t *testing.T) {
		if h.Denied == nil {
			t.Skip("harness has no denied store")
		}
		_, err := put(ctx, h.Denied, key(t, "d"), []byte("x"), store.PutOptions{IfAbsent: true})
		if !store.IsPermanent(err) || errors.Is(err, store.ErrExists) {
			t.Fatalf("denied put: %v (kind %v), want permanent", err, store.KindOf(err))
		}
	})
}

func put(ctx context.Context, s store.Store, key string, data []byte, opts store.PutOptions) (store.PutResult, error) {
	return s.Put(ctx, key, bytes.NewReader(data), int64(len(data)), sha256.Sum256(data), opts)
}

func random(t *testing.T, n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}
