package archive

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"

	"roomkiosk/sync/layout"
)

// The witness (docs/ARCHIVE-TRUTH.md): when an admin tool first reads a
// session record whose versions all agree, it writes what it read under
// admin/witness/, where no device can write. A device that later puts
// other bytes over that record disputes it, and the witness says which
// bytes came first; a time the device sets cannot.

// readWitness reads the witness record of a session record; nil if there
// is none.
func (a *Archive) readWitness(ctx context.Context, recordKey string) (*layout.Witness, error) {
	key := layout.WitnessKey(recordKey)
	b, err := a.get(ctx, key, maxRequestBytes)
	if err != nil {
		if isNoSuchKey(err) {
			return nil, nil
		}
		return nil, fmt.Errorf("read witness %s: %w", key, err)
	}
	return layout.ParseWitness(b, recordKey)
}

// listWitnessed returns the record keys of room that have a witness, in
// the day folders from day on (zero: all).
func (a *Archive) listWitnessed(ctx context.Context, room string, day time.Time) (map[string]bool, error) {
	out := map[string]bool{}
	prefix := layout.RoomWitnessPrefix(room)
	opts := minio.ListObjectsOptions{Prefix: prefix, Recursive: true}
	if !day.IsZero() {
		// Witness keys mirror record keys: every key of that day sorts
		// after the bare day folder's name.
		opts.StartAfter = strings.TrimSuffix(layout.WitnessKey(layout.SessionDayPrefix(room, day)), "/")
	}
	for obj := range a.Client.ListObjects(ctx, a.Bucket, opts) {
		if obj.Err != nil {
			return nil, fmt.Errorf("list %s: %w", prefix, obj.Err)
		}
		out[layout.RoomsPrefix+obj.Key[len(layout.WitnessPrefix):]] = true
	}
	return out, nil
}

// witness writes the witness records of a session's records that were
// read undisputed and have none yet (have, if not nil, says which have
// one; else each is checked). A session with anything disputed is not
// witnessed: its genuine bytes are already in doubt.
func (a *Archive) witness(ctx context.Context, s *sessionObjects, have map[string]bool) error {
	if !a.Witness || len(s.Tampered()) > 0 {
		return nil
	}
	s.mu.Lock()
	agreed := make([]layout.Witness, 0, len(s.agreed))
	for _, w := range s.agreed {
		agreed = append(agreed, w)
	}
	s.mu.Unlock()
	for _, w := range agreed {
		key := layout.WitnessKey(w.Key)
		if have != nil {
			if have[w.Key] || s.ix.witnessedBefore(w.Key) {
				s.ix.noteWitnessed(w.Key)
				continue
			}
		} else if _, err := a.Client.StatObject(ctx, a.Bucket, key, minio.StatObjectOptions{}); err == nil {
			continue
		} else if !isNoSuchKey(err) {
			return fmt.Errorf("witness %s: %w", w.Key, err)
		}
		w.SeenAt = time.Now().UTC()
		b, err := json.Marshal(w)
		if err != nil {
			return err
		}
		// If-None-Match: the first witness stays the witness, should two
		// admin tools race.
		opts := minio.PutObjectOptions{ContentType: "application/json", SendContentMd5: true}
		opts.SetMatchETagExcept("*")
		_, err = a.Client.PutObject(ctx, a.Bucket, key, bytes.NewReader(b), int64(len(b)), opts)
		if err != nil && admErrorCode(err) != "PreconditionFailed" {
			return fmt.Errorf("witness %s: %w", w.Key, err)
		}
		s.ix.noteWitnessed(w.Key)
	}
	return nil
}

func admErrorCode(err error) string {
	return minio.ToErrorResponse(err).Code
}
