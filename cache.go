package mw

import (
	"context"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lambda-mw/mw/internal/resolved"
)

// retryFailedAfter is how long an item whose refresh failed is served stale
// (or, if optional, left without a value) before an invoke tries again.
const retryFailedAfter = 10 * time.Second

// refreshCoalesce is how recent a forced refresh must be for RefreshSecret
// and RefreshParameter to return its value instead of fetching again: the
// callers of a stampede that arrive just after it ended get its result.
const refreshCoalesce = time.Second

// cache holds one Wrap's values, and owns their concurrency the way
// singleflight's Group does: one lock, and at most one fetch in flight per
// item and kind of fetch, which every caller that needs it joins. Invokes
// and forced refreshes use the same three steps: acquire a flight (lead
// it or join it), land it (always, panics included), await it.
type cache struct {
	items    []item          // declared, deduplicated; fixed after Wrap
	index    *resolved.Index // ref -> position in items; fixed after Wrap
	ttl      time.Duration
	maxStale time.Duration
	ahead    time.Duration

	mu      sync.Mutex
	entries []entry      // by position in items
	flights [][2]*flight // by position: the normal and the forced fetch in flight
	seq     uint64       // numbers flights in the order they start

	// holder has the latest complete Set, for handlers. snap is what the
	// warm path reads without locking: that Set, and until when an invoke
	// needs no look at the entries.
	holder resolved.Holder
	snap   atomic.Pointer[snapshot]

	// onLand, when set, runs after each landing, with whether the flight
	// was forced: a seam for this package's tests.
	onLand func(forced bool)
}

// entry is the cached state of one item. A failed fetch never touches the
// last good value: it only records the failure.
type entry struct {
	value   string
	values  map[string]string // a path's parameters
	fetched time.Time         // zero until the first success
	expires time.Time         // fetched + TTL
	seq     uint64            // the flight that fetched value
	failed  *FetchError       // the last fetch failed; nil after a success
	retryAt time.Time         // after a failure, no new fetch before this
	forced  time.Time         // the last forced refresh that succeeded
}

// The states of an entry at now, each decided here only.
func (e *entry) has() bool                             { return !e.fetched.IsZero() }
func (e *entry) fresh(now time.Time) bool              { return e.has() && now.Before(e.expires) }
func (e *entry) held(now time.Time) bool               { return e.failed != nil && now.Before(e.retryAt) }
func (e *entry) staleness(now time.Time) time.Duration { return now.Sub(e.expires) }

// servableStale reports whether the last good value may be served past its
// TTL, as when a refresh fails.
func (c *cache) servableStale(e *entry, now time.Time) bool {
	return e.has() && e.staleness(now) <= c.maxStale
}

// servable reports whether an item whose fetch failed may still be served:
// with its last good value if that is not too stale, or, if optional,
// without one.
func (c *cache) servable(i int, now time.Time) bool {
	return c.servableStale(&c.entries[i], now) || c.items[i].optional
}

// A flight is one fetch of one item in flight. Callers that need the item
// while it flies wait for it instead of fetching again.
type flight struct {
	done  chan struct{}
	force bool
	seq   uint64
	why   fetchReason
	stale bool // the item has a stale value to fall back on: fetch briefly
	// detached: a refresh of an expired item with a value to serve meanwhile,
	// which runs apart from the invoke that started it (see runDetached).
	detached bool
	// waitUntil is when, on the monotonic clock, callers with a stale value
	// to serve stop waiting for the flight: the stale budget after its start.
	waitUntil time.Time
	out       landing
}

// landing is how a flight ended, set before done is closed.
type landing struct {
	err *FetchError
	// abandoned: the fetch ended because its leader's caller gave up
	// (canceled, or out of time), which says nothing about the item: it
	// is not recorded, and waiters with time left fetch again.
	abandoned bool
}

func newCache(d declarations, cfg *config) *cache {
	c := &cache{
		items:    d.items,
		index:    d.index,
		ttl:      cfg.ttl,
		maxStale: cfg.maxStale,
		ahead:    cfg.refreshAhead,
		entries:  make([]entry, len(d.items)),
		flights:  make([][2]*flight, len(d.items)),
		onLand:   cfg.onLand,
	}
	if len(c.items) == 0 {
		// Nothing to fetch, ever: one Set serves every invoke.
		s := &resolved.Set{Index: c.index}
		c.holder.Store(s)
		c.snap.Store(&snapshot{set: s, until: farFuture})
	}
	return c
}

var farFuture = time.Unix(1<<62, 0)

func (c *cache) ttlOf(it item) time.Duration {
	if it.hasTTL {
		return it.ttl
	}
	return c.ttl
}

// A ticket is a caller's place in the flight of one item: as its leader,
// who must fetch and land it, or as one who waits for it.
type ticket struct {
	i    int
	f    *flight
	lead bool
	// stale: a caller that joins has a stale value to fall back on, and
	// waits no longer than a stale item's budget, whatever the flight's.
	stale bool
}

// acquire returns tickets for items: the flight in flight that serves each,
// or a new one the caller leads. A forced request is served by a forced
// flight only; any other by either. c.mu must be held.
func (c *cache) acquire(items []int, force bool, now time.Time) []ticket {
	out := make([]ticket, len(items))
	for k, i := range items {
		fs := &c.flights[i]
		stale := !force && c.servableStale(&c.entries[i], now)
		switch {
		case fs[1] != nil:
			out[k] = ticket{i: i, f: fs[1], stale: stale}
		case !force && fs[0] != nil:
			out[k] = ticket{i: i, f: fs[0], stale: stale}
		default:
			f := c.start(i, force, now)
			// The leader of a detached refresh waits for it as a caller
			// with a stale value to serve does: within its budget.
			out[k] = ticket{i: i, f: f, lead: true, stale: f.detached}
		}
	}
	return out
}

// start registers a new flight for item i. c.mu must be held.
func (c *cache) start(i int, force bool, now time.Time) *flight {
	e := &c.entries[i]
	c.seq++
	f := &flight{done: make(chan struct{}), force: force, seq: c.seq, why: reasonInitial}
	switch {
	case force:
		f.why = reasonForced
	case e.fresh(now):
		f.why = reasonAhead
	case e.has():
		f.why = reasonExpired
	}
	f.stale = !force && c.servableStale(e, now)
	f.detached = f.stale && f.why == reasonExpired
	f.waitUntil = time.Now().Add(staleBudget)
	slot := 0
	if force {
		slot = 1
	}
	c.flights[i][slot] = f
	return f
}

// land ends flight f of item i with what its fetch got. It must run for
// every flight a caller leads, panics included: waiters wait for it. A
// value replaces the entry's only if no later flight has landed one; a
// failure is recorded unless the flight was abandoned.
func (c *cache) land(i int, f *flight, r fetched, now time.Time) {
	c.mu.Lock()
	e := &c.entries[i]
	switch {
	case r.err == nil && f.seq > e.seq:
		forced := e.forced
		if f.force {
			forced = now
		}
		*e = entry{value: r.value, values: r.values, fetched: now, expires: now.Add(c.ttlOf(c.items[i])), seq: f.seq, forced: forced}
		if f.force {
			// Published before any caller can find the refresh recent
			// (recentlyForced) and take it for its own: none may read the
			// value from before it.
			c.patch(i)
		}
	case r.err != nil && !r.abandoned && f.seq > e.seq:
		if e.has() && now.After(e.expires) {
			r.err.Stale = e.staleness(now)
		}
		e.failed, e.retryAt = r.err, now.Add(retryFailedAfter)
	}
	if f.detached {
		// No invoke waits for it to publish what landed: the next one
		// looks, rather than serve the last good value until its snapshot
		// expires.
		c.snap.Store(nil)
	}
	f.out = landing{err: r.err, abandoned: r.abandoned}
	for slot := range c.flights[i] {
		if c.flights[i][slot] == f {
			c.flights[i][slot] = nil
		}
	}
	c.mu.Unlock()
	close(f.done)
	if c.onLand != nil {
		c.onLand(f.force)
	}
}

// await waits until f has landed or ctx ends, and reports whether it
// landed.
func await(ctx context.Context, f *flight) bool {
	select {
	case <-f.done:
		return true
	case <-ctx.Done():
	}
	select {
	case <-f.done:
		return true
	default:
		return false
	}
}

// plan is what one invoke needs done at now.
type plan struct {
	hits  int
	need  []int    // items to fetch before the handler runs
	ahead []ticket // refreshes ahead of expiry this invoke leads, beside the handler
}

// plan sorts the items for an invoke at now. A fresh item is a hit, and if
// it is within the refresh-ahead window, this invoke refreshes it beside
// the handler. An item whose last fetch failed is served as it is until
// its retry time (held). Any other item is needed.
func (c *cache) plan(now time.Time) plan {
	c.mu.Lock()
	defer c.mu.Unlock()
	var p plan
	for i := range c.items {
		switch {
		case !c.needs(i, now):
			p.hits++
			if c.dueAhead(i, now) {
				p.ahead = append(p.ahead, c.acquire([]int{i}, false, now)[0])
			}
		default:
			p.need = append(p.need, i)
		}
	}
	return p
}

// needs reports whether item i needs a fetch before an invoke at now may
// serve it: it is neither fresh nor held after a failure with something to
// serve. c.mu must be held.
func (c *cache) needs(i int, now time.Time) bool {
	e := &c.entries[i]
	switch {
	case e.fresh(now):
		return false
	case !c.servable(i, now):
		return true
	case e.held(now):
		return false
	}
	return !c.refreshedApart(i)
}

// refreshedApart reports whether item i, which has a value to serve, is
// being refreshed by a flight whose waiters' budget has passed: an invoke
// serves what it has rather than wait for it. c.mu must be held.
func (c *cache) refreshedApart(i int) bool {
	for _, f := range c.flights[i] {
		if f != nil && !time.Now().Before(f.waitUntil) {
			return true
		}
	}
	return false
}

// stillNeeded returns the items of need that still need a fetch at now:
// one a concurrent caller's flight landed since need was drawn up is
// served as it is, not fetched again. c.mu must be held.
func (c *cache) stillNeeded(need []int, now time.Time) []int {
	out := need[:0:0]
	for _, i := range need {
		if c.needs(i, now) {
			out = append(out, i)
		}
	}
	return out
}

// dueAhead reports whether a fresh item is to be refreshed ahead of its
// expiry now, by this invoke. c.mu must be held.
func (c *cache) dueAhead(i int, now time.Time) bool {
	e := &c.entries[i]
	return c.ahead > 0 && e.fresh(now) && !now.Before(e.expires.Add(-c.ahead)) &&
		c.flights[i] == [2]*flight{} && !e.held(now)
}

// recentlyForced reports whether item i was refreshed by force, with
// success, within refreshCoalesce of now.
func (c *cache) recentlyForced(i int, now time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	e := &c.entries[i]
	return e.failed == nil && !e.forced.IsZero() && now.Sub(e.forced) < refreshCoalesce
}

// snapshot is a published Set, with what the warm path needs to know of it.
type snapshot struct {
	set    *resolved.Set
	until  time.Time // no invoke needs a look at the entries before this
	stale  []item    // served past their TTL, for the span
	absent []item    // optional items without a value, for the span
}

// settled is what an invoke can serve once its fetches have ended.
type settled struct {
	failed []*FetchError // required items with no servable value
	stale  []item        // served past their TTL
	absent []item        // optional items served without a value
}

// settle builds the Set from the entries at now. seen holds failures this
// invoke saw that the entries may not (a fetch abandoned, a wait cut
// short). When no required item fails, the Set is published for later
// invokes.
func (c *cache) settle(now time.Time, seen map[int]*FetchError) settled {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out settled
	b := setBuilder{set: &resolved.Set{Index: c.index, Values: make([]string, len(c.items))}, until: farFuture}
	for i, it := range c.items {
		e := &c.entries[i]
		failure := e.failed
		if f, ok := seen[i]; ok {
			failure = f
		}
		switch {
		case e.has() && (failure == nil || now.Before(e.expires)):
			// Fetched by this invoke, by a concurrent one, or a hit; a
			// failed refresh ahead of expiry leaves it fresh.
			b.value(i, e)
			next := e.expires.Add(-c.ahead)
			if failure != nil && next.Before(e.retryAt) {
				next = minTime(e.retryAt, e.expires)
			}
			b.until = minTime(b.until, next)
		case c.servableStale(e, now):
			b.value(i, e)
			b.stale(i, e.staleness(now))
			out.stale = append(out.stale, it)
			b.until = minTime(b.until, e.expires.Add(c.maxStale))
			if c.flights[i] == [2]*flight{} {
				// Nothing is refreshing it: look again when a retry is
				// due. A refresh in flight publishes when it lands.
				b.until = minTime(b.until, e.retryAt)
			}
		case it.optional && failure != nil:
			out.absent = append(out.absent, it)
			b.absent(i, it, failure)
			b.until = minTime(b.until, e.retryAt)
		default:
			if failure == nil { // cannot happen: a required item with no value has failed
				failure = it.fetchError(nil)
			}
			out.failed = append(out.failed, failure)
		}
	}
	if len(out.failed) == 0 {
		b.found()
		c.holder.Store(b.set)
		c.snap.Store(&snapshot{set: b.set, until: b.until, stale: out.stale, absent: out.absent})
	}
	return out
}

// patch publishes item i's value, as its entry now holds it, in a copy of
// the Set handlers read: for a forced refresh, whose value must be seen at
// once, even when settle could not publish a new Set because another
// required item has no value to serve. c.mu must be held.
func (c *cache) patch(i int) {
	old, e, n := c.holder.Load(), &c.entries[i], len(c.items)
	if old == nil || !e.has() || len(old.Values) < n {
		return
	}
	b := setBuilder{set: &resolved.Set{Index: old.Index, Values: slices.Clone(old.Values[:n]), Trees: maps.Clone(old.Trees)}}
	if len(old.Errs) >= n {
		b.set.Errs = slices.Clone(old.Errs[:n])
		b.set.Errs[i] = nil
	}
	if len(old.Stale) >= n {
		b.set.Stale = slices.Clone(old.Stale[:n])
		b.set.Stale[i] = 0
	}
	b.value(i, e)
	b.found()
	c.holder.Store(b.set)
}

// setBuilder fills one Set.
type setBuilder struct {
	set   *resolved.Set
	until time.Time
}

func (b *setBuilder) value(i int, e *entry) {
	b.set.Values[i] = e.value
	if e.values != nil {
		if b.set.Trees == nil {
			b.set.Trees = map[int]map[string]string{}
		}
		b.set.Trees[i] = e.values
	}
}

func (b *setBuilder) stale(i int, d time.Duration) {
	if b.set.Stale == nil {
		b.set.Stale = make([]time.Duration, len(b.set.Values))
	}
	b.set.Stale[i] = d
}

func (b *setBuilder) absent(i int, it item, failure *FetchError) {
	if it.hasDef {
		b.set.Values[i] = it.def
		return
	}
	if b.set.Errs == nil {
		b.set.Errs = make([]error, len(b.set.Values))
	}
	b.set.Errs[i] = failure
}

// found indexes the parameters found under declared paths that were not
// declared themselves, by full name, after the declared values.
func (b *setBuilder) found() {
	if b.set.Trees == nil {
		return
	}
	paths := slices.Sorted(maps.Keys(b.set.Trees)) // declaration order: the first path wins
	b.set.Found = map[string]int{}
	for _, i := range paths {
		for _, name := range slices.Sorted(maps.Keys(b.set.Trees[i])) {
			if _, declared := b.set.Index.Lookup(resolved.Parameter, name); declared {
				continue
			}
			if _, dup := b.set.Found[name]; dup {
				continue
			}
			b.set.Found[name] = len(b.set.Values)
			b.set.Values = append(b.set.Values, b.set.Trees[i][name])
			if b.set.Stale != nil {
				b.set.Stale = append(b.set.Stale, b.set.Stale[i])
			}
		}
	}
}

func minTime(t time.Time, more ...time.Time) time.Time {
	for _, u := range more {
		if u.Before(t) {
			t = u
		}
	}
	return t
}
