package archive

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"

	"roomkiosk/internal/room"
	"roomkiosk/recorder/manifest"
	"roomkiosk/sync/layout"
)

// Filter narrows the session list. Zero fields match everything.
type Filter struct {
	Room  string
	Since time.Time // sessions started at or after
	Until time.Time // sessions started before
}

// covers says whether the listing f asks for reads every day folder of
// the month starting at m (Sessions lists from the day before Since
// through Until): only such a month's index may be rewritten from it.
func (f Filter) covers(m time.Time) bool {
	last := m.AddDate(0, 1, -1)
	if !f.Since.IsZero() && m.Before(day(f.Since).AddDate(0, 0, -1)) {
		return false
	}
	return f.Until.IsZero() || !last.After(f.Until.UTC())
}

// Session is one row of `roomctl sessions`.
type Session struct {
	Room     string        `json:"room"`
	Session  string        `json:"session"`
	Started  time.Time     `json:"started"`
	Duration time.Duration `json:"duration_ns"`
	Audio    time.Duration `json:"audio_ns"` // recorded audio (sum of segments)
	Segments int           `json:"segments"`
	Partial  int           `json:"partial_segments"`
	// State: recorded, partial, withdrawn, interrupted, deleted (its audio
	// removed or never uploaded, at a participant's request), deletion
	// requested (audio still in the archive: run `roomctl deletions
	// apply`), or from the summary alone: declined, not recorded,
	// abandoned, uploading.
	State       string `json:"state"`
	Withdrawn   bool   `json:"withdrawn"`
	Interrupted bool   `json:"interrupted"`
	StopReason  string `json:"stop_reason,omitempty"`
	Gaps        int    `json:"gaps"`
	Bytes       int64  `json:"bytes"` // ciphertext
	Key         string `json:"manifest_key,omitempty"`
	Error       string `json:"error,omitempty"` // why the manifest could not be read (State "unreadable")

	// From the session's summary.json, which every session leaves, recorded
	// or not (absent for sessions from before summaries existed).
	Participants int    `json:"participants,omitempty"`
	Children     int    `json:"children,omitempty"` // of the participants: a family session (issue 24)
	Declined     bool   `json:"declined"`
	Feedback     int    `json:"feedback,omitempty"` // the client's 1-5 rating; 0 = none
	SummaryKey   string `json:"summary_key,omitempty"`
	DeletedKey   string `json:"deleted_key,omitempty"` // the tombstone ApplyDeletions left (under admin/)

	// Tampered: a device wrote over one of the session's objects after its
	// upload (TamperedKeys, each with its count of versions). Everything
	// above is read from the undisputed or witnessed records (nothing of a
	// record disputed without a witness); State is "tampered" unless an
	// admin deleted the session.
	Tampered     bool     `json:"tampered"`
	TamperedKeys []string `json:"tampered_keys,omitempty"`
	// Warnings are what an admin should know about the row (tampering,
	// suspicious deletion requests, device-written tombstones).
	Warnings []string `json:"warnings,omitempty"`

	// Access: the roles an identity holds in the session (escrow,
	// counselor, supervisor, grant), when the list was made for one
	// (Archive.Mine).
	Access []string `json:"access,omitempty"`

	// The record's lifecycle (retention.go, hold.go, dispose.go). Class and
	// RetainUntil are decided by the practice's retention policy (empty
	// without one) from the room's class and DeviceClass, the class the
	// device recorded (which can lengthen a retention, never shorten it).
	DeviceClass      string    `json:"device_class,omitempty"`
	Class            string    `json:"retention_class,omitempty"`
	RetainUntil      time.Time `json:"retain_until,omitzero"`
	RetentionNote    string    `json:"retention_note,omitempty"`
	Held             bool      `json:"held"` // under legal hold: nobody can dispose of it
	HoldReason       string    `json:"hold_reason,omitempty"`
	ErasureRequested string    `json:"erasure_requested,omitempty"` // an admin's erasure request: its reason
	DisposedAt       time.Time `json:"disposed_at,omitzero"`        // from its certificate (the server's time)
	CertificateKey   string    `json:"certificate_key,omitempty"`

	Manifest *manifest.Manifest `json:"-"`
	summary  *layout.SummaryRecord
	objects  *sessionObjects
}

// State names a session's outcome in one word, worst first.
func State(m *manifest.Manifest) string {
	partial := false
	for _, s := range m.Segments {
		partial = partial || s.Partial
	}
	switch {
	case m.Deleted:
		return "deleted"
	case m.Withdrawn:
		return "withdrawn"
	case m.Interrupted:
		return "interrupted"
	case partial || len(m.Gaps) > 0:
		return "partial"
	}
	return "recorded"
}

func rowOf(key string, m *manifest.Manifest) Session {
	s := Session{
		Room: m.RoomID, Session: m.SessionID, Started: m.Started,
		Duration: time.Duration(m.DurationNS), Segments: len(m.Segments),
		State: State(m), Withdrawn: m.Withdrawn, Interrupted: m.Interrupted,
		StopReason: m.StopReason, Gaps: len(m.Gaps), Key: key, Manifest: m,
	}
	for _, seg := range m.Segments {
		s.Bytes += seg.Bytes
		if seg.Partial {
			s.Partial++
		}
	}
	if m.Format.SampleRate > 0 {
		s.Audio = time.Duration(m.TotalSamples() * int64(time.Second) / int64(m.Format.SampleRate))
	}
	return s
}

// SummaryFile is the name of a session's summary object, beside its manifest.
const SummaryFile = layout.SummaryFile

// DeletedFile is the name of the tombstone roomctl once left in a deleted
// session's folder; tombstones now live under admin/ (layout.TombstoneKey),
// and a deleted.json in a session folder is reported, not trusted.
const DeletedFile = layout.LegacyTombstoneFile

// Session states a deletion gives.
const (
	StateDeleted           = "deleted"
	StateDeletionRequested = "deletion requested"
	StateTampered          = "tampered"
)

// summaryState names the outcome of a session that has no recording
// manifest (yet).
func summaryState(s room.Summary) string {
	switch {
	case s.Interrupted:
		return "interrupted" // open at a crash, not back within the resume window
	case s.Abandoned:
		return "abandoned"
	case s.Declined:
		return "declined"
	case s.Recorded:
		return "uploading" // the recording's manifest has not arrived yet
	}
	return "not recorded"
}

// addSummary completes a row with what the session's summary says.
func addSummary(r *Session, key string, sum *layout.SummaryRecord) {
	r.SummaryKey = key
	r.Participants = sum.Participants
	r.Children = sum.Children
	r.Declined = sum.Declined
	r.Feedback = sum.Feedback
	if r.Key == "" { // no recording: the summary is all there is
		r.Room, r.Session, r.Started = sum.RoomID, sum.ID, sum.Started
		r.Duration = sum.Ended.Sub(sum.Started)
		r.State = summaryState(sum.Summary)
		r.Withdrawn = sum.Withdrawn
	}
}

// Sessions lists every session matching f, oldest first: recorded ones from
// their manifests, unrecorded ones from their summaries, each record read
// as the server holds it (readRecord), never by a device-set time.
func (a *Archive) Sessions(ctx context.Context, f Filter) ([]Session, error) {
	rooms := []string{f.Room}
	if f.Room == "" {
		var err error
		if rooms, err = a.Rooms(ctx); err != nil {
			return nil, err
		}
	}
	// List every version of every session object, rooms in parallel; the
	// date folders let a date range skip old days without reading them.
	type roomList struct {
		objs       map[string]*sessionObjects
		order      []string
		pending    map[string]string // session id -> deletion request key
		tombstones map[string]string // session id -> tombstone key
		witnessed  map[string]bool   // record keys with a witness
	}
	per := make([]roomList, len(rooms))
	// A fleet's tombstones are listed once, not room by room.
	var tombs map[string]map[string]string
	if f.Room == "" && !a.Reader {
		var err error
		if tombs, err = a.listTombstones(ctx); err != nil {
			return nil, err
		}
	}
	var ix *listingIndex
	if a.Index && !a.Reader {
		ix = newListingIndex(time.Now())
		ix.fullMonth = func(m time.Time) bool { return f.covers(m) }
	}
	err := a.forEach(ctx, len(rooms), func(ctx context.Context, i int) error {
		room := rooms[i]
		startAfter := ""
		if !f.Since.IsZero() {
			// Keys sort by day: every key of the first day wanted sorts
			// after the bare day folder name, every earlier one before it.
			// One day earlier: a session of the day before may have its
			// recording (or a forged copy of one) in the first day's
			// folder, and settle must see both folders.
			startAfter = strings.TrimSuffix(layout.SessionDayPrefix(room, f.Since.AddDate(0, 0, -1)), "/")
		}
		var err error
		per[i].objs, per[i].order, err = a.listSessionObjects(ctx, layout.SessionsPrefix(room), startAfter, f.Until)
		if err == nil && ix != nil {
			err = a.loadIndex(ctx, ix, room, per[i].objs)
		}
		if err == nil && !a.Reader {
			per[i].pending, err = a.listKeys(ctx, layout.DeletionsPrefix(room), layout.KindDeletion, room)
		}
		if err == nil && !a.Reader && tombs == nil {
			per[i].tombstones, err = a.listKeys(ctx, layout.RoomTombstonesPrefix(room), layout.KindTombstone, room)
		}
		if err == nil && a.Witness {
			// Records the index says are witnessed need no look; the
			// rest (the open days, a first listing) are listed from
			// their first day on.
			if from, need := ix.unwitnessedFrom(per[i].objs); need {
				per[i].witnessed, err = a.listWitnessed(ctx, room, from)
			} else {
				per[i].witnessed = map[string]bool{}
			}
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	if tombs != nil {
		for i, room := range rooms {
			per[i].tombstones = tombs[room]
		}
	}
	var all []*sessionObjects
	var pending, tombKeys []string
	var witnessed []map[string]bool
	for _, r := range per {
		for _, id := range r.order {
			s := r.objs[id]
			s.ix = ix
			all = append(all, s)
			pending = append(pending, r.pending[s.Session])
			tombKeys = append(tombKeys, r.tombstones[s.Session])
			witnessed = append(witnessed, r.witnessed)
		}
	}
	rows := make([]Session, len(all))
	err = a.forEach(ctx, len(all), func(ctx context.Context, i int) error {
		r, err := a.row(ctx, all[i])
		if err != nil {
			return err
		}
		if err := a.witness(ctx, all[i], witnessed[i]); err != nil {
			return err
		}
		if tombKeys[i] != "" {
			// Tampered stays set: the table shows "deleted, TAMPERED".
			r.State, r.DeletedKey = StateDeleted, tombKeys[i]
		}
		if pending[i] != "" && r.State != StateDeleted {
			ok, why := deletionAuthorized(r)
			switch {
			case !ok:
				r.Warnings = append(r.Warnings, fmt.Sprintf("SUSPICIOUS deletion request %s: %s; `roomctl deletions apply` leaves it (an admin may apply it with --session %s --confirm)", pending[i], why, r.Session))
			case r.Key != "" && !r.Manifest.Deleted:
				r.State = StateDeletionRequested
			default:
				// A withdrawn session's audio is held on the device until
				// its participants choose, so after a Delete none was
				// uploaded.
				r.State = StateDeleted
			}
		}
		rows[i] = r
		return nil
	})
	if err != nil {
		return nil, err
	}
	if ix != nil {
		if err := a.writeIndex(ctx, ix); err != nil {
			return nil, err
		}
	}
	if a.Reader {
		// Deletions are the admins' business; a reader sees the
		// session folders as they are.
	} else if err := a.confirmLegacyTombstones(ctx, rows); err != nil {
		return nil, err
	}
	if !a.Reader { // the retention policy, holds and certificates are the admins' records
		lc, err := a.readLifecycle(ctx)
		if err != nil {
			return nil, err
		}
		rows = lc.annotate(rows, f)
	}
	out := rows[:0]
	for _, r := range rows {
		if !f.Since.IsZero() && r.Started.Before(f.Since) {
			continue
		}
		if !f.Until.IsZero() && !r.Started.Before(f.Until) {
			continue
		}
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Started.Equal(out[j].Started) {
			return out[i].Started.Before(out[j].Started)
		}
		if out[i].Room != out[j].Room {
			return out[i].Room < out[j].Room
		}
		return out[i].Session < out[j].Session
	})
	return out, nil
}

// row builds a session's row from what the server holds of its manifest
// and summary (readRecord: what every version agrees on, or what an admin
// witness saw first). A bad or disputed record (a broken or compromised
// kiosk) gives a row saying why, never an error: one room must not hide
// the others.
func (a *Archive) row(ctx context.Context, s *sessionObjects) (Session, error) {
	var r Session
	idStart, _ := layout.SessionStart(s.Session)
	bare := func() Session { return Session{Room: s.Room, Session: s.Session, Started: idStart} }
	var disputed []string
	if s.Manifest != "" {
		m, err := a.readManifest(ctx, s)
		switch {
		case err != nil && ctx.Err() != nil:
			return r, ctx.Err()
		case errors.Is(err, ErrDisputed):
			r = bare()
			disputed = append(disputed, err.Error())
		case err != nil:
			r = bare()
			r.State, r.Error, r.Key = "unreadable", err.Error(), s.Manifest
		default:
			r = rowOf(s.Manifest, m)
			r.DeviceClass = m.RetentionClass
		}
	}
	if s.Summary != "" {
		sum, err := a.readSummary(ctx, s)
		switch {
		case err != nil && ctx.Err() != nil:
			return r, ctx.Err()
		case errors.Is(err, ErrDisputed):
			disputed = append(disputed, err.Error())
		case err != nil && s.Manifest == "":
			r = bare()
			r.State, r.Error, r.SummaryKey = "unreadable", err.Error(), s.Summary
		case err == nil:
			addSummary(&r, s.Summary, sum)
			r.summary = sum
			if r.DeviceClass == "" {
				r.DeviceClass = sum.RetentionClass
			}
		}
	}
	if r.Session == "" { // segments, a legacy tombstone or disputed records alone
		r = bare()
		r.State = "incomplete"
	}
	r.objects = s
	if keys := s.Tampered(); len(keys) > 0 {
		r.Tampered, r.TamperedKeys, r.State = true, keys, StateTampered
		r.Warnings = append(r.Warnings, tamperWarning(s.Room, s.Session, keys))
		for _, d := range disputed {
			r.Warnings = append(r.Warnings, "session "+s.Session+": "+d+"; nothing of it is shown or acted on")
		}
	}
	if s.Legacy != "" {
		r.Warnings = append(r.Warnings, fmt.Sprintf("%s: a tombstone in a session folder, where devices can write: ignored (tombstones live under %s)", s.Legacy, layout.TombstonesPrefix))
	}
	return r, nil
}

// confirmLegacyTombstones honours the deleted.json files roomctl left in
// session folders before tombstones moved under admin/: such a file alone
// proves nothing (a device can write there), but an audit record of the
// deletion does (devices cannot write under audit/). The audit log is read
// only when some row has such a file.
func (a *Archive) confirmLegacyTombstones(ctx context.Context, rows []Session) error {
	need := false
	for _, r := range rows {
		need = need || (r.objects != nil && r.objects.Legacy != "" && r.State != StateDeleted)
	}
	if !need {
		return nil
	}
	deleted := map[string]bool{} // room/session deleted by an admin, audited
	for obj := range a.Client.ListObjects(ctx, a.Bucket, minio.ListObjectsOptions{Prefix: layout.AuditPrefix, Recursive: true}) {
		if obj.Err != nil {
			return fmt.Errorf("list audit records: %w", obj.Err)
		}
		k, err := layout.Parse(obj.Key)
		if err != nil || k.Kind != layout.KindAudit || k.Action != "delete-session" {
			continue
		}
		b, err := a.get(ctx, obj.Key, maxRequestBytes)
		if err != nil {
			return fmt.Errorf("read audit record %s: %w", obj.Key, err)
		}
		var rec layout.AuditRecord
		if json.Unmarshal(b, &rec) == nil && strings.HasPrefix(rec.Result, "ok") {
			deleted[rec.Room+"/"+rec.Session] = true
		}
	}
	for i := range rows {
		r := &rows[i]
		if r.objects == nil || r.objects.Legacy == "" || r.State == StateDeleted || !deleted[r.Room+"/"+r.Session] {
			continue
		}
		r.State, r.DeletedKey = StateDeleted, r.objects.Legacy
		for j, w := range r.Warnings {
			if strings.HasPrefix(w, r.objects.Legacy+":") {
				r.Warnings[j] = r.objects.Legacy + ": a tombstone from before tombstones moved under " + layout.TombstonesPrefix + ", confirmed by the audit log"
			}
		}
	}
	return nil
}

// listKeys maps session id to key for the keys of one kind under prefix
// (deletion requests, tombstones); hostile or foreign keys are skipped.
func (a *Archive) listKeys(ctx context.Context, prefix string, kind layout.Kind, room string) (map[string]string, error) {
	out := map[string]string{}
	for obj := range a.Client.ListObjects(ctx, a.Bucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: true}) {
		if obj.Err != nil {
			return nil, fmt.Errorf("list %s: %w", prefix, obj.Err)
		}
		if k, err := layout.Parse(obj.Key); err == nil && k.Kind == kind && k.Room == room {
			out[k.Session] = obj.Key
		}
	}
	return out, nil
}

// listTombstones maps room to session id to tombstone key for every room.
func (a *Archive) listTombstones(ctx context.Context) (map[string]map[string]string, error) {
	out := map[string]map[string]string{}
	for obj := range a.Client.ListObjects(ctx, a.Bucket, minio.ListObjectsOptions{Prefix: layout.TombstonesPrefix, Recursive: true}) {
		if obj.Err != nil {
			return nil, fmt.Errorf("list %s: %w", layout.TombstonesPrefix, obj.Err)
		}
		if k, err := layout.Parse(obj.Key); err == nil && k.Kind == layout.KindTombstone {
			if out[k.Room] == nil {
				out[k.Room] = map[string]string{}
			}
			out[k.Room][k.Session] = obj.Key
		}
	}
	return out, nil
}

// getVersion reads one version of a small object whole ("" = the latest),
// refusing one larger than limit.
func (a *Archive) getVersion(ctx context.Context, key, versionID string, limit int64) ([]byte, error) {
	o, err := a.Client.GetObject(ctx, a.Bucket, key, minio.GetObjectOptions{VersionID: versionID})
	if err != nil {
		return nil, err
	}
	defer o.Close()
	b, err := io.ReadAll(io.LimitReader(o, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("larger than %d bytes", limit)
	}
	return b, nil
}

// get reads the latest version of a small object whole (records a device
// cannot write, or requests whose authority is checked elsewhere).
func (a *Archive) get(ctx context.Context, key string, limit int64) ([]byte, error) {
	return a.getVersion(ctx, key, "", limit)
}

// FindSession returns session id (in room, if not empty), read as the
// server holds its records (readRecord). It looks in the session's own date folders
// (its id starts with its UTC start, and recording starts at most a little
// later) of each room.
func (a *Archive) FindSession(ctx context.Context, id, room string) (Session, error) {
	if _, err := layout.SessionStart(id); err != nil {
		return Session{}, err
	}
	rooms := []string{room}
	if room == "" {
		var err error
		if rooms, err = a.Rooms(ctx); err != nil {
			return Session{}, err
		}
	}
	found := make([]*sessionObjects, len(rooms))
	err := a.forEach(ctx, len(rooms), func(ctx context.Context, i int) error {
		s, err := a.sessionFolders(ctx, rooms[i], id)
		if err == nil && len(s.Keys) > 0 {
			found[i] = s
		}
		return err
	})
	if err != nil {
		return Session{}, err
	}
	var hits []*sessionObjects
	for _, s := range found {
		// A disputed manifest (two folders) is a hit too: shown as such.
		if s != nil && (s.Manifest != "" || len(s.Tampered()) > 0) {
			hits = append(hits, s)
		}
	}
	if len(hits) == 0 { // no recording anywhere: a summary-only session?
		for _, s := range found {
			if s != nil && s.Summary != "" {
				hits = append(hits, s)
			}
		}
	}
	switch {
	case len(hits) == 1:
		r, err := a.row(ctx, hits[0])
		if err == nil && r.State == "unreadable" {
			err = errors.New(r.Error)
		}
		if err == nil {
			err = a.witness(ctx, hits[0], nil)
		}
		return r, err
	case len(hits) > 1:
		var rs []string
		for _, h := range hits {
			rs = append(rs, h.Room)
		}
		return Session{}, fmt.Errorf("session %s: found in rooms %s: name the room", id, strings.Join(rs, ", "))
	}
	// Nothing under the rooms: disposed of, leaving a certificate? Deleted
	// by an admin, leaving a tombstone? (Neither is a reader's to read.)
	for _, r := range rooms {
		if a.Reader {
			break
		}
		key := layout.CertificateKey(r, id)
		if st, err := a.Client.StatObject(ctx, a.Bucket, key, minio.StatObjectOptions{}); err == nil {
			return Session{Room: r, Session: id, State: StateDisposed, DisposedAt: st.LastModified, CertificateKey: key}, nil
		} else if !isNoSuchKey(err) {
			return Session{}, fmt.Errorf("session %s: %w", id, err)
		}
	}
	for _, r := range rooms {
		if a.Reader {
			break
		}
		key := layout.TombstoneKey(r, id)
		if _, err := a.Client.StatObject(ctx, a.Bucket, key, minio.StatObjectOptions{}); err == nil {
			return Session{Room: r, Session: id, State: StateDeleted, DeletedKey: key}, nil
		} else if !isNoSuchKey(err) {
			return Session{}, fmt.Errorf("session %s: %w", id, err)
		}
	}
	where := "any room"
	if room != "" {
		where = "room " + room
	}
	return Session{}, fmt.Errorf("session %s: no manifest in %s of bucket %s (not uploaded yet, or deleted)", id, where, a.Bucket)
}

// isNoSuchKey tells a missing object from other errors.
func isNoSuchKey(err error) bool {
	var er minio.ErrorResponse
	return errors.As(err, &er) && er.Code == "NoSuchKey"
}
