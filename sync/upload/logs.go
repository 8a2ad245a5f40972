package upload

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"time"

	"roomkiosk/internal/durable"
	"roomkiosk/sync/layout"
	"roomkiosk/sync/store"
)

// The maintenance log (checks.log_dir/YYYY-MM-DD.jsonl, UTC days, appended
// by the check runner) goes to rooms/<room>/checks/YYYY/MM/:
//
//   - a closed day (before today, UTC) is put whole as YYYY-MM-DD.jsonl;
//   - today's file is put at most every logSnapshotEvery, when it grew, as
//     YYYY-MM-DD.upto-<bytes>.jsonl holding its first <bytes> bytes (whole
//     lines only). The key changes with the size, so every put is a new,
//     idempotent key, and an admin reads the whole day or the largest
//     snapshot;
//   - lines added to a day after its whole upload (clock set back) go up as
//     a further upto- snapshot.
//
// Every key is new (If-None-Match): the log is never re-put, so a device can
// add to it but an admin reads what it first wrote. The files stay where
// they are (they are the hardware side's log); what was sent is remembered
// in <spool>/upload-state/checks-log.json.
const (
	logStateFile     = "checks-log.json"
	logSnapshotEvery = 30 * time.Minute
	logMaxBytes      = 64 << 20 // a day's log is kilobytes; refuse to load a runaway file whole
)

type logState struct {
	Sent         map[string]int64 `json:"sent"`  // file name -> bytes confirmed
	Whole        map[string]bool  `json:"whole"` // closed day put under its final key
	LastSnapshot time.Time        `json:"last_snapshot"`
}

func loadLogState(path string) logState {
	s := logState{Sent: map[string]int64{}, Whole: map[string]bool{}}
	b, err := os.ReadFile(path)
	if err != nil {
		return s
	}
	if json.Unmarshal(b, &s) != nil {
		// A torn state file only costs a re-upload: keys are idempotent.
		return logState{Sent: map[string]int64{}, Whole: map[string]bool{}}
	}
	if s.Sent == nil {
		s.Sent = map[string]int64{}
	}
	if s.Whole == nil {
		s.Whole = map[string]bool{}
	}
	return s
}

func (u *Uploader) logStatePath() string { return filepath.Join(u.sp.StateDir(), logStateFile) }

type logFile struct {
	name string
	size int64
}

func (u *Uploader) listLogs() []logFile {
	if u.logDir == "" {
		return nil
	}
	ents, err := os.ReadDir(u.logDir)
	if err != nil {
		return nil
	}
	var out []logFile
	for _, e := range ents {
		if e.IsDir() {
			continue
		}
		if _, ok := layout.ParseLogFileName(e.Name()); !ok {
			continue
		}
		fi, err := e.Info()
		if err != nil {
			continue
		}
		out = append(out, logFile{name: e.Name(), size: fi.Size()})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

// pendingLogs counts closed days not yet put whole (for the queue depth).
func (u *Uploader) pendingLogs() (n int, bytes int64) {
	today := u.now().UTC().Format("2006-01-02") + ".jsonl"
	u.mu.Lock()
	defer u.mu.Unlock()
	for _, f := range u.listLogs() {
		if f.name < today && !u.logs.Whole[f.name] {
			n++
			bytes += f.size
		}
	}
	return n, bytes
}

func (u *Uploader) uploadLogs(ctx context.Context) (int, error) {
	now := u.now()
	today := now.UTC().Format("2006-01-02") + ".jsonl"
	n := 0
	for _, f := range u.listLogs() {
		u.mu.Lock()
		whole, sent, last := u.logs.Whole[f.name], u.logs.Sent[f.name], u.logs.LastSnapshot
		u.mu.Unlock()
		closed := f.name < today
		var final bool
		switch {
		case closed && !whole:
			final = true
		case f.size > sent && (closed || now.Sub(last) >= logSnapshotEvery):
		default:
			continue
		}
		data, err := readWholeLines(filepath.Join(u.logDir, f.name))
		if err != nil {
			// A local problem with one file must not hold up the queue.
			u.log.Warn().Err(err).Msg("maintenance log not uploaded")
			continue
		}
		if !final && int64(len(data)) <= sent {
			continue // only a torn last line was added
		}
		day, _ := layout.ParseLogFileName(f.name)
		key := layout.LogDayKey(u.room, day)
		if !final {
			key = layout.LogSnapshotKey(u.room, day, int64(len(data)))
		}
		sum := sha256.Sum256(data)
		if err := u.put(ctx, key, bytes.NewReader(data), int64(len(data)), sum, store.PutOptions{IfAbsent: true, ContentType: "application/x-ndjson"}); err != nil {
			return n, err
		}
		n++
		u.mu.Lock()
		u.logs.Sent[f.name] = int64(len(data))
		if final {
			u.logs.Whole[f.name] = true
		} else {
			u.logs.LastSnapshot = now
		}
		b, _ := json.Marshal(u.logs)
		u.mu.Unlock()
		if err := durable.WriteFile(u.logStatePath(), b, durable.Options{Perm: 0o640, MkdirPerm: 0o750}); err != nil {
			return n, fmt.Errorf("save log upload state: %w", err)
		}
	}
	return n, nil
}

// readWholeLines reads a log file up to its last newline: a line being
// appended right now (or torn by a power cut) waits for the next round.
func readWholeLines(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read maintenance log: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, logMaxBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read maintenance log %s: %w", filepath.Base(path), err)
	}
	if len(b) > logMaxBytes {
		return nil, errors.New("read maintenance log " + filepath.Base(path) + ": larger than 64 MiB")
	}
	if i := bytes.LastIndexByte(b, '\n'); i >= 0 {
		return b[:i+1], nil
	}
	return b[:0], nil
}
