// Package archive reads what the kiosks uploaded, for roomctl: the session
// list from the manifests, pulls that verify, decrypt and join a session's
// segments into one WAV, every room's status, and deletion requests.
//
// Bucket layout (as the uploader writes it):
//
//	rooms/<room>/sessions/<yyyy>/<mm>/<dd>/<session>/seg-NNNNNN.wav.age
//	rooms/<room>/sessions/<yyyy>/<mm>/<dd>/<session>/manifest.json
//	rooms/<room>/sessions/<yyyy>/<mm>/<dd>/<session>/summary.json    every session
//	rooms/<room>/sessions/<yyyy>/<mm>/<dd>/<session>/deleted.json    written by ApplyDeletions
//	rooms/<room>/status.json
//	rooms/<room>/deletions/<session>.json
//
// The date is the manifest's started time in UTC.
package archive

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"

	"roomkiosk/recorder/manifest"
)

// Archive reads one bucket with admin credentials.
type Archive struct {
	Client *minio.Client
	Bucket string
	// Workers bounds concurrent requests (status, manifests, segment
	// downloads); 0 means a default of 16.
	Workers int
}

func (a *Archive) workers() int {
	if a.Workers > 0 {
		return a.Workers
	}
	return 16
}

// RoomsPrefix is the common prefix of every room's objects.
const RoomsPrefix = "rooms/"

// SessionPrefix is the folder of a session's objects.
func SessionPrefix(room string, started time.Time, sessionID string) string {
	return fmt.Sprintf("%s%s/sessions/%s/%s/", RoomsPrefix, room, started.UTC().Format("2006/01/02"), sessionID)
}

// ManifestKey is the key of a session's manifest.
func ManifestKey(room string, started time.Time, sessionID string) string {
	return SessionPrefix(room, started, sessionID) + manifest.FileName
}

// DeletionKey is the key of a room's deletion request for a session.
func DeletionKey(room, sessionID string) string {
	return RoomsPrefix + room + "/deletions/" + sessionID + ".json"
}

// parseManifestKey splits rooms/R/sessions/yyyy/mm/dd/S/manifest.json.
func parseManifestKey(key string) (room, session string, day time.Time, ok bool) {
	room, session, day, file, ok := parseSessionKey(key)
	if !ok || file != manifest.FileName {
		return "", "", time.Time{}, false
	}
	return room, session, day, true
}

// parseSessionKey splits the key of a session's manifest, summary or
// deletion record.
func parseSessionKey(key string) (room, session string, day time.Time, file string, ok bool) {
	p := strings.Split(key, "/")
	if len(p) != 8 || p[0] != "rooms" || p[2] != "sessions" || (p[7] != manifest.FileName && p[7] != SummaryFile && p[7] != DeletedFile) {
		return "", "", time.Time{}, "", false
	}
	d, err := time.Parse("2006/01/02", p[3]+"/"+p[4]+"/"+p[5])
	if err != nil {
		return "", "", time.Time{}, "", false
	}
	return p[1], p[6], d, p[7], true
}

// Rooms lists the rooms that have uploaded anything.
func (a *Archive) Rooms(ctx context.Context) ([]string, error) {
	var rooms []string
	for obj := range a.Client.ListObjects(ctx, a.Bucket, minio.ListObjectsOptions{Prefix: RoomsPrefix}) {
		if obj.Err != nil {
			return nil, fmt.Errorf("list rooms in bucket %s: %w", a.Bucket, obj.Err)
		}
		if r, ok := strings.CutSuffix(strings.TrimPrefix(obj.Key, RoomsPrefix), "/"); ok && r != "" {
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
