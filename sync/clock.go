package sync

import "time"

// Clock tells the time. Tests inject a fake one so cron and backoff need no
// waiting.
type Clock interface {
	Now() time.Time
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }
