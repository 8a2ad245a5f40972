// Package memstore is an in-memory store.Store for unit tests. Like the real
// bucket it keeps every version of a key, verifies checksums and honours
// IfAbsent; tests can inject failures and read back what was stored.
package memstore

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"sort"
	"sync"
	"time"

	"roomkiosk/sync/store"
)

// Object is one stored version.
type Object struct {
	Data        []byte
	ContentType string
	At          time.Time
}

// Store is safe for concurrent use.
type Store struct {
	mu       sync.Mutex
	versions map[string][]Object
	fail     func(key string) error
	now      func() time.Time
	puts     int
}

// New returns an empty store.
func New() *Store {
	return &Store{versions: map[string][]Object{}, now: time.Now}
}

// SetClock makes the store report now() as the server's time.
func (s *Store) SetClock(now func() time.Time) {
	s.mu.Lock()
	s.now = now
	s.mu.Unlock()
}

// FailWith makes every following Put call f first; a non-nil error is
// returned instead of storing (use *store.Error to choose its kind). nil
// removes the hook.
func (s *Store) FailWith(f func(key string) error) {
	s.mu.Lock()
	s.fail = f
	s.mu.Unlock()
}

// Put implements store.Store.
func (s *Store) Put(ctx context.Context, key string, body io.ReadSeeker, size int64, sum [32]byte, opts store.PutOptions) (store.PutResult, error) {
	if err := ctx.Err(); err != nil {
		return store.PutResult{}, &store.Error{Key: key, Kind: store.Temporary, Err: err}
	}
	s.mu.Lock()
	fail := s.fail
	s.mu.Unlock()
	if fail != nil {
		if err := fail(key); err != nil {
			return store.PutResult{}, err
		}
	}
	if key == "" {
		return store.PutResult{}, &store.Error{Key: key, Code: "InvalidObjectName", Kind: store.Permanent, Err: errors.New("empty key")}
	}
	data, err := io.ReadAll(io.LimitReader(body, size+1))
	if err != nil {
		return store.PutResult{}, &store.Error{Key: key, Kind: store.Temporary, Err: fmt.Errorf("read body: %w", err)}
	}
	if int64(len(data)) != size {
		return store.PutResult{}, &store.Error{Key: key, Code: "IncompleteBody", Kind: store.Temporary, Err: fmt.Errorf("body has %d bytes, want %d", len(data), size)}
	}
	if sha256.Sum256(data) != sum {
		return store.PutResult{}, &store.Error{Key: key, Code: "BadDigest", Kind: store.Checksum, Err: errors.New("sha256 mismatch")}
	}
	ct := opts.ContentType
	if ct == "" {
		ct = "application/octet-stream"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	res := store.PutResult{ServerTime: now.UTC().Truncate(time.Second), LocalTime: time.Now()}
	if opts.IfAbsent && len(s.versions[key]) > 0 {
		return res, &store.Error{Key: key, Code: "PreconditionFailed", Kind: store.Permanent, Err: store.ErrExists}
	}
	s.versions[key] = append(s.versions[key], Object{Data: data, ContentType: ct, At: now})
	s.puts++
	return res, nil
}

// Get returns the latest version of key.
func (s *Store) Get(key string) ([]byte, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v := s.versions[key]
	if len(v) == 0 {
		return nil, false
	}
	return bytes.Clone(v[len(v)-1].Data), true
}

// Versions returns how many versions key has.
func (s *Store) Versions(key string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.versions[key])
}

// Keys returns every key, sorted.
func (s *Store) Keys() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	keys := make([]string, 0, len(s.versions))
	for k := range s.versions {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Puts returns how many puts stored something.
func (s *Store) Puts() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.puts
}
