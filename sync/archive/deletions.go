package archive

import (
	"bytes"
	"context"
	"encoding/json"
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
			b, err := a.get(ctx, obj.Key, 64<<10)
			if err != nil {
				dr.Error = fmt.Sprintf("read: %v", err)
				out = append(out, dr)
				continue
			}
			d, err := layout.ParseDeletion(b)
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

// DeletionOutcome is what ApplyDeletions did with one request.
type DeletionOutcome struct {
	DeletionRequest
	Removed []ObjectVersion `json:"removed"`
	Result  string          `json:"result"` // "ok" or the error
}

// Tombstone is the record ApplyDeletions leaves for a deleted session: that
// the session existed and that its audio was removed at the participants'
// request (declared by the contract, sync/layout).
type Tombstone = layout.Tombstone

// keptOnDeletion says whether a session object survives a deletion: the
// summary (no audio, no personal data: times, counts, the rating) and the
// tombstone, so that the archive still lists the session as deleted.
func keptOnDeletion(key string) bool {
	k, err := layout.Parse(key)
	return err == nil && (k.Kind == layout.KindSummary || k.Kind == layout.KindTombstone)
}

// RemovedOnDeletion returns the versions a deletion removes: all but the
// summary's and the tombstone's.
func RemovedOnDeletion(vs []ObjectVersion) []ObjectVersion {
	var out []ObjectVersion
	for _, v := range vs {
		if !keptOnDeletion(v.Key) {
			out = append(out, v)
		}
	}
	return out
}

// putTombstone writes deleted.json in the session's folder: the summary's
// if there is one, else that of the removed objects, else the id's day.
func (a *Archive) putTombstone(ctx context.Context, r DeletionRequest, all []ObjectVersion, removed int) error {
	day := time.Time{}
	for _, v := range all {
		if k, err := layout.Parse(v.Key); err == nil && k.Kind.InSession() && (day.IsZero() || k.Kind == layout.KindSummary) {
			day = k.Day
		}
	}
	if day.IsZero() {
		var err error
		if day, err = layout.SessionStart(r.Request.SessionID); err != nil {
			return err
		}
	}
	key := layout.TombstoneKey(r.Room, day, r.Request.SessionID)
	b, err := json.MarshalIndent(Tombstone{Version: layout.TombstoneVersion, SessionID: r.Request.SessionID, RoomID: r.Room,
		RequestedAt: r.Request.RequestedAt, AppliedAt: time.Now().UTC(), Removed: removed}, "", "  ")
	if err != nil {
		return err
	}
	_, err = a.Client.PutObject(ctx, a.Bucket, key, bytes.NewReader(b), int64(len(b)),
		minio.PutObjectOptions{ContentType: "application/json", SendContentMd5: true})
	if err != nil {
		return fmt.Errorf("put %s: %w", key, err)
	}
	return nil
}

// ApplyDeletions carries out every valid deletion request: it removes every
// version of the session's objects but its summary.json (which holds no
// audio and no personal data), leaves a deleted.json (Tombstone) beside it,
// then calls audit (which must record the
// outcome durably), and only then removes the request itself, so a failure
// anywhere leaves the request to be applied again. Invalid requests are
// reported, audited and left in place. The error is the first failure.
func (a *Archive) ApplyDeletions(ctx context.Context, audit func(DeletionOutcome) error) ([]DeletionOutcome, error) {
	reqs, err := a.DeletionRequests(ctx)
	if err != nil {
		return nil, err
	}
	var out []DeletionOutcome
	var first error
	fail := func(o *DeletionOutcome, err error) {
		o.Result = err.Error()
		if first == nil {
			first = fmt.Errorf("deletion request %s: %w", o.Key, err)
		}
	}
	for _, r := range reqs {
		o := DeletionOutcome{DeletionRequest: r, Result: "ok"}
		if r.Error != "" {
			fail(&o, fmt.Errorf("%s", r.Error))
			if err := audit(o); err != nil {
				fail(&o, err)
			}
			out = append(out, o)
			continue
		}
		all, err := a.SessionVersions(ctx, r.Room, r.Request.SessionID)
		if err == nil {
			o.Removed, err = a.RemoveVersions(ctx, RemovedOnDeletion(all))
		}
		if err == nil {
			err = a.putTombstone(ctx, r, all, len(o.Removed))
		}
		if err != nil {
			fail(&o, err)
		}
		if aerr := audit(o); aerr != nil {
			fail(&o, aerr)
			out = append(out, o)
			continue
		}
		if err == nil {
			rv, err := a.KeyVersions(ctx, r.Key)
			if err == nil {
				_, err = a.RemoveVersions(ctx, rv)
			}
			if err != nil {
				fail(&o, fmt.Errorf("session removed and audited, but the request stays: %w", err))
			}
		}
		out = append(out, o)
	}
	return out, first
}
