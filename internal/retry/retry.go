// Package retry holds mw's retry schedules: how long to wait before the
// next attempt of a call, by what failed, within the call's context.
package retry

import (
	"context"
	"time"

	"github.com/cenkalti/backoff/v4"
)

// The schedules. Failures that a source may recover from at once (a
// connection refused or reset, a server error) are retried quickly: 20 ms
// doubling to 250 ms, ±25 % jitter. Throttling is retried with full jitter
// over a longer range, 0 to 2 × (100 ms doubling to 1 s), so that
// environments throttled together do not retry together.
const (
	initial    = 20 * time.Millisecond
	maxWait    = 250 * time.Millisecond
	multiplier = 2
	jitter     = 0.25

	throttleInitial = 100 * time.Millisecond
	throttleMax     = time.Second
	throttleJitter  = 1 // full jitter: 0 to twice the interval
)

// Stop is what Next returns when no attempt may follow.
const Stop = backoff.Stop

// A Schedule is the waits between the attempts of one call, by what
// failed. A wait that would end past the context's deadline is not
// started, so the last real error is reported, not the deadline.
type Schedule struct {
	ctx      context.Context
	normal   backoff.BackOff
	throttle backoff.BackOff
}

// New returns the schedule of one call made within ctx.
func New(ctx context.Context) *Schedule {
	exp := func(initial, max time.Duration, jitter float64) backoff.BackOff {
		return backoff.NewExponentialBackOff(
			backoff.WithInitialInterval(initial),
			backoff.WithMaxInterval(max),
			backoff.WithMultiplier(multiplier),
			backoff.WithRandomizationFactor(jitter),
			backoff.WithMaxElapsedTime(0), // the context bounds it
		)
	}
	return &Schedule{
		ctx:      ctx,
		normal:   exp(initial, maxWait, jitter),
		throttle: exp(throttleInitial, throttleMax, throttleJitter),
	}
}

// Next returns the wait before the next attempt, on the throttling
// schedule or the other, and at least atLeast, as a server's Retry-After
// asks; or Stop.
func (s *Schedule) Next(throttled bool, atLeast time.Duration) time.Duration {
	b := s.normal
	if throttled {
		b = s.throttle
	}
	d := max(b.NextBackOff(), atLeast)
	if dl, ok := s.ctx.Deadline(); ok && d != Stop && time.Until(dl) < d {
		return Stop
	}
	return d
}

// Sleep waits for d, or until ctx ends, and reports whether it waited.
func Sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
