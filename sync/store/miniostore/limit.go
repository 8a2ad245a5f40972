package miniostore

import (
	"net"
	"sync"
	"time"
)

// limiter is a token bucket shared by every connection of one store, so the
// bandwidth limit holds for the device as a whole, not per connection.
type limiter struct {
	mu     sync.Mutex
	rate   float64 // bytes per second
	burst  float64
	tokens float64
	last   time.Time
}

func newLimiter(bytesPerSec int) *limiter {
	b := float64(bytesPerSec) / 4 // a quarter second of burst
	if b < 4096 {
		b = 4096
	}
	return &limiter{rate: float64(bytesPerSec), burst: b, tokens: b, last: time.Now()}
}

// wait blocks until n bytes may be sent (n must be <= burst).
func (l *limiter) wait(n int) {
	l.mu.Lock()
	now := time.Now()
	l.tokens += now.Sub(l.last).Seconds() * l.rate
	if l.tokens > l.burst {
		l.tokens = l.burst
	}
	l.last = now
	l.tokens -= float64(n)
	var d time.Duration
	if l.tokens < 0 {
		d = time.Duration(-l.tokens / l.rate * float64(time.Second))
	}
	l.mu.Unlock()
	if d > 0 {
		time.Sleep(d)
	}
}

// limitedConn throttles writes (uploads); reads (small answers) are free.
type limitedConn struct {
	net.Conn
	lim *limiter
}

func (c *limitedConn) Write(p []byte) (int, error) {
	written := 0
	for len(p) > 0 {
		n := len(p)
		if max := int(c.lim.burst); n > max {
			n = max
		}
		c.lim.wait(n)
		m, err := c.Conn.Write(p[:n])
		written += m
		if err != nil {
			return written, err
		}
		p = p[n:]
	}
	return written, nil
}
