package mw

import (
	"fmt"
	"time"
)

// What the duration options (WithTTL, TTL, WithStartupWindow,
// WithFetchTimeout, WithMaxStale, WithRefreshAhead) take. Each gives zero
// a meaning of its own; none gives one to a negative duration; and a
// positive one below minDuration is refused as a mistake of unit: a bare
// number is a time.Duration of that many nanoseconds, so WithTTL(300) is
// 300 ns, not the 300 s meant.

// minDuration is the shortest positive duration an option takes. Nothing
// mw times is shorter than a millisecond: a loopback answer takes about
// that, and Lambda counts time in milliseconds.
const minDuration = time.Millisecond

// noFetchTimeout is WithFetchTimeout(0): 15 minutes, the longest timeout
// Lambda gives a function ("Lambda quotas"), so that within an invoke its
// deadline (less the reserve) alone bounds a fetch, while a fetch that no
// deadline bounds (a refresh that runs apart from its invoke, a context
// without one) still ends.
const noFetchTimeout = 15 * time.Minute

// durationOption names a duration option in messages.
type durationOption struct {
	name  string // as code calls it: "WithTTL"
	short string // what a duration below minDuration would do
	zero  string // what 0 means for it
}

var (
	optTTL           = durationOption{"WithTTL", "a TTL this short fetches on almost every invoke", "WithTTL(0) fetches on every invoke"}
	optItemTTL       = durationOption{"TTL", "a TTL this short fetches on almost every invoke", "TTL(0) fetches on every invoke"}
	optStartupWindow = durationOption{"WithStartupWindow", "a startup window this short ends before the extension can answer",
		"WithStartupWindow(0) never waits for the extension to start"}
	optFetchTimeout = durationOption{"WithFetchTimeout", "a fetch timeout this short ends every fetch before its answer",
		"WithFetchTimeout(0) leaves the invoke's deadline alone to bound a fetch"}
	optMaxStale     = durationOption{"WithMaxStale", "a value this briefly stale is never served", "WithMaxStale(0) never serves a stale value"}
	optRefreshAhead = durationOption{"WithRefreshAhead", "a refresh this little ahead of expiry almost never runs ahead",
		"WithRefreshAhead(0) turns refreshing ahead off"}
)

// check reports what is wrong with d for o: a negative duration, or a
// positive one below minDuration.
func (o durationOption) check(d time.Duration) error {
	switch {
	case d < 0:
		return fmt.Errorf("%s(%v): a duration here cannot be negative; %s", o.name, d, o.zero)
	case d > 0 && d < time.Microsecond:
		return fmt.Errorf("%s(%v): %s; a bare number is a time.Duration of that many nanoseconds: did you mean %d * time.Second?",
			o.name, d, o.short, int64(d))
	case d > 0 && d < minDuration:
		return fmt.Errorf("%s(%v): %s, and mw times nothing below a millisecond: did you mean %d * time.Millisecond?",
			o.name, d, o.short, int64(d/time.Microsecond))
	}
	return nil
}

// checkDurations reports the first duration option of c that is refused,
// as a mistake in code.
func checkDurations(c *config) *declError {
	for _, v := range [...]struct {
		o durationOption
		d time.Duration
	}{
		{optTTL, c.ttl}, {optStartupWindow, c.startupWindow}, {optFetchTimeout, c.fetchTimeout},
		{optMaxStale, c.maxStale}, {optRefreshAhead, c.refreshAhead},
	} {
		if err := v.o.check(v.d); err != nil {
			return &declError{msg: err.Error()}
		}
	}
	return nil
}
