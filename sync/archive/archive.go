// Package archive reads what the kiosks uploaded, for roomctl: the session
// list from the manifests, pulls that verify, decrypt and join a session's
// segments into one WAV, every room's status, and deletion requests. The
// bucket's keys and records are the archive's contract, sync/layout.
//
// Every reader decides from facts the server vouches for, never from a
// time, folder or value a device chose: docs/ARCHIVE-TRUTH.md is the rule
// (versions.go and witness.go carry it out).
package archive

import (
	"context"
	"fmt"
	"time"

	"github.com/minio/minio-go/v7"

	"roomkiosk/sync/layout"
)

// Archive reads one bucket with admin credentials.
type Archive struct {
	Client *minio.Client
	Bucket string
	// Workers bounds concurrent requests (status, manifests, segment
	// downloads); 0 means a default of 16.
	Workers int
	// CacheDir, if set, keeps the versions of manifests and summaries read
	// (immutable: see readVersion), one file each; "" reads every time.
	CacheDir string
	// Reader: the credentials are a reader's (roomctl provision-reader),
	// which read session folders and grants only: no admin record
	// (tombstones) and no deletion request is read.
	Reader bool
	// Witness: record each session record first read undisputed under
	// admin/witness/ (witness.go), so a later device rewrite can be told
	// from the genuine record. roomctl and the console set it.
	Witness bool
	// Index: read the listing index (index.go) and keep it up to date, so
	// that a listing on a new workstation reads one object per room and
	// month instead of every record. roomctl and the console set it; a
	// reader cannot (admin/ is out of its reach).
	Index bool
}

func (a *Archive) workers() int {
	if a.Workers > 0 {
		return a.Workers
	}
	return 16
}

// Names kept for the callers that had them before sync/layout; each
// forwards to the contract.
const RoomsPrefix = layout.RoomsPrefix

// SessionPrefix is the folder of a session's objects.
func SessionPrefix(room string, started time.Time, sessionID string) string {
	return layout.SessionPrefix(room, started, sessionID)
}

// ManifestKey is the key of a session's manifest.
func ManifestKey(room string, started time.Time, sessionID string) string {
	return layout.ManifestKey(room, started, sessionID)
}

// DeletionKey is the key of a room's deletion request for a session.
func DeletionKey(room, sessionID string) string { return layout.DeletionKey(room, sessionID) }

// parseSessionKey parses the key of a session's manifest, summary or
// tombstone; segments and anything else are not.
func parseSessionKey(key string) (layout.Key, bool) {
	k, err := layout.Parse(key)
	if err != nil || !(k.Kind == layout.KindManifest || k.Kind == layout.KindSummary || k.Kind == layout.KindTombstone) {
		return layout.Key{}, false
	}
	return k, true
}

// Rooms lists the rooms that have uploaded anything. A folder under rooms/
// that is not a valid room id (which a device cannot make, but a hand
// could) is skipped.
func (a *Archive) Rooms(ctx context.Context) ([]string, error) {
	var rooms []string
	for obj := range a.Client.ListObjects(ctx, a.Bucket, minio.ListObjectsOptions{Prefix: layout.RoomsPrefix}) {
		if obj.Err != nil {
			return nil, fmt.Errorf("list rooms in bucket %s: %w", a.Bucket, obj.Err)
		}
		if r, ok := layout.ParseRoomPrefix(obj.Key); ok {
			rooms = append(rooms, r)
		}
	}
	return rooms, nil
}

// forEach runs fn for i in [0,n) on the worker pool and returns the first
// error; fn must be safe for concurrent use.
func (a *Archive) forEach(ctx context.Context, n int, fn func(ctx context.Context, i int) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	idx := make(chan int)
	done := make(chan struct{})
	w := min(a.workers(), n)
	for range w {
		go func() {
			defer func() { done <- struct{}{} }()
			for i := range idx {
				if err := fn(ctx, i); err != nil {
					cancel(err)
				}
			}
		}()
	}
feed:
	for i := range n {
		select {
		case idx <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(idx)
	for range w {
		<-done
	}
	if err := context.Cause(ctx); err != nil {
		return err
	}
	return nil
}
