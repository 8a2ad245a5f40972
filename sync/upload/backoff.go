package upload

import (
	"math/rand/v2"
	"time"
)

// backoff is exponential with jitter: after n consecutive failures the wait
// is a random time in [d/2, d] with d = base*2^(n-1), capped at max. The
// jitter keeps a fleet of kiosks from retrying in step after an outage.
type backoff struct {
	base, max time.Duration
	failures  int
}

func (b *backoff) reset() { b.failures = 0 }

// next records a failure and returns how long to wait before the next try.
func (b *backoff) next() time.Duration {
	b.failures++
	d := b.base
	for i := 1; i < b.failures && d < b.max; i++ {
		d *= 2
	}
	if d > b.max {
		d = b.max
	}
	return d/2 + rand.N(d/2+1)
}

// permanent returns the wait after a permanent error: the cap, so a broken
// configuration is retried rarely (an admin may fix it without a restart).
func (b *backoff) permanent() time.Duration {
	b.failures++
	return b.max/2 + rand.N(b.max/2+1)
}
