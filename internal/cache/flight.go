package cache

import (
	"context"
	"time"
)

// A Reason is why an item is fetched.
type Reason int

// The reasons.
const (
	Initial Reason = iota // it had no value yet
	Expired               // its TTL had passed
	Ahead                 // within the refresh-ahead window
	Forced                // a forced refresh (RefreshSecret)
)

// String is the reason as telemetry names it.
func (r Reason) String() string {
	return [...]string{"initial", "expired", "ahead", "forced"}[r]
}

// A flight is one fetch of one item in flight. Callers that need the item
// while it flies wait for it instead of fetching again.
type flight struct {
	done  chan struct{}
	force bool
	seq   uint64
	why   Reason
	stale bool // the item has a stale value to fall back on: fetch briefly
	// detached: a refresh of an expired item with a value to serve
	// meanwhile, which runs apart from the invoke that started it.
	detached bool
	// waitUntil is when, on the monotonic clock, callers with a stale value
	// to serve stop waiting for the flight: the stale budget after its start.
	waitUntil time.Time
	out       Result // how it ended, set before done is closed
}

// A Ticket is a caller's place in the flight of one item: as its leader,
// who must fetch and Land it, or as one who waits for it.
type Ticket struct {
	I    int  // the item's position
	Lead bool // the caller fetches, and must Land the flight
	// Stale says that the caller has a value to serve meanwhile, and waits
	// no longer than WaitUntil.
	Stale bool
	f     *flight
}

// Reason is why the flight fetches.
func (t Ticket) Reason() Reason { return t.f.why }

// HasStale reports whether the flight's item had a value to fall back on
// when the flight started: such flights are fetched briefly, in calls of
// their own.
func (t Ticket) HasStale() bool { return t.f.stale }

// Detached reports whether the flight is a refresh of an expired item with
// a value to serve, which runs apart from the invoke that started it,
// bounded by the fetch timeout rather than by an invoke.
func (t Ticket) Detached() bool { return t.f.detached }

// WaitUntil is when a caller with a value to serve stops waiting.
func (t Ticket) WaitUntil() time.Time { return t.f.waitUntil }

// Landed returns how the flight ended, once Await has reported it landed.
func (t Ticket) Landed() Result { return t.f.out }

// Result is what a fetch of one item brought back.
type Result struct {
	Value  string
	Values map[string]string // a path's parameters
	Type   string            // the item's type as AWS names it, if the source said
	Err    error             // why there is no value
	// Abandoned says that the fetch ended because its leader's caller gave
	// up (canceled, or out of time), which says nothing about the item: it
	// is not recorded, and waiters with time left fetch again.
	Abandoned bool
}

// Acquire returns tickets for the items of need: the flight in flight that
// serves each, or a new one the caller leads. A forced request is served by
// a forced flight only; any other by either. Unless force is set, an item
// that no longer needs a fetch at now (a concurrent flight landed since
// need was drawn up) is left out, and counted in skipped.
func (c *Cache) Acquire(need []int, force bool, now time.Time) (tix []Ticket, skipped int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	tix = make([]Ticket, 0, len(need))
	for _, i := range need {
		if !force && !c.needs(i, now) {
			skipped++
			continue
		}
		fs := &c.flights[i]
		stale := !force && c.servableStale(&c.entries[i], now)
		switch {
		case fs[1] != nil:
			tix = append(tix, Ticket{I: i, f: fs[1], Stale: stale})
		case !force && fs[0] != nil:
			tix = append(tix, Ticket{I: i, f: fs[0], Stale: stale})
		default:
			f := c.start(i, force, now)
			// The leader of a detached refresh waits for it as a caller
			// with a stale value to serve does: within its budget.
			tix = append(tix, Ticket{I: i, f: f, Lead: true, Stale: f.detached})
		}
	}
	return tix, skipped
}

// start registers a new flight for item i. c.mu must be held.
func (c *Cache) start(i int, force bool, now time.Time) *flight {
	e := &c.entries[i]
	c.seq++
	f := &flight{done: make(chan struct{}), force: force, seq: c.seq, why: Initial}
	switch {
	case force:
		f.why = Forced
	case e.fresh(now):
		f.why = Ahead
	case e.has():
		f.why = Expired
	}
	f.stale = !force && c.servableStale(e, now)
	f.detached = f.stale && f.why == Expired
	f.waitUntil = time.Now().Add(c.cfg.StaleBudget)
	slot := 0
	if force {
		slot = 1
	}
	c.flights[i][slot] = f
	return f
}

// Land ends the flight of t, which the caller leads, with what its fetch
// got. It must run for every flight a caller leads, panics included:
// waiters wait for it. A value replaces the entry's only if no later flight
// has landed one; a failure is recorded unless the flight was abandoned.
func (c *Cache) Land(t Ticket, r Result, now time.Time) {
	i, f := t.I, t.f
	c.mu.Lock()
	e := &c.entries[i]
	switch {
	case r.Err == nil && f.seq > e.seq:
		forced := e.forced
		if f.force {
			forced = now
		}
		*e = entry{value: r.Value, values: r.Values, typ: r.Type, fetched: now, expires: now.Add(c.cfg.Items[i].TTL), seq: f.seq, forced: forced}
		if f.force {
			// Published before any caller can find the refresh recent
			// (RecentlyForced) and take it for its own: none may read the
			// value from before it.
			c.patch(i)
		}
	case r.Err != nil && !r.Abandoned && f.seq > e.seq:
		e.failed, e.retryAt = r.Err, now.Add(RetryFailedAfter)
	}
	if f.detached {
		// No invoke waits for it to publish what landed: the next one
		// looks, rather than serve the last good value until its snapshot
		// expires.
		c.snap.Store(nil)
	}
	f.out = r
	for slot := range c.flights[i] {
		if c.flights[i][slot] == f {
			c.flights[i][slot] = nil
		}
	}
	c.mu.Unlock()
	close(f.done)
	if c.cfg.OnLand != nil {
		c.cfg.OnLand(f.force)
	}
}

// Await waits until t's flight has landed or ctx ends, and reports whether
// it landed.
func Await(ctx context.Context, t Ticket) bool {
	select {
	case <-t.f.done:
		return true
	case <-ctx.Done():
	}
	select {
	case <-t.f.done:
		return true
	default:
		return false
	}
}

// RecentlyForced reports whether item i was refreshed by force, with
// success, within a second of now: a forced refresh then takes that one's
// value, which is published already.
func (c *Cache) RecentlyForced(i int, now time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	e := &c.entries[i]
	return e.failed == nil && !e.forced.IsZero() && now.Sub(e.forced) < refreshCoalesce
}
