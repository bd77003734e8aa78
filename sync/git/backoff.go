package git

import (
	"math/rand/v2"
	"time"
)

// Backoff spaces out retries of a failing remote: exponential growth with
// full jitter (a uniformly random wait between 0 and min(Max, Base·2^n)),
// so that many repositories failing together do not retry in lockstep.
// The zero value uses a 1s base and a 5m cap. It is not safe for
// concurrent use; keep one per repository.
type Backoff struct {
	Base time.Duration
	Max  time.Duration

	attempt int
	// rand returns a value in [0, n); nil means math/rand/v2.
	rand func(n int64) int64
}

// Next returns how long to wait before the next attempt and counts one
// more failure.
func (b *Backoff) Next() time.Duration {
	base, max := b.Base, b.Max
	if base <= 0 {
		base = time.Second
	}
	if max <= 0 {
		max = 5 * time.Minute
	}
	ceil := max
	if b.attempt < 62 {
		if d := base << b.attempt; d > 0 && d < max && d>>b.attempt == base {
			ceil = d
		}
	}
	b.attempt++
	rnd := b.rand
	if rnd == nil {
		rnd = rand.Int64N
	}
	return time.Duration(rnd(int64(ceil) + 1))
}

// Reset forgets past failures, after a success.
func (b *Backoff) Reset() { b.attempt = 0 }

// Attempts is how many failures were counted since the last Reset.
func (b *Backoff) Attempts() int { return b.attempt }
