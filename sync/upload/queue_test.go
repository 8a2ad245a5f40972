package upload

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"roomkiosk/internal/room"
	"roomkiosk/sync/store"
	"roomkiosk/sync/store/memstore"
)

func TestDrainOrderAndRemoval(t *testing.T) {
	spool := t.TempDir()
	mem := memstore.New()
	var mu sync.Mutex
	var order []string
	u := newTestUploader(t, testConfig(), spool, "", WithStore(mem))
	u.afterPut = func(key string) { mu.Lock(); order = append(order, key); mu.Unlock() }

	newer := writeSession(t, spool, time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC), 3, 1000)
	older := writeSession(t, spool, time.Date(2026, 11, 26, 23, 59, 0, 0, time.UTC), 2, 1000)
	// A session still being recorded: a .part and no manifest.
	rec := filepath.Join(spool, sessionsDir, "20261127T100000Z-abcdef")
	if err := os.MkdirAll(rec, 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(rec, "seg-000001.wav.age.part"), []byte("x"), 0o640); err != nil {
		t.Fatal(err)
	}
	del := writeDeletion(t, spool, "20261120T100000Z-aaaaaa")

	if err := u.drain(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, s := range []testSession{older, newer} {
		for k, want := range s.objects {
			got, ok := mem.Get(k)
			if !ok || !bytes.Equal(got, want) || mem.Versions(k) != 1 {
				t.Errorf("%s: present %v, equal %v, versions %d", k, ok, bytes.Equal(got, want), mem.Versions(k))
			}
		}
		if _, err := os.Stat(s.dir); !os.IsNotExist(err) {
			t.Errorf("session %s still in the spool after upload", s.id)
		}
	}
	if got, _ := mem.Get("rooms/101/deletions/20261120T100000Z-aaaaaa.json"); !bytes.Equal(got, del) {
		t.Errorf("deletion request not uploaded as is: %q", got)
	}
	if _, err := os.Stat(filepath.Join(rec, "seg-000001.wav.age.part")); err != nil {
		t.Errorf("session being recorded was touched: %v", err)
	}
	// Deletion first; each session's manifest after all its segments; the
	// older session before the newer.
	pos := map[string]int{}
	for i, k := range order {
		pos[k] = i
	}
	if pos["rooms/101/deletions/20261120T100000Z-aaaaaa.json"] != 0 {
		t.Errorf("deletion request not first: %v", order)
	}
	for _, s := range []testSession{older, newer} {
		mp := pos[s.prefix+"manifest.json"]
		for k := range s.objects {
			if !strings.HasSuffix(k, "manifest.json") && pos[k] > mp {
				t.Errorf("%s put after its manifest", k)
			}
		}
	}
	if pos[older.prefix+"manifest.json"] > pos[newer.prefix+"seg-000001.wav.age"] {
		t.Errorf("newer session started before the older one finished: %v", order)
	}
	if !strings.HasPrefix(older.prefix, "rooms/101/sessions/2026/11/26/") {
		t.Errorf("key date not from the manifest's UTC start: %s", older.prefix)
	}
}

func TestChecksumMismatchQuarantines(t *testing.T) {
	spool := t.TempDir()
	mem := memstore.New()
	u := newTestUploader(t, testConfig(), spool, "", WithStore(mem))
	bad := writeSession(t, spool, time.Now().Add(-time.Hour), 3, 500)
	good := writeSession(t, spool, time.Now(), 1, 500)
	// Flip one byte of the second segment.
	p := filepath.Join(bad.dir, "seg-000002.wav.age")
	b, _ := os.ReadFile(p)
	b[10] ^= 1
	if err := os.WriteFile(p, b, 0o640); err != nil {
		t.Fatal(err)
	}
	if err := u.drain(context.Background()); err != nil {
		t.Fatalf("a quarantined session must not stop the queue: %v", err)
	}
	if _, ok := mem.Get(bad.prefix + "manifest.json"); ok {
		t.Error("manifest of a corrupted session was uploaded")
	}
	if _, ok := mem.Get(bad.prefix + "seg-000002.wav.age"); ok {
		t.Error("corrupted segment was uploaded")
	}
	reason, err := os.ReadFile(filepath.Join(spool, quarantineDir, bad.id, "quarantine-reason.txt"))
	if err != nil || !strings.Contains(string(reason), "seg-000002.wav.age does not match the manifest") {
		t.Errorf("quarantine reason %q, %v", reason, err)
	}
	for k := range good.objects {
		if _, ok := mem.Get(k); !ok {
			t.Errorf("good session's %s not uploaded", k)
		}
	}
	// Not retried forever: a second drain puts nothing more.
	n := mem.Puts()
	if err := u.drain(context.Background()); err != nil {
		t.Fatal(err)
	}
	if mem.Puts() != n {
		t.Errorf("quarantined session retried")
	}
	r := u.Checks()[2].Run(context.Background())
	if r.Name != CheckBacklog || r.State != room.CheckAbnormal || !strings.Contains(r.Value, "1 quarantined") {
		t.Errorf("backlog check: %+v", r)
	}
}

func TestBadManifestAndDeletionQuarantined(t *testing.T) {
	spool := t.TempDir()
	mem := memstore.New()
	u := newTestUploader(t, testConfig(), spool, "", WithStore(mem))
	dir := filepath.Join(spool, sessionsDir, "20261127T100000Z-abcdef")
	_ = os.MkdirAll(dir, 0o750)
	_ = os.WriteFile(filepath.Join(dir, "manifest.json"), []byte(`{"version":1,`), 0o640)
	_ = os.WriteFile(filepath.Join(spool, deletionsDir, "x.json"), []byte(`{}`), 0o640)
	if err := u.drain(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(mem.Keys()) != 0 {
		t.Errorf("uploaded %v", mem.Keys())
	}
	if m := u.Metrics(); m.Quarantined != 2 || m.QueueObjects != 0 {
		t.Errorf("metrics %+v", m)
	}
}

func TestKeepUploaded(t *testing.T) {
	spool := t.TempDir()
	cfg := testConfig()
	cfg.KeepUploaded = room.Duration{Duration: time.Hour}
	var now atomic.Int64
	now.Store(time.Now().UnixNano())
	u := newTestUploader(t, cfg, spool, "", WithStore(memstore.New()), WithClock(func() time.Time { return time.Unix(0, now.Load()) }))
	s := writeSession(t, spool, time.Now(), 1, 100)
	if err := u.drain(context.Background()); err != nil {
		t.Fatal(err)
	}
	kept := filepath.Join(spool, uploadedDir, s.id, "seg-000001.wav.age")
	if _, err := os.Stat(kept); err != nil {
		t.Fatalf("uploaded session not kept: %v", err)
	}
	if m := u.Metrics(); m.QueueObjects != 0 {
		t.Errorf("kept session counted as waiting: %+v", m)
	}
	now.Add(int64(2 * time.Hour))
	if err := u.drain(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(spool, uploadedDir, s.id)); !os.IsNotExist(err) {
		t.Errorf("kept session not removed after keep_uploaded")
	}
}

// A put the server stored but whose answer was lost (or a crash right after
// it): the retry finds the key and counts it as done, so there is no
// duplicate and nothing is lost.
func TestLostAnswerIsNotDuplicated(t *testing.T) {
	spool := t.TempDir()
	mem := memstore.New()
	s := writeSession(t, spool, time.Now(), 4, 300)
	lose := map[string]bool{s.prefix + "seg-000002.wav.age": true, s.prefix + "manifest.json": true}
	var mu sync.Mutex
	u := newTestUploader(t, testConfig(), spool, "", WithStore(lossy{mem, func(key string) bool {
		mu.Lock()
		defer mu.Unlock()
		l := lose[key]
		delete(lose, key)
		return l
	}}))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan struct{})
	go func() { u.Run(ctx); close(done) }()
	waitFor(t, "session uploaded", 10*time.Second, func() bool { return spoolEmpty(t, spool) })
	cancel()
	<-done
	for k, want := range s.objects {
		got, _ := mem.Get(k)
		if mem.Versions(k) != 1 || !bytes.Equal(got, want) {
			t.Errorf("%s: %d versions", k, mem.Versions(k))
		}
	}
}

// lossy stores the object, then reports a network error for chosen keys.
type lossy struct {
	*memstore.Store
	lose func(key string) bool
}

func (l lossy) Put(ctx context.Context, key string, body io.ReadSeeker, size int64, sum [32]byte, opts store.PutOptions) (store.PutResult, error) {
	res, err := l.Store.Put(ctx, key, body, size, sum, opts)
	if err == nil && l.lose(key) {
		return res, &store.Error{Key: key, Kind: store.Temporary, Err: errors.New("connection reset by peer")}
	}
	return res, err
}

// A crash right after the manifest's put, before the local removal: the next
// run finishes without a duplicate.
func TestCrashAfterManifestPut(t *testing.T) {
	spool := t.TempDir()
	mem := memstore.New()
	s := writeSession(t, spool, time.Now(), 3, 300)
	u := newTestUploader(t, testConfig(), spool, "", WithStore(mem))
	u.afterPut = func(key string) {
		if strings.HasSuffix(key, "manifest.json") {
			panic("crash")
		}
	}
	func() {
		defer func() { _ = recover() }()
		_ = u.drain(context.Background())
	}()
	if _, err := os.Stat(s.dir); err != nil {
		t.Fatalf("session removed despite the crash: %v", err)
	}
	u2 := newTestUploader(t, testConfig(), spool, "", WithStore(mem))
	if err := u2.drain(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !spoolEmpty(t, spool) {
		t.Fatal("spool not empty after restart")
	}
	for k := range s.objects {
		if mem.Versions(k) != 1 {
			t.Errorf("%s: %d versions", k, mem.Versions(k))
		}
	}
}

func TestTemporaryAndPermanentErrors(t *testing.T) {
	tests := []struct {
		name      string
		kind      store.Kind
		code      string
		wantState room.CheckState
		maxPuts   int64 // attempts allowed in the window
	}{
		// Temporary: backs off from 20 ms, so a handful of tries in 400 ms.
		{"temporary", store.Temporary, "", room.CheckAbnormal, 12},
		// Permanent: waits about backoff_max (1 s here) between tries.
		{"permanent", store.Permanent, "AccessDenied", room.CheckAbnormal, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			spool := t.TempDir()
			mem := memstore.New()
			var tries atomic.Int64
			mem.FailWith(func(key string) error {
				if strings.Contains(key, "/status.json") {
					return errors.New("status not counted")
				}
				tries.Add(1)
				return &store.Error{Key: key, Code: tc.code, Kind: tc.kind, Err: errors.New("injected")}
			})
			writeSession(t, spool, time.Now(), 1, 100)
			u := newTestUploader(t, testConfig(), spool, "", WithStore(mem))
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() { u.Run(ctx); close(done) }()
			time.Sleep(400 * time.Millisecond)
			u.Wake() // must not cut a backoff short
			u.Wake()
			time.Sleep(100 * time.Millisecond)
			cancel()
			<-done
			n := tries.Load()
			if n < 1 || n > tc.maxPuts {
				t.Errorf("%d tries in 500 ms, want 1..%d", n, tc.maxPuts)
			}
			m := u.Metrics()
			if !m.Failing || m.Permanent != (tc.kind == store.Permanent) || m.QueueObjects != 2 {
				t.Errorf("metrics %+v", m)
			}
			r := u.Checks()[0].Run(context.Background())
			if r.State != tc.wantState || (tc.code != "" && !strings.Contains(r.Value, tc.code)) || r.Hint == "" {
				t.Errorf("upload check %+v", r)
			}
			if st := u.Status(); st.Queue.LastErrorKind != tc.kind.String() {
				t.Errorf("status last_error_kind %q", st.Queue.LastErrorKind)
			}
		})
	}
}
