package console

import (
	"context"
	"sync"
	"time"

	"roomkiosk/sync/archive"
)

// tampered reports whether the archive reader flagged a session: a later
// version of one of its objects differs from the first, which is the one
// the reader trusts.
func tampered(s archive.Session) bool { return tamperFlag(s) }

// sessionIndex keeps the last full session listing for the fleet's tamper
// counts: listing every room's sessions costs far more than reading 500
// statuses, so the fleet page never waits for it. A listing older than ttl
// is refreshed in the background on the next look.
type sessionIndex struct {
	a   *archive.Archive
	ttl time.Duration

	mu      sync.Mutex
	at      time.Time
	counts  map[string]int // room -> tampered sessions
	running bool
	gen     int // bumped by invalidate: a listing started before is stale
}

// tamperCounts returns the counts of the last listing and whether there is
// one; it starts a refresh when the listing is missing or old.
func (x *sessionIndex) tamperCounts(now time.Time) (map[string]int, bool) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if !x.running && (x.counts == nil || now.Sub(x.at) > x.ttl) {
		x.running = true
		go x.refresh(x.gen)
	}
	return x.counts, x.counts != nil
}

// wait blocks until a listing is there (tests and the first page of a
// fresh console), or ctx ends.
func (x *sessionIndex) wait(ctx context.Context) {
	for {
		if _, ok := x.tamperCounts(time.Now()); ok {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func (x *sessionIndex) refresh(gen int) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	rows, err := x.a.Sessions(ctx, archive.Filter{})
	x.mu.Lock()
	defer x.mu.Unlock()
	x.running = false
	if err != nil || gen != x.gen {
		return // the next look tries again
	}
	counts := map[string]int{}
	for _, r := range rows {
		if tampered(r) {
			counts[r.Room]++
		}
	}
	x.counts, x.at = counts, time.Now()
}

// invalidate forgets the listing (after deletions were applied).
func (x *sessionIndex) invalidate() {
	x.mu.Lock()
	x.counts = nil
	x.gen++
	x.mu.Unlock()
}
