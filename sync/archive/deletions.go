package archive

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"

	"roomkiosk/recorder/manifest"
	"roomkiosk/sync/layout"
)

// DeletionRequest is one uploaded request, with where it was found.
type DeletionRequest struct {
	Key     string             `json:"key"`
	Room    string             `json:"room"` // from the key: the device could write only there
	Request *manifest.Deletion `json:"request,omitempty"`
	Error   string             `json:"error,omitempty"` // unreadable or inconsistent request
	// Suspicious: the session's first-version manifest (or summary, for a
	// session that never uploaded audio) records no withdrawal with
	// delete, so a device may have forged the request (Why says what the
	// archive holds). Only an admin naming the session with a confirmation
	// applies it.
	Suspicious bool   `json:"suspicious"`
	Why        string `json:"why,omitempty"`
}

// DeletionRequests lists every room's uploaded deletion requests.
func (a *Archive) DeletionRequests(ctx context.Context) ([]DeletionRequest, error) {
	rooms, err := a.Rooms(ctx)
	if err != nil {
		return nil, err
	}
	var out []DeletionRequest
	for _, room := range rooms {
		prefix := layout.DeletionsPrefix(room)
		for obj := range a.Client.ListObjects(ctx, a.Bucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: true}) {
			if obj.Err != nil {
				return nil, fmt.Errorf("list deletion requests of room %s: %w", room, obj.Err)
			}
			dr := DeletionRequest{Key: obj.Key, Room: room}
			if k, err := layout.Parse(obj.Key); err != nil || k.Kind != layout.KindDeletion {
				if !strings.HasSuffix(obj.Key, ".json") {
					continue // not a request at all
				}
				dr.Error = "not a deletion request key"
				out = append(out, dr)
				continue
			}
			b, rewritten, err := a.readRequest(ctx, obj.Key)
			if err != nil {
				dr.Error = fmt.Sprintf("read: %v", err)
				out = append(out, dr)
				continue
			}
			d, err := layout.ParseDeletion(b)
			if err == nil {
				if err := a.checkRequest(ctx, &dr, d); err != nil {
					return nil, err
				}
				if rewritten != "" {
					dr.Suspicious, dr.Why = true, rewritten
				}
			}
			switch {
			case err != nil:
				dr.Error = err.Error()
			case d.RoomID != room:
				// A device may only write under its own prefix: a request
				// naming another room is refused, not obeyed.
				dr.Error = fmt.Sprintf("names room %q but was uploaded under room %q", d.RoomID, room)
			case obj.Key != DeletionKey(room, d.SessionID):
				dr.Error = fmt.Sprintf("names session %q, not that of its key", d.SessionID)
			default:
				dr.Request = d
			}
			out = append(out, dr)
		}
	}
	return out, nil
}

// readRequest reads a deletion request as the server holds it: every
// written version (at most maxRecordVersions), which a genuine device
// writes once. If they differ, rewritten says so (the request is then
// suspicious whatever it says) and the bytes are those of one of them.
func (a *Archive) readRequest(ctx context.Context, key string) (b []byte, rewritten string, err error) {
	var vs []version
	for obj := range a.Client.ListObjects(ctx, a.Bucket, minio.ListObjectsOptions{Prefix: key, WithVersions: true}) {
		if obj.Err != nil {
			return nil, "", fmt.Errorf("list versions of %s: %w", key, obj.Err)
		}
		if obj.Key == key && !obj.IsDeleteMarker {
			vs = append(vs, version{ID: obj.VersionID, Size: obj.Size})
		}
	}
	if len(vs) == 0 {
		return nil, "", ErrMissing
	}
	if len(vs) > maxRecordVersions {
		vs = vs[:maxRecordVersions]
		rewritten = fmt.Sprintf("the request has more than %d versions: a device rewrote it", maxRecordVersions)
	}
	for i, v := range vs {
		got, err := a.getVersion(ctx, key, v.ID, maxRequestBytes)
		if err != nil {
			return nil, "", err
		}
		if i == 0 {
			b = got
		} else if !bytes.Equal(got, b) && rewritten == "" {
			rewritten = fmt.Sprintf("the request has %d versions that differ: a device rewrote it", len(vs))
		}
	}
	return b, rewritten, nil
}

// ObjectVersion is one stored version (or delete marker) of a key.
type ObjectVersion struct {
	Key       string `json:"key"`
	VersionID string `json:"version_id"`
}

func (v ObjectVersion) String() string { return v.Key + "?versionId=" + v.VersionID }

// SessionVersions lists every version and delete marker under a session's
// folders. The folder's date is the recording's start, which is at or a
// little after the session id's time, so the id's day and the next are
// searched.
func (a *Archive) SessionVersions(ctx context.Context, room, sessionID string) ([]ObjectVersion, error) {
	start, err := layout.SessionStart(sessionID)
	if err != nil {
		return nil, err
	}
	var out []ObjectVersion
	for _, d := range []time.Time{start, start.AddDate(0, 0, 1)} {
		prefix := layout.SessionPrefix(room, d, sessionID)
		for obj := range a.Client.ListObjects(ctx, a.Bucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: true, WithVersions: true}) {
			if obj.Err != nil {
				return nil, fmt.Errorf("list versions under %s: %w", prefix, obj.Err)
			}
			out = append(out, ObjectVersion{Key: obj.Key, VersionID: obj.VersionID})
		}
	}
	return out, nil
}

// KeyVersions lists every version and delete marker of one key.
func (a *Archive) KeyVersions(ctx context.Context, key string) ([]ObjectVersion, error) {
	var out []ObjectVersion
	for obj := range a.Client.ListObjects(ctx, a.Bucket, minio.ListObjectsOptions{Prefix: key, Recursive: true, WithVersions: true}) {
		if obj.Err != nil {
			return nil, fmt.Errorf("list versions of %s: %w", key, obj.Err)
		}
		if obj.Key == key {
			out = append(out, ObjectVersion{Key: obj.Key, VersionID: obj.VersionID})
		}
	}
	return out, nil
}

// RemoveVersions removes each version for good, bypassing governance
// retention (admin credentials need s3:BypassGovernanceRetention). It stops
// at the first failure and returns what was removed.
func (a *Archive) RemoveVersions(ctx context.Context, vs []ObjectVersion) ([]ObjectVersion, error) {
	var done []ObjectVersion
	for _, v := range vs {
		err := a.Client.RemoveObject(ctx, a.Bucket, v.Key, minio.RemoveObjectOptions{VersionID: v.VersionID, GovernanceBypass: true})
		if err != nil {
			return done, fmt.Errorf("remove %s: %w", v, err)
		}
		done = append(done, v)
	}
	return done, nil
}

// checkRequest sets dr.Suspicious from what the server holds of the
// session: a deletion is backed only when nothing of the session is
// disputed (every version of every object agrees, each in its writer's
// folder) and its manifest, or for a session that never uploaded audio its
// summary, records a withdrawal with delete.
func (a *Archive) checkRequest(ctx context.Context, dr *DeletionRequest, d *manifest.Deletion) error {
	s, err := a.sessionFolders(ctx, dr.Room, d.SessionID)
	if err != nil {
		return err
	}
	r, err := a.row(ctx, s)
	if err != nil {
		return err
	}
	ok, why := deletionAuthorized(r)
	dr.Suspicious, dr.Why = !ok, why
	return nil
}

// deletionAuthorized decides whether a deletion request for a session is
// backed by what the device wrote when the session happened, undisputed:
// its manifest records a withdrawal with delete, or, for a session that
// never uploaded audio, its summary does. Anything else, and anything
// disputed, may be a stolen kiosk's forgery.
func deletionAuthorized(r Session) (bool, string) {
	m, sum := r.Manifest, r.summary
	switch {
	case r.Tampered:
		return false, "the session is TAMPERED (" + strings.Join(r.TamperedKeys, ", ") + "): nothing disputed backs a deletion"
	case r.State == "unreadable":
		return false, "its manifest is unreadable: " + r.Error
	case m != nil && m.Withdrawn && m.Deleted:
		return true, "its manifest records a withdrawal with delete"
	case m != nil:
		return false, "its manifest records no withdrawal with delete"
	case sum != nil && sum.Withdrawn && sum.AudioDeleted:
		return true, "its summary records a withdrawal with delete"
	case sum != nil:
		return false, "its summary records no withdrawal with delete"
	}
	return false, "the archive holds no manifest or summary of the session"
}

// DeletionOutcome is what ApplyDeletions did with one request.
type DeletionOutcome struct {
	DeletionRequest
	Removed []ObjectVersion `json:"removed"`
	Result  string          `json:"result"` // "ok", "suspicious: not applied", or the error
}

// AuditRecord is the audit record of the outcome, worded the same by
// `roomctl deletions apply` and the console.
func (o DeletionOutcome) AuditRecord() layout.AuditRecord {
	rec := layout.AuditRecord{Action: "delete-session", Room: o.Room, Result: o.Result, Objects: []string{o.Key}}
	if o.Request != nil {
		rec.Session = o.Request.SessionID
		rec.Detail = "requested " + o.Request.RequestedAt.UTC().Format(time.RFC3339) + ", reason " + o.Request.Reason
		if o.Suspicious {
			rec.Detail += "; SUSPICIOUS: " + o.Why
		}
	}
	for _, v := range o.Removed {
		rec.Objects = append(rec.Objects, v.String())
	}
	return rec
}

// keptOnDeletion says whether a session object survives a deletion: the
// summary (no audio, no personal data: times, counts, the rating), so that
// the archive still lists the session as deleted.
func keptOnDeletion(key string) bool {
	k, err := layout.Parse(key)
	return err == nil && k.Kind == layout.KindSummary
}

// RemovedOnDeletion returns the versions a deletion removes: all but the
// summary's.
func RemovedOnDeletion(vs []ObjectVersion) []ObjectVersion {
	var out []ObjectVersion
	for _, v := range vs {
		if !keptOnDeletion(v.Key) {
			out = append(out, v)
		}
	}
	return out
}

// putTombstone writes the session's tombstone under admin/, where no device
// can write.
func (a *Archive) putTombstone(ctx context.Context, r DeletionRequest, removed int) (string, error) {
	key := layout.TombstoneKey(r.Room, r.Request.SessionID)
	b, err := json.MarshalIndent(Tombstone{Version: layout.TombstoneVersion, SessionID: r.Request.SessionID, RoomID: r.Room,
		RequestedAt: r.Request.RequestedAt, AppliedAt: time.Now().UTC(), Removed: removed}, "", "  ")
	if err != nil {
		return "", err
	}
	_, err = a.Client.PutObject(ctx, a.Bucket, key, bytes.NewReader(b), int64(len(b)),
		minio.PutObjectOptions{ContentType: "application/json", SendContentMd5: true})
	if err != nil {
		return "", fmt.Errorf("put %s: %w", key, err)
	}
	return key, nil
}

// ErrSuspicious is wrapped when deletion requests were left unapplied
// because nothing the device wrote at the time backs them.
var ErrSuspicious = errors.New("suspicious deletion request (not backed by the session's first manifest or summary)")

// ApplyDeletions carries out every deletion request the session's first
// versions back (see DeletionRequest.Suspicious): it removes every version
// of the session's objects but its summary.json (which holds no audio and
// no personal data), leaves a tombstone under admin/, then calls audit
// (which must record the outcome durably), and only then removes the request
// itself, so a failure anywhere leaves the request to be applied again.
// Invalid and suspicious requests are reported, audited and left in place.
// The error is the first failure, else one wrapping ErrSuspicious.
func (a *Archive) ApplyDeletions(ctx context.Context, audit func(DeletionOutcome) error) ([]DeletionOutcome, error) {
	reqs, err := a.DeletionRequests(ctx)
	if err != nil {
		return nil, err
	}
	var out []DeletionOutcome
	var first error
	suspicious := 0
	for _, r := range reqs {
		var o DeletionOutcome
		var err error
		switch {
		case r.Error != "":
			o = DeletionOutcome{DeletionRequest: r, Result: r.Error}
			err = errors.New(r.Error)
			if aerr := audit(o); aerr != nil {
				err = errors.Join(err, aerr)
			}
		case r.Suspicious:
			suspicious++
			o = DeletionOutcome{DeletionRequest: r, Result: "suspicious, not applied: " + r.Why}
			err = audit(o)
		default:
			o, err = a.apply(ctx, r, audit)
		}
		if err != nil {
			if o.Result == "ok" {
				o.Result = err.Error()
			}
			if first == nil {
				first = fmt.Errorf("deletion request %s: %w", o.Key, err)
			}
		}
		out = append(out, o)
	}
	if first == nil && suspicious > 0 {
		first = fmt.Errorf("%d %w(s) left in place: name each with --session and --confirm to apply it", suspicious, ErrSuspicious)
	}
	return out, first
}

// ApplyDeletion carries out room's deletion request for one session, the
// admin having named it. A suspicious request needs confirm.
func (a *Archive) ApplyDeletion(ctx context.Context, room, sessionID string, confirm bool, audit func(DeletionOutcome) error) (DeletionOutcome, error) {
	if err := layout.ValidRoomID(room); err != nil {
		return DeletionOutcome{}, err
	}
	if !layout.ValidSessionID(sessionID) {
		return DeletionOutcome{}, fmt.Errorf("session %q: not a session id", sessionID)
	}
	key := layout.DeletionKey(room, sessionID)
	dr := DeletionRequest{Key: key, Room: room}
	b, rewritten, err := a.readRequest(ctx, key)
	if err != nil {
		if isNoSuchKey(err) || errors.Is(err, ErrMissing) {
			return DeletionOutcome{}, fmt.Errorf("no deletion request for session %s of room %s", sessionID, room)
		}
		return DeletionOutcome{}, fmt.Errorf("read deletion request %s: %w", key, err)
	}
	d, err := layout.ParseDeletion(b)
	if err == nil && (d.RoomID != room || d.SessionID != sessionID) {
		err = fmt.Errorf("names room %q session %q, not those of its key", d.RoomID, d.SessionID)
	}
	if err != nil {
		return DeletionOutcome{DeletionRequest: dr, Result: err.Error()}, fmt.Errorf("deletion request %s: %w", key, err)
	}
	dr.Request = d
	if err := a.checkRequest(ctx, &dr, d); err != nil {
		return DeletionOutcome{}, err
	}
	if rewritten != "" {
		dr.Suspicious, dr.Why = true, rewritten
	}
	if dr.Suspicious && !confirm {
		return DeletionOutcome{DeletionRequest: dr, Result: "suspicious, not applied: " + dr.Why},
			fmt.Errorf("deletion request %s: %w: %s; confirm to apply it anyway", key, ErrSuspicious, dr.Why)
	}
	o, err := a.apply(ctx, dr, audit)
	if err != nil {
		return o, fmt.Errorf("deletion request %s: %w", key, err)
	}
	return o, nil
}

// apply removes a session's objects (all versions but the summary's),
// leaves the tombstone, audits, then removes the request. Governance
// retention is bypassed here only: for a request the session's first
// versions back, or one an admin confirmed by name.
func (a *Archive) apply(ctx context.Context, r DeletionRequest, audit func(DeletionOutcome) error) (DeletionOutcome, error) {
	o := DeletionOutcome{DeletionRequest: r, Result: "ok"}
	if r.Suspicious {
		o.Result = "ok (suspicious request, confirmed by the admin)"
	}
	all, err := a.SessionVersions(ctx, r.Room, r.Request.SessionID)
	if err == nil {
		o.Removed, err = a.RemoveVersions(ctx, RemovedOnDeletion(all))
	}
	if err == nil {
		_, err = a.putTombstone(ctx, r, len(o.Removed))
	}
	if err != nil {
		o.Result = err.Error()
	}
	if aerr := audit(o); aerr != nil {
		return o, errors.Join(err, aerr)
	}
	if err != nil {
		return o, err
	}
	rv, err := a.KeyVersions(ctx, r.Key)
	if err == nil {
		_, err = a.RemoveVersions(ctx, rv)
	}
	if err != nil {
		return o, fmt.Errorf("session removed and audited, but the request stays: %w", err)
	}
	return o, nil
}

// Tombstone is the record ApplyDeletions leaves for a deleted session under
// admin/ (declared by the contract, sync/layout).
type Tombstone = layout.Tombstone
