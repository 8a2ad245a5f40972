package upload

import (
	"context"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"roomkiosk/sync/store/memstore"
)

func TestMaintenanceLogUpload(t *testing.T) {
	spool, logDir := t.TempDir(), t.TempDir()
	mem := memstore.New()
	var now atomic.Int64
	now.Store(time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC).UnixNano())
	clock := func() time.Time { return time.Unix(0, now.Load()) }
	write := func(name, s string, appendTo bool) {
		flag := os.O_CREATE | os.O_WRONLY | os.O_TRUNC
		if appendTo {
			flag = os.O_CREATE | os.O_WRONLY | os.O_APPEND
		}
		f, err := os.OpenFile(filepath.Join(logDir, name), flag, 0o640)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if _, err := f.WriteString(s); err != nil {
			t.Fatal(err)
		}
	}
	yesterday := "{\"kind\":\"run\"}\n{\"kind\":\"fault\"}\n"
	write("2026-11-26.jsonl", yesterday, false)
	write("2026-11-27.jsonl", "{\"kind\":\"run\"}\n{\"kind\":\"no", false) // a line being written
	write("notes.txt", "ignored", false)

	u := newTestUploader(t, testConfig(), spool, logDir, WithStore(mem), WithClock(clock))
	if m := u.Metrics(); m.QueueObjects != 1 {
		t.Errorf("closed day not counted as waiting: %+v", m)
	}
	drain := func() {
		t.Helper()
		if err := u.drain(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	drain()
	if b, _ := mem.Get("rooms/101/checks/2026/11/2026-11-26.jsonl"); string(b) != yesterday {
		t.Errorf("closed day: %q", b)
	}
	if b, _ := mem.Get("rooms/101/checks/2026/11/2026-11-27.upto-15.jsonl"); string(b) != "{\"kind\":\"run\"}\n" {
		t.Errorf("today's snapshot (whole lines only): %q (keys %v)", b, mem.Keys())
	}
	if m := u.Metrics(); m.QueueObjects != 0 {
		t.Errorf("queue after upload: %+v", m)
	}

	// Today grows: no new snapshot before 30 minutes, then one.
	write("2026-11-27.jsonl", "\"}\n", true)
	now.Add(int64(10 * time.Minute))
	drain()
	if n := len(mem.Keys()); n != 2 {
		t.Errorf("snapshot too early: %v", mem.Keys())
	}
	now.Add(int64(25 * time.Minute))
	drain()
	if _, ok := mem.Get("rooms/101/checks/2026/11/2026-11-27.upto-29.jsonl"); !ok {
		t.Errorf("no second snapshot: %v", mem.Keys())
	}

	// A restart remembers what was sent; the next day closes today's file.
	u2 := newTestUploader(t, testConfig(), spool, logDir, WithStore(mem), WithClock(clock))
	now.Add(int64(24 * time.Hour))
	if err := u2.drain(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, ok := mem.Get("rooms/101/checks/2026/11/2026-11-27.jsonl"); !ok {
		t.Errorf("closed day not put whole: %v", mem.Keys())
	}
	for _, k := range mem.Keys() {
		if mem.Versions(k) != 1 {
			t.Errorf("%s: %d versions", k, mem.Versions(k))
		}
	}
	if len(mem.Keys()) != 4 {
		t.Errorf("keys %v", mem.Keys())
	}
}
