package archive

import (
	"context"
	"fmt"
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
	// From the admins' audit records (Provisioned): when the room's keys
	// were last made, whether they were revoked since, and whether its
	// device has written nothing at all yet ("never seen").
	Provisioned time.Time `json:"provisioned,omitzero"`
	Revoked     bool      `json:"revoked,omitempty"`
	NeverSeen   bool      `json:"never_seen,omitempty"`
	// Forged says what the reader refused among the room's reports: status
	// versions dated in the future beyond MaxClockSkew (a device sets a
	// version's date on the pinned MinIO; docs/ARCHIVE-TRUTH.md), and
	// maintenance log days rewritten (CheckLogReport). Empty when none.
	Forged []string `json:"forged,omitempty"`
}

// MaxClockSkew is how far in the future a status or log version's date
// may be before the reader calls it forged: kiosks check their clock
// against the server's before every recorded session (the clock check),
// so a genuine report is never minutes ahead.
const MaxClockSkew = 2 * time.Minute

// maxStatusScan bounds the versions of status.json looked at to find the
// newest one not dated in the future.
const maxStatusScan = 64

// Statuses reads every room's status.json concurrently. A room whose status
// is missing or unreadable gets a row with Error rather than failing the
// whole listing: one broken kiosk must not hide the fleet. The rooms are
// those with anything in the bucket and those the audit records say were
// provisioned: a room set up whose kiosk never reported is listed too,
// "never seen".
func (a *Archive) Statuses(ctx context.Context, now time.Time) ([]RoomStatus, error) {
	rooms, err := a.Rooms(ctx)
	if err != nil {
		return nil, err
	}
	prov, err := a.Provisioned(ctx)
	if err != nil {
		return nil, err
	}
	inBucket := map[string]bool{}
	for _, r := range rooms {
		inBucket[r] = true
	}
	for r := range prov {
		if !inBucket[r] {
			rooms = append(rooms, r)
		}
	}
	rows := make([]RoomStatus, len(rooms))
	err = a.forEach(ctx, len(rooms), func(ctx context.Context, i int) error {
		if !inBucket[rooms[i]] {
			rows[i] = RoomStatus{Room: rooms[i], Stale: true, NeverSeen: true}
			rows[i].setProvisioning(prov)
			return nil
		}
		rows[i] = a.roomStatus(ctx, rooms[i], now)
		rows[i].setProvisioning(prov)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		n, err := a.tamperedSessions(ctx, rooms[i])
		if err != nil {
			return err
		}
		rows[i].Tampered = n
		return a.flagLogs(ctx, &rows[i], now)
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

// roomStatus reads the room's current status: the newest version of
// status.json (versions are listed newest first by their date) that is
// not dated beyond now + MaxClockSkew. A future-dated version would
// otherwise stay "latest" for ever and freeze the room; it is skipped and
// reported in Forged, and the room is stale when its last believable
// report is.
func (a *Archive) roomStatus(ctx context.Context, room string, now time.Time) RoomStatus {
	row := RoomStatus{Room: room, Stale: true}
	key := layout.StatusKey(room)
	lctx, cancel := context.WithCancel(ctx)
	defer cancel() // ends the listing once a version is chosen
	var cur *minio.ObjectInfo
	future, scanned := 0, 0
	var latestFuture time.Time
	for obj := range a.Client.ListObjects(lctx, a.Bucket, minio.ListObjectsOptions{Prefix: key, WithVersions: true}) {
		if obj.Err != nil {
			row.Error = fmt.Sprintf("list versions of %s: %v", key, obj.Err)
			return row
		}
		if obj.Key != key || obj.IsDeleteMarker {
			continue
		}
		if scanned++; scanned > maxStatusScan {
			break
		}
		if obj.LastModified.After(now.Add(MaxClockSkew)) {
			future++
			if obj.LastModified.After(latestFuture) {
				latestFuture = obj.LastModified
			}
			continue
		}
		cur = &obj
		break
	}
	cancel()
	if future > 0 {
		row.Forged = append(row.Forged, fmt.Sprintf("%s: %d version(s) dated in the future (up to %s, beyond the %s clock skew allowed): ignored, a device set that date",
			key, future, latestFuture.UTC().Format(time.RFC3339), MaxClockSkew))
	}
	if cur == nil {
		if future > 0 {
			row.Error = "no status.json dated before now"
		} else {
			row.Error = "no status.json yet"
		}
		return row
	}
	row.LastSeen = cur.LastModified
	row.Stale = layout.Stale(cur.LastModified, now)
	b, err := a.getVersion(ctx, key, cur.VersionID, 1<<20)
	if err != nil {
		row.Error = fmt.Sprintf("read %s: %v", key, err)
		return row
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

func (r *RoomStatus) setProvisioning(prov map[string]Provisioning) {
	if p, ok := prov[r.Room]; ok {
		r.Provisioned, r.Revoked = p.Provisioned, p.IsRevoked()
	}
}
