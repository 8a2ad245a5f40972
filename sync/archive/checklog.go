package archive

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/minio/minio-go/v7"

	"roomkiosk/sync/layout"
)

// LogLine is one line of a room's maintenance log (the contract's record).
type LogLine = layout.LogLine

// maxLogObject bounds one log object read (the uploader refuses to send a
// day larger than 64 MiB).
const maxLogObject = 64 << 20

// Bounds of one CheckLog read, whatever the bucket holds: a line longer
// than maxLogLine, or holding more than maxLogResults results, is skipped
// as malformed (a genuine run line is a few KiB: one result per check);
// at most maxLogLines lines and maxLogKept bytes of them are kept, then the
// read stops and says so (LogReport.Truncated). A genuine room logs about
// 1,500 lines a day, so 30 days are far inside. The heap stays under 256
// MiB for any range (TestCheckLogBounds: 30 days of 64 MiB each).
const (
	maxLogLine    = 64 << 10
	maxLogResults = 256
	maxLogLines   = 100_000
	maxLogKept    = 32 << 20
	logWorkers    = 4
)

// LogReport is what CheckLogReport read of a room's maintenance log.
type LogReport struct {
	Lines   []LogLine
	Skipped int // malformed lines (a device bug, or a hostile device)
	// Forged names the log objects left out because a device rewrote them
	// (versions that differ: the uploader puts every log key once) or
	// dated them in the future beyond MaxClockSkew, and days dated after
	// today.
	Forged []string
	// Truncated: the range held more than the read's bounds; the lines
	// kept are those of the days read first (oldest first, logWorkers at a
	// time).
	Truncated bool
}

// CheckLog returns the lines of room's uploaded maintenance log with since
// <= At < until, oldest first (CheckLogReport without its report).
func (a *Archive) CheckLog(ctx context.Context, roomID string, since, until time.Time) (lines []LogLine, skipped int, err error) {
	r, err := a.CheckLogReport(ctx, roomID, since, until, time.Now())
	return r.Lines, r.Skipped, err
}

// CheckLogReport reads room's uploaded maintenance log with since <= At <
// until, oldest first. For each day it reads the whole-day object if there
// is one, else the largest snapshot (each snapshot holds the first bytes of
// the day, so the largest holds every smaller one), of the objects that
// are believable: a key whose versions differ (rewritten), a version dated
// after now + MaxClockSkew, or a day after now's are left out and named in
// Forged, and the day falls back to its next object. Malformed lines are
// skipped and counted. Memory is bounded (see maxLogKept).
func (a *Archive) CheckLogReport(ctx context.Context, roomID string, since, until, now time.Time) (LogReport, error) {
	var rep LogReport
	if err := layout.ValidRoomID(roomID); err != nil {
		return rep, err
	}
	names, chosen, forged, err := a.logDays(ctx, roomID, since, until, now)
	if err != nil {
		return rep, err
	}
	rep.Forged = forged

	// Read the days in order, a few at a time, each streamed line by line;
	// the budget is shared, and days past it are not read.
	var mu sync.Mutex
	kept, keptBytes := 0, 0
	take := func(n int) bool {
		mu.Lock()
		defer mu.Unlock()
		if kept+1 > maxLogLines || keptBytes+n > maxLogKept {
			rep.Truncated = true
			return false
		}
		kept++
		keptBytes += n
		return true
	}
	perDay := make([][]LogLine, len(names))
	bad := make([]int, len(names))
	w := &Archive{Client: a.Client, Bucket: a.Bucket, Workers: logWorkers}
	err = w.forEach(ctx, len(names), func(ctx context.Context, i int) error {
		c := chosen[names[i]]
		o, err := a.Client.GetObject(ctx, a.Bucket, c.key, minio.GetObjectOptions{VersionID: c.versionID})
		if err != nil {
			return fmt.Errorf("read maintenance log %s: %w", c.key, err)
		}
		defer o.Close()
		br := bufio.NewReaderSize(io.LimitReader(o, maxLogObject), 64<<10)
		for {
			line, long, err := readLine(br, maxLogLine)
			if len(bytes.TrimSpace(line)) > 0 || long {
				switch l, ok := parseLogLine(line, long); {
				case !ok:
					bad[i]++
				case (!since.IsZero() && l.At.Before(since)) || (!until.IsZero() && !l.At.Before(until)):
				case !take(len(line)):
					return nil
				default:
					perDay[i] = append(perDay[i], l)
				}
			}
			if err == io.EOF {
				return nil
			}
			if err != nil {
				if isNoSuchKey(err) {
					return nil // removed meanwhile (by an admin): nothing to read
				}
				return fmt.Errorf("read maintenance log %s: %w", c.key, err)
			}
		}
	})
	if err != nil {
		return rep, err
	}
	for i := range perDay {
		rep.Lines = append(rep.Lines, perDay[i]...)
		rep.Skipped += bad[i]
	}
	sort.SliceStable(rep.Lines, func(i, j int) bool { return rep.Lines[i].At.Before(rep.Lines[j].At) })
	return rep, nil
}

// logPick is the object a day of the log is read from.
type logPick struct{ key, versionID string }

// logDays lists room's log objects of days in [since, until) with their
// versions (a listing: nothing is read) and chooses each day's object
// among the believable ones (CheckLogReport); forged names the others.
func (a *Archive) logDays(ctx context.Context, roomID string, since, until, now time.Time) (names []string, chosen map[string]logPick, forged []string, err error) {
	prefix := layout.ChecksPrefix(roomID)
	opts := minio.ListObjectsOptions{Prefix: prefix, Recursive: true, WithVersions: true}
	if !since.IsZero() {
		// Keys sort by day: every key of since's day sorts after this.
		opts.StartAfter = layout.LogDayPrefix(roomID, since)
	}
	type object struct {
		key      string
		upto     int64 // 0: the whole day
		versions []version
	}
	days := map[string][]*object{}
	byKey := map[string]*object{}
	ctx2, cancel := context.WithCancel(ctx)
	defer cancel()
	for obj := range a.Client.ListObjects(ctx2, a.Bucket, opts) {
		if obj.Err != nil {
			return nil, nil, nil, fmt.Errorf("list maintenance log of room %s: %w", roomID, obj.Err)
		}
		k, err := layout.Parse(obj.Key)
		if err != nil || k.Room != roomID || (k.Kind != layout.KindLogDay && k.Kind != layout.KindLogSnapshot) {
			continue // not a log object (a hostile device may put anything)
		}
		if !until.IsZero() && !k.Day.Before(until.UTC()) {
			break // every later key is a later day
		}
		o := byKey[obj.Key]
		if o == nil {
			o = &object{key: obj.Key, upto: k.Upto}
			byKey[obj.Key] = o
			name := k.Day.Format(time.DateOnly)
			days[name] = append(days[name], o)
		}
		if !obj.IsDeleteMarker {
			o.versions = append(o.versions, version{ID: obj.VersionID, Modified: obj.LastModified, Size: obj.Size, ETag: obj.ETag})
		}
	}
	cancel()
	// Choose each day's object among the believable ones.
	limit := now.Add(MaxClockSkew)
	chosen = map[string]logPick{}
	for name, objs := range days {
		d, _ := time.Parse(time.DateOnly, name)
		if d.After(limit) {
			forged = append(forged, fmt.Sprintf("maintenance log of %s: a day after today's, a device dated it", name))
			continue
		}
		// The whole day first, then snapshots largest first.
		sort.Slice(objs, func(i, j int) bool {
			if (objs[i].upto == 0) != (objs[j].upto == 0) {
				return objs[i].upto == 0
			}
			return objs[i].upto > objs[j].upto
		})
		for _, o := range objs {
			kv := keyVersions(o.versions)
			switch {
			case len(o.versions) == 0:
				continue
			case len(o.versions) > 1 && !kv.agree():
				forged = append(forged, fmt.Sprintf("%s: %d versions that differ (rewritten after upload): left out", o.key, len(o.versions)))
				continue
			case slices.ContainsFunc(o.versions, func(v version) bool { return v.Modified.After(limit) }):
				forged = append(forged, fmt.Sprintf("%s: a version dated in the future (beyond the %s clock skew allowed): left out", o.key, MaxClockSkew))
				continue
			}
			chosen[name] = logPick{o.key, o.versions[0].ID}
			names = append(names, name)
			break
		}
	}
	sort.Strings(names)
	sort.Strings(forged)
	return names, chosen, forged, nil

}

// readLine reads one line (without its newline) of at most max bytes; a
// longer one is consumed and reported as long, its bytes dropped. The
// error is io.EOF after the last line.
func readLine(br *bufio.Reader, max int) (line []byte, long bool, err error) {
	for {
		frag, err := br.ReadSlice('\n')
		if !long {
			if len(line)+len(frag) > max+1 {
				long, line = true, nil
			} else {
				line = append(line, frag...)
			}
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		return bytes.TrimRight(line, "\r\n"), long, err
	}
}

// parseLogLine parses one log line within the bounds (maxLogLine,
// maxLogResults).
func parseLogLine(line []byte, long bool) (LogLine, bool) {
	var l LogLine
	if long {
		return l, false
	}
	if json.Unmarshal(line, &l) != nil || l.At.IsZero() || len(l.Results) > maxLogResults {
		return LogLine{}, false
	}
	return l, true
}

// RoomStatus reads one room's status.json and counts its tampered
// sessions, as Statuses does for each room.
func (a *Archive) RoomStatus(ctx context.Context, roomID string, now time.Time) (RoomStatus, error) {
	row := a.roomStatus(ctx, roomID, now)
	prov, err := a.Provisioned(ctx)
	if err != nil {
		return row, err
	}
	row.setProvisioning(prov)
	if !row.Provisioned.IsZero() && row.Status == nil && row.LastSeen.IsZero() {
		ctx2, cancel := context.WithCancel(ctx)
		defer cancel()
		row.NeverSeen = true
		for obj := range a.Client.ListObjects(ctx2, a.Bucket, minio.ListObjectsOptions{Prefix: layout.RoomPrefix(roomID), Recursive: true, MaxKeys: 1}) {
			if obj.Err != nil {
				return row, fmt.Errorf("list room %s: %w", roomID, obj.Err)
			}
			row.NeverSeen = false
			break
		}
		if row.NeverSeen {
			row.Error = ""
		}
	}
	n, err := a.tamperedSessions(ctx, roomID)
	if err != nil {
		return row, err
	}
	row.Tampered = n
	return row, a.flagLogs(ctx, &row, now)
}

// logFlagDays is how far back the status of a room looks for forged log
// objects (a listing, nothing read); the room page's log read flags its
// whole range.
const logFlagDays = 7

// flagLogs adds to row.Forged the room's log objects of the last
// logFlagDays that a device rewrote or dated in the future.
func (a *Archive) flagLogs(ctx context.Context, row *RoomStatus, now time.Time) error {
	_, _, forged, err := a.logDays(ctx, row.Room, now.AddDate(0, 0, -logFlagDays), time.Time{}, now)
	if err != nil {
		return err
	}
	row.Forged = append(row.Forged, forged...)
	return nil
}
