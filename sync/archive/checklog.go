package archive

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"time"

	"github.com/minio/minio-go/v7"

	"roomkiosk/sync/layout"
)

// LogLine is one line of a room's maintenance log (the contract's record).
type LogLine = layout.LogLine

// maxLogObject bounds one log object read whole (the uploader refuses to
// send a day larger than 64 MiB).
const maxLogObject = 64 << 20

// CheckLog returns the lines of room's uploaded maintenance log with since
// <= At < until, oldest first. For each day it reads the whole-day object if
// there is one, else the largest snapshot (each snapshot holds the first
// bytes of the day, so the largest holds every smaller one). Malformed
// lines (a device bug, or a hostile device) are skipped and counted.
func (a *Archive) CheckLog(ctx context.Context, roomID string, since, until time.Time) (lines []LogLine, skipped int, err error) {
	if err := layout.ValidRoomID(roomID); err != nil {
		return nil, 0, err
	}
	prefix := layout.ChecksPrefix(roomID)
	opts := minio.ListObjectsOptions{Prefix: prefix, Recursive: true}
	if !since.IsZero() {
		// Keys sort by day: every key of since's day sorts after this.
		opts.StartAfter = layout.LogDayPrefix(roomID, since)
	}
	type day struct {
		key  string
		upto int64 // 0: the whole day
	}
	days := map[string]day{}
	ctx2, cancel := context.WithCancel(ctx)
	defer cancel()
	for obj := range a.Client.ListObjects(ctx2, a.Bucket, opts) {
		if obj.Err != nil {
			return nil, 0, fmt.Errorf("list maintenance log of room %s: %w", roomID, obj.Err)
		}
		k, err := layout.Parse(obj.Key)
		if err != nil || k.Room != roomID || (k.Kind != layout.KindLogDay && k.Kind != layout.KindLogSnapshot) {
			continue // not a log object (a hostile device may put anything)
		}
		if !until.IsZero() && !k.Day.Before(until.UTC()) {
			break // every later key is a later day
		}
		name := k.Day.Format(time.DateOnly)
		cur, seen := days[name]
		upto := k.Upto // 0 for the whole day
		switch {
		case !seen:
			days[name] = day{obj.Key, upto}
		case cur.upto == 0:
			// The whole day wins over any snapshot.
		case upto == 0 || upto > cur.upto:
			days[name] = day{obj.Key, upto}
		}
	}
	names := make([]string, 0, len(days))
	for n := range days {
		names = append(names, n)
	}
	sort.Strings(names)
	perDay := make([][]LogLine, len(names))
	bad := make([]int, len(names))
	err = a.forEach(ctx, len(names), func(ctx context.Context, i int) error {
		b, err := a.get(ctx, days[names[i]].key, maxLogObject)
		if err != nil {
			return fmt.Errorf("read maintenance log %s: %w", days[names[i]].key, err)
		}
		sc := bufio.NewScanner(bytes.NewReader(b))
		sc.Buffer(make([]byte, 64<<10), 4<<20)
		for sc.Scan() {
			var l LogLine
			if len(bytes.TrimSpace(sc.Bytes())) == 0 {
				continue
			}
			if json.Unmarshal(sc.Bytes(), &l) != nil || l.At.IsZero() {
				bad[i]++
				continue
			}
			if (!since.IsZero() && l.At.Before(since)) || (!until.IsZero() && !l.At.Before(until)) {
				continue
			}
			perDay[i] = append(perDay[i], l)
		}
		if err := sc.Err(); err != nil {
			return fmt.Errorf("read maintenance log %s: %w", days[names[i]].key, err)
		}
		return nil
	})
	if err != nil {
		return nil, 0, err
	}
	for i := range perDay {
		lines = append(lines, perDay[i]...)
		skipped += bad[i]
	}
	sort.SliceStable(lines, func(i, j int) bool { return lines[i].At.Before(lines[j].At) })
	return lines, skipped, nil
}

// RoomStatus reads one room's status.json and counts its tampered
// sessions, as Statuses does for each room.
func (a *Archive) RoomStatus(ctx context.Context, roomID string, now time.Time) (RoomStatus, error) {
	row := a.roomStatus(ctx, roomID, now)
	n, err := a.tamperedSessions(ctx, roomID)
	if err != nil {
		return row, err
	}
	row.Tampered = n
	return row, nil
}
