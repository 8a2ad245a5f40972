package archive

import (
	"context"
	"fmt"
	"io"
	"sort"
	"time"

	"github.com/minio/minio-go/v7"

	"roomkiosk/sync/layout"
)

// RoomStatus is one row of `roomctl status`.
type RoomStatus struct {
	Room     string         `json:"room"`
	Status   *layout.Status `json:"status,omitempty"`   // nil: never reported, or unreadable
	LastSeen time.Time      `json:"last_seen,omitzero"` // the object's LastModified (server clock)
	Stale    bool           `json:"stale"`              // no status for layout.StaleAfter, or none at all
	Failing  []string       `json:"failing,omitempty"`
	Error    string         `json:"error,omitempty"` // why the status could not be read
	// Tampered counts the room's sessions a device wrote over after their
	// upload (roomctl sessions --room names them).
	Tampered int `json:"tampered_sessions"`
	// LegalHolds counts the room's sessions under legal hold.
	LegalHolds int `json:"legal_holds"`
}

// Statuses reads every room's status.json concurrently. A room whose status
// is missing or unreadable gets a row with Error rather than failing the
// whole listing: one broken kiosk must not hide the fleet.
func (a *Archive) Statuses(ctx context.Context, now time.Time) ([]RoomStatus, error) {
	rooms, err := a.Rooms(ctx)
	if err != nil {
		return nil, err
	}
	rows := make([]RoomStatus, len(rooms))
	err = a.forEach(ctx, len(rooms), func(ctx context.Context, i int) error {
		rows[i] = a.roomStatus(ctx, rooms[i], now)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		n, err := a.tamperedSessions(ctx, rooms[i])
		if err != nil {
			return err
		}
		rows[i].Tampered = n
		return nil
	})
	if err != nil {
		return nil, err
	}
	holds, err := a.Holds(ctx)
	if err != nil {
		return nil, err
	}
	for i := range rows {
		for _, h := range holds {
			if h.RoomID == rows[i].Room {
				rows[i].LegalHolds++
			}
		}
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].Room < rows[j].Room })
	return rows, nil
}

// tamperedSessions counts a room's sessions with a key of more than one
// version (a version listing: no object is read).
func (a *Archive) tamperedSessions(ctx context.Context, room string) (int, error) {
	objs, _, err := a.listSessionObjects(ctx, layout.SessionsPrefix(room), "", time.Time{})
	if err != nil {
		return 0, err
	}
	n := 0
	for _, s := range objs {
		if len(s.Tampered()) > 0 {
			n++
		}
	}
	return n, nil
}

func (a *Archive) roomStatus(ctx context.Context, room string, now time.Time) RoomStatus {
	row := RoomStatus{Room: room, Stale: true}
	key := layout.StatusKey(room)
	obj, err := a.Client.GetObject(ctx, a.Bucket, key, minio.GetObjectOptions{})
	if err != nil {
		row.Error = err.Error()
		return row
	}
	defer obj.Close()
	b, err := io.ReadAll(io.LimitReader(obj, 1<<20))
	if err != nil {
		if isNoSuchKey(err) {
			row.Error = "no status.json yet"
		} else {
			row.Error = fmt.Sprintf("read %s: %v", key, err)
		}
		return row
	}
	if info, err := obj.Stat(); err == nil {
		row.LastSeen = info.LastModified
		row.Stale = layout.Stale(info.LastModified, now)
	}
	st, err := layout.ParseStatus(b)
	if err != nil {
		row.Error = fmt.Sprintf("%s: %v", key, err)
		return row
	}
	if st.RoomID != room {
		row.Error = fmt.Sprintf("%s: names room %q", key, st.RoomID)
		return row
	}
	row.Status = st
	row.Failing = st.Failing()
	return row
}
