package engine

import "time"

// Clock tells the time. Tests inject a fake one so cron and backoff need no
// waiting.
type Clock interface {
	Now() time.Time
}

// SystemClock is the real time.
var SystemClock Clock = systemClock{}

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }
