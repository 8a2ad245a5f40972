package archive

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"

	"roomkiosk/sync/layout"
)

// How long a session is kept is decided by its retention class (the
// practice's policy under admin/, which no device can write), and enforced
// by the server: object retention on every version (GOVERNANCE: only an
// admin with s3:BypassGovernanceRetention can shorten or pass it, and
// disposal never does) and S3 legal holds (which nobody can pass).

// ErrNoPolicy is returned when the bucket has no retention policy yet.
var ErrNoPolicy = errors.New("no retention policy in the bucket (roomctl retention set FILE makes one)")

// RetentionPolicy reads admin/retention.json; ErrNoPolicy if there is none.
func (a *Archive) RetentionPolicy(ctx context.Context) (*layout.RetentionPolicy, error) {
	b, err := a.get(ctx, layout.RetentionPolicyKey, maxRequestBytes)
	if err != nil {
		if isNoSuchKey(err) {
			return nil, ErrNoPolicy
		}
		return nil, fmt.Errorf("read retention policy: %w", err)
	}
	return layout.ParseRetentionPolicy(b)
}

// SetRetentionPolicy stores p. A class already in the policy may be made
// longer, never shorter nor removed: its sessions' retention was decided
// from it.
func (a *Archive) SetRetentionPolicy(ctx context.Context, p *layout.RetentionPolicy) error {
	if p.Version == 0 {
		p.Version = layout.RetentionPolicyVersion
	}
	if err := p.Validate(); err != nil {
		return err
	}
	old, err := a.RetentionPolicy(ctx)
	switch {
	case errors.Is(err, ErrNoPolicy):
	case err != nil:
		return err
	default:
		if s := layout.Shortened(old, p); len(s) > 0 {
			return fmt.Errorf("set retention policy: it would shorten or remove class(es) %s: classes may only grow (add a new class instead)", strings.Join(s, ", "))
		}
	}
	return a.putJSON(ctx, layout.RetentionPolicyKey, p, false)
}

// putJSON writes an admin record; ifAbsent puts it only if the key has no
// current version (If-None-Match), and a PreconditionFailed then wraps
// errExists.
func (a *Archive) putJSON(ctx context.Context, key string, v any, ifAbsent bool) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("put %s: %w", key, err)
	}
	opts := minio.PutObjectOptions{ContentType: "application/json", SendContentMd5: true}
	if ifAbsent {
		opts.SetMatchETagExcept("*")
	}
	if _, err := a.Client.PutObject(ctx, a.Bucket, key, bytes.NewReader(b), int64(len(b)), opts); err != nil {
		if ifAbsent && minio.ToErrorResponse(err).StatusCode == http.StatusPreconditionFailed {
			return fmt.Errorf("put %s: %w", key, errExists)
		}
		return fmt.Errorf("put %s: %w", key, err)
	}
	return nil
}

var errExists = errors.New("exists already")

// retire hides an admin record by a delete marker: its versions stay (the
// bucket's retention keeps them as history) and listings no longer show it.
func (a *Archive) retire(ctx context.Context, key string) error {
	if err := a.Client.RemoveObject(ctx, a.Bucket, key, minio.RemoveObjectOptions{}); err != nil {
		return fmt.Errorf("remove %s: %w", key, err)
	}
	return nil
}

// lifecycle is every hold, extension, erasure request, disposal in progress
// and certificate, keyed by room/session: a few listings for the whole
// bucket, whatever its number of sessions.
type lifecycle struct {
	policy       *layout.RetentionPolicy // nil: none
	holds        map[string]*layout.HoldRecord
	extensions   map[string]*layout.ExtensionRecord
	erasures     map[string]*layout.ErasureRecord
	disposals    map[string]string // intent key
	certificates map[string]certRef
}

type certRef struct {
	Key string
	At  time.Time // the certificate's LastModified: the server's clock
}

// lifecyclePrefixes are every prefix readLifecycle lists.
var lifecyclePrefixes = []string{layout.HoldsPrefix, layout.ExtensionsPrefix, layout.ErasuresPrefix, layout.DisposalsPrefix, layout.CertificatesPrefix}

// readLifecycle lists the lifecycle records; hold, extension and erasure
// records (few) are read.
func (a *Archive) readLifecycle(ctx context.Context) (*lifecycle, error) {
	return a.readLifecycleOf(ctx, lifecyclePrefixes...)
}

// readLifecycleOf reads the policy and the records under prefixes only.
func (a *Archive) readLifecycleOf(ctx context.Context, prefixes ...string) (*lifecycle, error) {
	l := &lifecycle{holds: map[string]*layout.HoldRecord{}, extensions: map[string]*layout.ExtensionRecord{},
		erasures: map[string]*layout.ErasureRecord{}, disposals: map[string]string{}, certificates: map[string]certRef{}}
	p, err := a.RetentionPolicy(ctx)
	switch {
	case errors.Is(err, ErrNoPolicy):
	case err != nil:
		return nil, err
	default:
		l.policy = p
	}
	for _, prefix := range prefixes {
		for obj := range a.Client.ListObjects(ctx, a.Bucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: true}) {
			if obj.Err != nil {
				return nil, fmt.Errorf("list %s: %w", prefix, obj.Err)
			}
			k, err := layout.Parse(obj.Key)
			if err != nil {
				continue
			}
			id := k.Room + "/" + k.Session
			switch k.Kind {
			case layout.KindDisposal:
				l.disposals[id] = obj.Key
				continue
			case layout.KindCertificate:
				l.certificates[id] = certRef{Key: obj.Key, At: obj.LastModified}
				continue
			case layout.KindHold, layout.KindExtension, layout.KindErasure:
			default:
				continue
			}
			b, err := a.get(ctx, obj.Key, maxRequestBytes)
			if err != nil {
				return nil, fmt.Errorf("read %s: %w", obj.Key, err)
			}
			switch k.Kind {
			case layout.KindHold:
				h, err := layout.ParseHold(b)
				if err != nil {
					// An unreadable hold still holds: the S3 holds are on.
					h = &layout.HoldRecord{SessionID: k.Session, RoomID: k.Room, Reason: "unreadable hold record"}
				}
				l.holds[id] = h
			case layout.KindExtension:
				if e, err := layout.ParseExtension(b); err == nil {
					l.extensions[id] = e
				}
			case layout.KindErasure:
				if e, err := layout.ParseErasure(b); err == nil {
					l.erasures[id] = e
				}
			}
		}
	}
	return l, nil
}

// retention decides a session's retention, or nil without a policy.
func (l *lifecycle) retention(room, session, deviceClass string, start time.Time) *layout.Retention {
	if l.policy == nil {
		return nil
	}
	var ext time.Time
	if e := l.extensions[room+"/"+session]; e != nil {
		ext = e.Until
	}
	r := l.policy.SessionRetention(room, start, deviceClass, ext)
	return &r
}

// annotate adds class, hold, erasure and disposal to the rows, and a row
// for each disposed session whose objects are all gone (from its
// certificate), filtered by f.
func (l *lifecycle) annotate(rows []Session, f Filter) []Session {
	seen := map[string]bool{}
	for i := range rows {
		r := &rows[i]
		id := r.Room + "/" + r.Session
		seen[id] = true
		start := r.Started
		if t, err := layout.SessionStart(r.Session); err == nil {
			start = t // the id's time: the earliest the session can have started
		}
		if rt := l.retention(r.Room, r.Session, r.DeviceClass, start); rt != nil {
			r.Class, r.RetainUntil, r.RetentionNote = rt.Class, rt.Until, rt.Note
		}
		if h := l.holds[id]; h != nil {
			r.Held, r.HoldReason = true, h.Reason
		}
		if e := l.erasures[id]; e != nil {
			r.ErasureRequested = e.Reason
		}
		if c, ok := l.certificates[id]; ok {
			// Objects left after a certificate: a device wrote into the
			// disposed session's folder afterwards.
			r.DisposedAt, r.CertificateKey = c.At, c.Key
			r.Warnings = append(r.Warnings, fmt.Sprintf("session %s of room %s was disposed of on %s, yet objects are under its folder again: written after the disposal", r.Session, r.Room, c.At.UTC().Format("2006-01-02")))
		} else if k := l.disposals[id]; k != "" {
			r.State = StateDisposing
			r.Warnings = append(r.Warnings, fmt.Sprintf("session %s of room %s: a disposal was interrupted (%s): roomctl dispose finishes it", r.Session, r.Room, k))
		}
	}
	// Sessions with no object left: disposed of (a certificate), or a
	// disposal killed after its removals (an intent alone).
	match := func(id string) (string, string, time.Time, bool) {
		room, session, _ := strings.Cut(id, "/")
		start, _ := layout.SessionStart(session)
		ok := !seen[id] && (f.Room == "" || room == f.Room) && (f.Since.IsZero() || !start.Before(f.Since)) && (f.Until.IsZero() || start.Before(f.Until))
		return room, session, start, ok
	}
	for id, c := range l.certificates {
		if room, session, start, ok := match(id); ok {
			rows = append(rows, Session{Room: room, Session: session, Started: start, State: StateDisposed, DisposedAt: c.At, CertificateKey: c.Key})
			seen[id] = true
		}
	}
	for id, k := range l.disposals {
		if room, session, start, ok := match(id); ok {
			rows = append(rows, Session{Room: room, Session: session, Started: start, State: StateDisposing,
				Warnings: []string{fmt.Sprintf("session %s of room %s: a disposal was interrupted (%s): roomctl dispose finishes it", session, room, k)}})
		}
	}
	sort.SliceStable(rows, func(i, j int) bool {
		if !rows[i].Started.Equal(rows[j].Started) {
			return rows[i].Started.Before(rows[j].Started)
		}
		if rows[i].Room != rows[j].Room {
			return rows[i].Room < rows[j].Room
		}
		return rows[i].Session < rows[j].Session
	})
	return rows
}

// Session states the record's lifecycle gives.
const (
	StateDisposed  = "disposed"  // every version gone, a certificate under audit/certificates/
	StateDisposing = "disposing" // a disposal was interrupted: roomctl dispose finishes it
)

// Extend keeps a session until until (later than its class and any earlier
// extension: never shorter), writes the extension record and extends the
// server's retention of every version of the session.
func (a *Archive) Extend(ctx context.Context, room, session string, until time.Time, reason, who string) (Retention, error) {
	if err := layout.ValidReasonCode(reason); err != nil {
		return Retention{}, err
	}
	l, err := a.readLifecycle(ctx)
	if err != nil {
		return Retention{}, err
	}
	if l.policy == nil {
		return Retention{}, ErrNoPolicy
	}
	s, err := a.FindSession(ctx, session, room)
	if err != nil {
		return Retention{}, err
	}
	if s.State == StateDisposed {
		return Retention{}, fmt.Errorf("extend %s: disposed of on %s", session, s.DisposedAt.UTC().Format("2006-01-02"))
	}
	start, _ := layout.SessionStart(session)
	cur := l.retention(s.Room, session, s.DeviceClass, start)
	if !until.After(cur.Until) {
		return Retention{}, fmt.Errorf("extend %s: %s is not after its retention (%s until %s): a retention can only be extended",
			session, until.UTC().Format(time.RFC3339), cur.Class, cur.Until.UTC().Format(time.RFC3339))
	}
	rec := layout.ExtensionRecord{Version: layout.ExtensionVersion, SessionID: session, RoomID: s.Room, Until: until.UTC(),
		Reason: reason, At: time.Now().UTC(), Who: who}
	if err := a.putJSON(ctx, layout.ExtensionKey(s.Room, session), rec, false); err != nil {
		return Retention{}, fmt.Errorf("extend %s: %w", session, err)
	}
	res, err := a.ApplyRetention(ctx, s.Room, session, until)
	res.Class = cur.Class
	return res, err
}

// Retention is what ApplyRetention did to one session.
type Retention struct {
	Room     string    `json:"room"`
	Session  string    `json:"session"`
	Class    string    `json:"class"`
	Until    time.Time `json:"retain_until"`
	Versions int       `json:"versions"`
	Extended int       `json:"extended"` // versions whose server retention was extended
}

// ApplyRetention makes the server retain every version of the session at
// least until until (GOVERNANCE). A retention already longer is left as it
// is: this never shortens, and needs no bypass.
func (a *Archive) ApplyRetention(ctx context.Context, room, session string, until time.Time) (Retention, error) {
	res := Retention{Room: room, Session: session, Until: until.UTC()}
	vs, err := a.sessionVersionInfos(ctx, room, session)
	if err != nil {
		return res, err
	}
	mode := minio.Governance
	for _, v := range vs {
		if v.IsDeleteMarker {
			continue
		}
		res.Versions++
		_, cur, err := a.Client.GetObjectRetention(ctx, a.Bucket, v.Key, v.VersionID)
		if code := minio.ToErrorResponse(err).Code; err != nil && code != "NoSuchObjectLockConfiguration" && code != "ObjectLockConfigurationNotFoundError" {
			return res, fmt.Errorf("read retention of %s?versionId=%s: %w", v.Key, v.VersionID, err)
		}
		if cur != nil && !cur.Before(until) {
			continue
		}
		u := until.UTC()
		if err := a.Client.PutObjectRetention(ctx, a.Bucket, v.Key, minio.PutObjectRetentionOptions{Mode: &mode, RetainUntilDate: &u, VersionID: v.VersionID}); err != nil {
			return res, fmt.Errorf("extend retention of %s?versionId=%s: %w", v.Key, v.VersionID, err)
		}
		res.Extended++
	}
	return res, nil
}

// ApplyRetentions extends the server's retention of every session matching
// f (not disposed) to its class's end. Only sessions whose retention has not
// ended are touched: the server cannot be told to keep something until a
// past date.
func (a *Archive) ApplyRetentions(ctx context.Context, f Filter, now time.Time, dryRun bool) ([]Retention, error) {
	if _, err := a.RetentionPolicy(ctx); err != nil {
		return nil, err
	}
	rows, err := a.Sessions(ctx, f)
	if err != nil {
		return nil, err
	}
	var todo []Session
	for _, r := range rows {
		// Disposed (or being disposed of) rows have no class: nothing to keep.
		if r.Class != "" && r.State != StateDisposed && r.RetainUntil.After(now) {
			todo = append(todo, r)
		}
	}
	out := make([]Retention, len(todo))
	err = a.forEach(ctx, len(todo), func(ctx context.Context, i int) error {
		r := todo[i]
		if dryRun {
			out[i] = Retention{Room: r.Room, Session: r.Session, Class: r.Class, Until: r.RetainUntil}
			return nil
		}
		res, err := a.ApplyRetention(ctx, r.Room, r.Session, r.RetainUntil)
		res.Class = r.Class
		out[i] = res
		return err
	})
	return out, err
}

// sessionVersionInfos lists every version and delete marker of a session's
// objects, in the folders of its id's day and the next.
func (a *Archive) sessionVersionInfos(ctx context.Context, room, session string) ([]minio.ObjectInfo, error) {
	start, err := layout.SessionStart(session)
	if err != nil {
		return nil, err
	}
	var out []minio.ObjectInfo
	for _, d := range []time.Time{start, start.AddDate(0, 0, 1)} {
		prefix := layout.SessionPrefix(room, d, session)
		for obj := range a.Client.ListObjects(ctx, a.Bucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: true, WithVersions: true}) {
			if obj.Err != nil {
				return nil, fmt.Errorf("list versions under %s: %w", prefix, obj.Err)
			}
			out = append(out, obj)
		}
	}
	return out, nil
}
