package archive

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/minio/minio-go/v7"

	"roomkiosk/sync/layout"
)

// A legal hold keeps a session whatever its retention: an S3 legal hold on
// every version of every object of the session (nobody, not even an admin
// with governance bypass, can remove a held version) and a hold record under
// admin/holds/ that listings read. The record goes first and comes off last,
// so a session with any held version always has its record, and disposal
// (which skips sessions with a record) never starts on one.

// HoldOutcome is what SetHold or ClearHold did.
type HoldOutcome struct {
	Room     string          `json:"room"`
	Session  string          `json:"session"`
	Reason   string          `json:"reason"`
	Versions []ObjectVersion `json:"versions"` // versions whose legal hold was set or lifted
	Key      string          `json:"hold_key"`
}

// AuditRecord words the outcome for the audit log (action hold-set or
// hold-clear); result is "ok" or the error.
func (o HoldOutcome) AuditRecord(action string, err error) layout.AuditRecord {
	rec := layout.AuditRecord{Action: action, Room: o.Room, Session: o.Session, Detail: "reason " + o.Reason, Objects: []string{o.Key}}
	for _, v := range o.Versions {
		rec.Objects = append(rec.Objects, v.String())
	}
	if err != nil {
		rec.Result = err.Error()
	}
	return rec
}

// SetHold puts session (in room, or found in any room) under legal hold for
// reason (a code): the hold record first, then an S3 legal hold on every
// version. Run again it completes a hold a failure left half set.
func (a *Archive) SetHold(ctx context.Context, room, session, reason, who string) (HoldOutcome, error) {
	o := HoldOutcome{Session: session, Reason: reason}
	if err := layout.ValidReasonCode(reason); err != nil {
		return o, err
	}
	s, err := a.FindSession(ctx, session, room)
	if err != nil {
		return o, fmt.Errorf("hold %s: %w", session, err)
	}
	o.Room, o.Key = s.Room, layout.HoldKey(s.Room, session)
	if s.State == StateDisposed {
		return o, fmt.Errorf("hold %s: disposed of on %s: nothing left to hold", session, s.DisposedAt.UTC().Format("2006-01-02"))
	}
	host, _ := os.Hostname()
	rec := layout.HoldRecord{Version: layout.HoldVersion, SessionID: session, RoomID: s.Room, Reason: reason, At: time.Now().UTC(), Who: who, Host: host}
	if err := a.putJSON(ctx, o.Key, rec, false); err != nil {
		return o, fmt.Errorf("hold %s: %w", session, err)
	}
	err = a.setLegalHolds(ctx, &o, minio.LegalHoldEnabled)
	return o, err
}

// ClearHold lifts the legal hold of every version of the session, then
// retires the hold record (a delete marker: its versions stay as history).
func (a *Archive) ClearHold(ctx context.Context, room, session, reason string) (HoldOutcome, error) {
	o := HoldOutcome{Room: room, Session: session, Reason: reason}
	if err := layout.ValidReasonCode(reason); err != nil {
		return o, err
	}
	if room == "" {
		held, err := a.heldRooms(ctx, session)
		if err != nil {
			return o, err
		}
		switch len(held) {
		case 0:
			return o, fmt.Errorf("clear hold %s: the session is not held", session)
		case 1:
			o.Room = held[0]
		default:
			return o, fmt.Errorf("clear hold %s: held in rooms %v: name the room", session, held)
		}
	}
	if err := layout.ValidRoomID(o.Room); err != nil {
		return o, err
	}
	o.Key = layout.HoldKey(o.Room, session)
	if _, err := a.Client.StatObject(ctx, a.Bucket, o.Key, minio.StatObjectOptions{}); err != nil {
		if isNoSuchKey(err) {
			return o, fmt.Errorf("clear hold %s: the session is not held in room %s", session, o.Room)
		}
		return o, fmt.Errorf("clear hold %s: %w", session, err)
	}
	if err := a.setLegalHolds(ctx, &o, minio.LegalHoldDisabled); err != nil {
		return o, err
	}
	if err := a.retire(ctx, o.Key); err != nil {
		return o, fmt.Errorf("clear hold %s: legal holds lifted, but the record stays: %w", session, err)
	}
	return o, nil
}

// heldRooms lists the rooms in which session has a hold record.
func (a *Archive) heldRooms(ctx context.Context, session string) ([]string, error) {
	if !layout.ValidSessionID(session) {
		return nil, fmt.Errorf("session %q: not a session id", session)
	}
	var out []string
	for obj := range a.Client.ListObjects(ctx, a.Bucket, minio.ListObjectsOptions{Prefix: layout.HoldsPrefix, Recursive: true}) {
		if obj.Err != nil {
			return nil, fmt.Errorf("list holds: %w", obj.Err)
		}
		if k, err := layout.Parse(obj.Key); err == nil && k.Kind == layout.KindHold && k.Session == session {
			out = append(out, k.Room)
		}
	}
	return out, nil
}

func (a *Archive) setLegalHolds(ctx context.Context, o *HoldOutcome, status minio.LegalHoldStatus) error {
	vs, err := a.sessionVersionInfos(ctx, o.Room, o.Session)
	if err != nil {
		return err
	}
	for _, v := range vs {
		if v.IsDeleteMarker {
			continue // a marker holds no data and takes no hold
		}
		st := status
		if err := a.Client.PutObjectLegalHold(ctx, a.Bucket, v.Key, minio.PutObjectLegalHoldOptions{VersionID: v.VersionID, Status: &st}); err != nil {
			return fmt.Errorf("legal hold %s on %s?versionId=%s: %w", status, v.Key, v.VersionID, err)
		}
		o.Versions = append(o.Versions, ObjectVersion{Key: v.Key, VersionID: v.VersionID})
	}
	return nil
}

// Holds lists the sessions under legal hold, by room/session.
func (a *Archive) Holds(ctx context.Context) (map[string]*layout.HoldRecord, error) {
	l, err := a.readLifecycleOf(ctx, layout.HoldsPrefix)
	if err != nil {
		return nil, err
	}
	return l.holds, nil
}
