package mw

import "time"

// Internals that the external tests (package mw_test) need: limits to test
// against, and a settable clock.
var (
	MaxBody          = maxBody
	RetryFailedAfter = retryFailedAfter
	StaleBudget      = staleBudget
	ProbeEvery       = probeEvery
)

// WithClock makes a Wrap read time from now (tests only).
func WithClock(now func() time.Time) Option {
	return optionFunc(func(c *config) { c.now = now })
}
