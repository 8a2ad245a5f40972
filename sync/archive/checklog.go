package archive

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"time"

	"github.com/minio/minio-go/v7"

	"roomkiosk/kiosk/room"
)

// LogLine is one line of a room's maintenance log as the check runner
// writes it on the device (hardware/checks.Entry; roomctl may not link the
// hardware packages, so the reader has its own copy of the record). It never
// holds client information.
type LogLine struct {
	At        time.Time          `json:"at"`
	Kind      string             `json:"kind"` // run, fault, recovery, change, override, note
	Reason    string             `json:"reason,omitempty"`
	Check     string             `json:"check,omitempty"`
	State     room.CheckState    `json:"state,omitempty"`
	From      room.CheckState    `json:"from,omitempty"`
	Value     string             `json:"value,omitempty"`
	Threshold string             `json:"threshold,omitempty"`
	Hint      string             `json:"hint,omitempty"`
	Required  bool               `json:"required,omitempty"`
	Results   []room.CheckResult `json:"results,omitempty"`
	Session   string             `json:"session,omitempty"`
	Counselor string             `json:"counselor,omitempty"`
	Note      string             `json:"note,omitempty"`
}

// checkLogRe matches the uploader's keys under rooms/<room>/checks/: a whole
// closed day, or the first <n> bytes of a day (today's snapshots).
var checkLogRe = regexp.MustCompile(`^([0-9]{4})/([0-9]{2})/([0-9]{4}-[0-9]{2}-[0-9]{2})(?:\.upto-([1-9][0-9]{0,15}))?\.jsonl$`)

// maxLogObject bounds one log object read whole (the uploader refuses to
// send a day larger than 64 MiB).
const maxLogObject = 64 << 20

// CheckLog returns the lines of room's uploaded maintenance log with since
// <= At < until, oldest first. For each day it reads the whole-day object if
// there is one, else the largest snapshot (each snapshot holds the first
// bytes of the day, so the largest holds every smaller one). Malformed
// lines (a device bug, or a hostile device) are skipped and counted.
func (a *Archive) CheckLog(ctx context.Context, roomID string, since, until time.Time) (lines []LogLine, skipped int, err error) {
	prefix := RoomsPrefix + roomID + "/checks/"
	opts := minio.ListObjectsOptions{Prefix: prefix, Recursive: true}
	if !since.IsZero() {
		// Keys sort by day: every key of since's day sorts after this.
		opts.StartAfter = prefix + since.UTC().Format("2006/01/2006-01-02")
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
		m := checkLogRe.FindStringSubmatch(obj.Key[len(prefix):])
		if m == nil || m[3][:4] != m[1] || m[3][5:7] != m[2] {
			continue
		}
		d, err := time.Parse(time.DateOnly, m[3])
		if err != nil {
			continue
		}
		if !until.IsZero() && !d.Before(until.UTC()) {
			break // every later key is a later day
		}
		cur, seen := days[m[3]]
		var upto int64
		if m[4] != "" {
			if upto, err = strconv.ParseInt(m[4], 10, 64); err != nil {
				continue
			}
		}
		switch {
		case !seen:
			days[m[3]] = day{obj.Key, upto}
		case cur.upto == 0:
			// The whole day wins over any snapshot.
		case upto == 0 || upto > cur.upto:
			days[m[3]] = day{obj.Key, upto}
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

// RoomStatus reads one room's status.json, as Statuses does for each room.
func (a *Archive) RoomStatus(ctx context.Context, roomID string, now time.Time) RoomStatus {
	return a.roomStatus(ctx, roomID, now)
}
