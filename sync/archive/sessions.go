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

	"roomkiosk/kiosk/room"
	"roomkiosk/recorder/manifest"
)

// Filter narrows the session list. Zero fields match everything.
type Filter struct {
	Room  string
	Since time.Time // sessions started at or after
	Until time.Time // sessions started before
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
	Declined     bool   `json:"declined"`
	Feedback     int    `json:"feedback,omitempty"` // the client's 1-5 rating; 0 = none
	SummaryKey   string `json:"summary_key,omitempty"`
	DeletedKey   string `json:"deleted_key,omitempty"` // deleted.json, left by ApplyDeletions

	Manifest *manifest.Manifest `json:"-"`
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
const SummaryFile = "summary.json"

// DeletedFile is the Tombstone ApplyDeletions leaves in a deleted session's
// folder.
const DeletedFile = "deleted.json"

// Session states a deletion gives.
const (
	StateDeleted           = "deleted"
	StateDeletionRequested = "deletion requested"
)

// summaryRecord is summary.json as the device's uploader writes it.
type summaryRecord struct {
	RoomID string `json:"room_id"`
	room.Summary
}

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
func addSummary(r *Session, key string, sum *summaryRecord) {
	r.SummaryKey = key
	r.Participants = sum.Participants
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
// their manifests, unrecorded ones from their summaries.
func (a *Archive) Sessions(ctx context.Context, f Filter) ([]Session, error) {
	rooms := []string{f.Room}
	if f.Room == "" {
		var err error
		if rooms, err = a.Rooms(ctx); err != nil {
			return nil, err
		}
	}
	// Find manifest keys, rooms in parallel; the date folders let a date
	// range skip old days without reading them.
	perRoom := make([][]string, len(rooms))
	pending := make([]map[string]bool, len(rooms)) // session ids with a deletion request
	err := a.forEach(ctx, len(rooms), func(ctx context.Context, i int) error {
		var err error
		perRoom[i], err = a.manifestKeys(ctx, rooms[i], f)
		if err == nil {
			pending[i], err = a.pendingDeletions(ctx, rooms[i])
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	// A session's manifest and summary may sit in different day folders
	// (a recording that started after midnight), so group by room and id.
	type pair struct{ manifest, summary, deleted string }
	var order []string
	byID := map[string]*pair{}
	for _, ks := range perRoom {
		for _, k := range ks {
			room, id, _, file, _ := parseSessionKey(k)
			p := byID[room+"/"+id]
			if p == nil {
				p = &pair{}
				byID[room+"/"+id] = p
				order = append(order, room+"/"+id)
			}
			switch file {
			case manifest.FileName:
				p.manifest = k
			case DeletedFile:
				p.deleted = k
			default:
				p.summary = k
			}
		}
	}
	rows := make([]Session, len(order))
	err = a.forEach(ctx, len(order), func(ctx context.Context, i int) error {
		p := byID[order[i]]
		if p.manifest != "" {
			m, err := a.readManifest(ctx, p.manifest)
			if err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				// One bad manifest (a broken or compromised kiosk) must not
				// hide every other session: it gets a row saying why.
				room, id, day, _, _ := parseSessionKey(p.manifest)
				rows[i] = Session{Room: room, Session: id, Started: day, State: "unreadable", Error: err.Error(), Key: p.manifest}
				return nil
			}
			rows[i] = rowOf(p.manifest, m)
		}
		if p.deleted != "" {
			defer func() {
				rows[i].State, rows[i].DeletedKey = StateDeleted, p.deleted
				if rows[i].Session == "" {
					room, id, day, _, _ := parseSessionKey(p.deleted)
					rows[i].Room, rows[i].Session, rows[i].Started = room, id, day
				}
			}()
		}
		if p.summary == "" {
			return nil
		}
		sum, err := a.readSummary(ctx, p.summary)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if p.manifest == "" {
				room, id, day, _, _ := parseSessionKey(p.summary)
				rows[i] = Session{Room: room, Session: id, Started: day, State: "unreadable", Error: err.Error(), SummaryKey: p.summary}
			}
			return nil // the manifest row stands on its own
		}
		addSummary(&rows[i], p.summary, sum)
		return nil
	})
	if err != nil {
		return nil, err
	}
	isPending := map[string]bool{}
	for i, room := range rooms {
		for id := range pending[i] {
			isPending[room+"/"+id] = true
		}
	}
	out := rows[:0]
	for _, r := range rows {
		if isPending[r.Room+"/"+r.Session] && r.State != StateDeleted {
			// A withdrawn session's audio is held on the device until its
			// participants choose, so after a Delete none was uploaded.
			r.State = StateDeleted
			if r.Key != "" {
				r.State = StateDeletionRequested
			}
		}
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
		return out[i].Key < out[j].Key
	})
	return out, nil
}

// pendingDeletions lists the session ids of a room's deletion requests not
// yet applied (from their keys: rooms/R/deletions/<id>.json).
func (a *Archive) pendingDeletions(ctx context.Context, room string) (map[string]bool, error) {
	out := map[string]bool{}
	prefix := RoomsPrefix + room + "/deletions/"
	for obj := range a.Client.ListObjects(ctx, a.Bucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: true}) {
		if obj.Err != nil {
			return nil, fmt.Errorf("list deletion requests of room %s: %w", room, obj.Err)
		}
		if id, ok := strings.CutSuffix(strings.TrimPrefix(obj.Key, prefix), ".json"); ok && manifest.ValidSessionID(id) {
			out[id] = true
		}
	}
	return out, nil
}

// readSummary reads and checks a session's summary.json.
func (a *Archive) readSummary(ctx context.Context, key string) (*summaryRecord, error) {
	b, err := a.get(ctx, key, 64<<10)
	if err != nil {
		return nil, fmt.Errorf("read session summary %s: %w", key, err)
	}
	var sum summaryRecord
	if err := json.Unmarshal(b, &sum); err != nil {
		return nil, fmt.Errorf("session summary %s: %w", key, err)
	}
	if room, id, _, _, ok := parseSessionKey(key); ok && (room != sum.RoomID || id != sum.ID) {
		return nil, fmt.Errorf("session summary %s: names room %q session %q, not those of its path", key, sum.RoomID, sum.ID)
	}
	return &sum, nil
}

// manifestKeys lists one room's manifest and summary keys within f's days.
func (a *Archive) manifestKeys(ctx context.Context, room string, f Filter) ([]string, error) {
	prefix := RoomsPrefix + room + "/sessions/"
	opts := minio.ListObjectsOptions{Prefix: prefix, Recursive: true}
	if !f.Since.IsZero() {
		// Keys sort by day: every key of the first day wanted sorts after
		// the bare day folder name, every earlier one before it.
		opts.StartAfter = prefix + f.Since.UTC().Format("2006/01/02")
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // also ends the listing when we stop early
	var keys []string
	for obj := range a.Client.ListObjects(ctx, a.Bucket, opts) {
		if obj.Err != nil {
			return nil, fmt.Errorf("list sessions of room %s: %w", room, obj.Err)
		}
		_, _, day, _, ok := parseSessionKey(obj.Key)
		if !ok {
			continue
		}
		if !f.Until.IsZero() && day.After(f.Until.UTC()) {
			break // the rest is later still
		}
		keys = append(keys, obj.Key)
	}
	return keys, nil
}

func (a *Archive) readManifest(ctx context.Context, key string) (*manifest.Manifest, error) {
	b, err := a.get(ctx, key, 4<<20)
	if err != nil {
		return nil, fmt.Errorf("read manifest %s: %w", key, err)
	}
	m, err := manifest.Parse(b)
	if err != nil {
		return nil, fmt.Errorf("manifest %s: %w", key, err)
	}
	if room, id, _, ok := parseManifestKey(key); ok && (room != m.RoomID || id != m.SessionID) {
		// A device can only write under its own room, so the path is the
		// authority; a manifest claiming another room is refused.
		return nil, fmt.Errorf("manifest %s: names room %q session %q, not those of its path", key, m.RoomID, m.SessionID)
	}
	return m, nil
}

// get reads a small object whole, refusing one larger than limit.
func (a *Archive) get(ctx context.Context, key string, limit int64) ([]byte, error) {
	o, err := a.Client.GetObject(ctx, a.Bucket, key, minio.GetObjectOptions{})
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

// FindSession returns the manifest of session id (in room, if not empty).
// It tries the session's own date folders first (its id starts with its
// UTC start, and recording starts at most a little later), then falls back
// to a full search.
func (a *Archive) FindSession(ctx context.Context, id, room string) (Session, error) {
	if !manifest.ValidSessionID(id) {
		return Session{}, fmt.Errorf("session %q: not a session id (like 20261102T150405Z-abc123)", id)
	}
	start, err := time.Parse("20060102T150405Z", id[:16])
	if err != nil {
		return Session{}, fmt.Errorf("session %q: %w", id, err)
	}
	rooms := []string{room}
	if room == "" {
		if rooms, err = a.Rooms(ctx); err != nil {
			return Session{}, err
		}
	}
	var cands []string
	for _, r := range rooms {
		for _, d := range []time.Time{start, start.AddDate(0, 0, 1)} {
			cands = append(cands, ManifestKey(r, d, id))
		}
	}
	found := make([]*manifest.Manifest, len(cands))
	err = a.forEach(ctx, len(cands), func(ctx context.Context, i int) error {
		m, err := a.readManifest(ctx, cands[i])
		if err != nil {
			if isNoSuchKey(err) {
				return nil
			}
			return err
		}
		found[i] = m
		return nil
	})
	if err != nil {
		return Session{}, err
	}
	var hits []Session
	for i, m := range found {
		if m != nil && (len(hits) == 0 || hits[len(hits)-1].Room != m.RoomID) {
			hits = append(hits, rowOf(cands[i], m))
		}
	}
	switch {
	case len(hits) == 1:
		return hits[0], nil
	case len(hits) > 1:
		var rs []string
		for _, h := range hits {
			rs = append(rs, h.Room)
		}
		return Session{}, fmt.Errorf("session %s: found in rooms %s: name the room", id, strings.Join(rs, ", "))
	}
	all, err := a.Sessions(ctx, Filter{Room: room})
	if err != nil {
		return Session{}, err
	}
	for _, s := range all {
		if s.Session == id {
			return s, nil
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
