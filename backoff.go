package mw

import (
	"context"
	"time"

	"github.com/cenkalti/backoff/v4"
)

// The retry schedules, one per call. Failures that a source may recover
// from at once (a connection refused or reset, a server error) are retried
// quickly: 20 ms doubling to 250 ms, ±25 % jitter. Throttling is retried
// with full jitter over a longer range, 0 to 2 × (100 ms doubling to 1 s),
// so that environments throttled together do not retry together.
const (
	retryInitial    = 20 * time.Millisecond
	retryMax        = 250 * time.Millisecond
	retryMultiplier = 2
	retryJitter     = 0.25

	throttleInitial = 100 * time.Millisecond
	throttleMax     = time.Second
	throttleJitter  = 1 // full jitter: 0 to twice the interval
)

// schedule is the waits between the attempts of one call, by what failed.
// A wait that would end past the context's deadline is not started, so the
// last real error is reported, not the deadline.
type schedule struct {
	ctx      context.Context
	normal   backoff.BackOff
	throttle backoff.BackOff
}

func newSchedule(ctx context.Context) *schedule {
	exp := func(initial, max time.Duration, jitter float64) backoff.BackOff {
		return backoff.NewExponentialBackOff(
			backoff.WithInitialInterval(initial),
			backoff.WithMaxInterval(max),
			backoff.WithMultiplier(retryMultiplier),
			backoff.WithRandomizationFactor(jitter),
			backoff.WithMaxElapsedTime(0), // the context bounds it
		)
	}
	return &schedule{
		ctx:      ctx,
		normal:   exp(retryInitial, retryMax, retryJitter),
		throttle: exp(throttleInitial, throttleMax, throttleJitter),
	}
}

// next returns the wait before the next attempt, or backoff.Stop.
func (s *schedule) next(throttled bool) time.Duration {
	b := s.normal
	if throttled {
		b = s.throttle
	}
	d := b.NextBackOff()
	if dl, ok := s.ctx.Deadline(); ok && d != backoff.Stop && time.Until(dl) < d {
		return backoff.Stop
	}
	return d
}

// sleep waits for d, or until ctx ends, and reports whether it waited.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
