package mw

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/lambda-mw/mw/internal/resolved"
)

// retryFailedAfter is how long an item whose refresh failed is served stale
// (or, if optional, left without a value) before an invoke tries again.
const retryFailedAfter = 10 * time.Second

// entry is the cached state of one item. A failed fetch never touches the
// last good value: it only records the failure.
type entry struct {
	value   string
	fetched time.Time   // zero until the first success
	expires time.Time   // fetched + TTL
	failed  *FetchError // the last fetch failed; nil after a success
	retryAt time.Time   // after a failure, no new fetch before this
	forced  time.Time   // the last forced refresh that succeeded
}

// A call is one fetch of one item in flight. Invokes that need the same item
// at the same time wait on it instead of fetching again.
type call struct {
	done  chan struct{}
	force bool
	err   *FetchError // set before done is closed
}

// cache holds one Wrap's values. Everything in it belongs to that Wrap alone.
type cache struct {
	items    []item          // declared, deduplicated; fixed after Wrap
	index    *resolved.Index // name -> position in items; fixed after Wrap
	ttl      time.Duration
	maxStale time.Duration
	ahead    time.Duration

	mu      sync.Mutex
	entries []entry // by position in items; guarded by mu
	calls   []*call // the fetch in flight per item, or nil; guarded by mu

	// holder has the latest complete Set, for handlers. snap is what the
	// warm path reads without locking: that Set, and until when an invoke
	// needs no look at the entries.
	holder resolved.Holder
	snap   atomic.Pointer[snapshot]
}

type snapshot struct {
	set    *resolved.Set
	until  time.Time
	stale  []item // served past their TTL, for the span
	absent []item // optional items without a value, for the span
}

func newCache(d declarations, cfg *config) *cache {
	c := &cache{
		items:    d.items,
		index:    d.index,
		ttl:      cfg.ttl,
		maxStale: cfg.maxStale,
		ahead:    cfg.refreshAhead,
		entries:  make([]entry, len(d.items)),
		calls:    make([]*call, len(d.items)),
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

// pending is an item an invoke needs fetched: by itself (lead) or by the
// concurrent invoke already fetching it.
type pending struct {
	i    int
	call *call
	lead bool
}

// plan sorts the items for an invoke at now. A fresh item is a hit, and if
// it is within the refresh-ahead window and withAhead is set, this invoke
// starts refreshing it in the background (ahead): the caller must run every
// call plan starts. An item whose last fetch failed is served as it is
// until its retry time (held). Any other item is fetched: the invoke joins
// the fetch in flight or starts one, which it then leads (todo).
func (c *cache) plan(now time.Time, withAhead bool) (hits int, todo, ahead []pending) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, it := range c.items {
		e := &c.entries[i]
		fresh := !e.fetched.IsZero() && now.Before(e.expires)
		held := e.failed != nil && now.Before(e.retryAt) && c.servable(it, e, now)
		switch {
		case fresh || held:
			hits++
			if withAhead && fresh && c.ahead > 0 && !now.Before(e.expires.Add(-c.ahead)) && c.calls[i] == nil &&
				(e.failed == nil || !now.Before(e.retryAt)) {
				ahead = append(ahead, pending{i: i, call: c.start(i, false), lead: true})
			}
		case c.calls[i] != nil:
			todo = append(todo, pending{i: i, call: c.calls[i]})
		default:
			todo = append(todo, pending{i: i, call: c.start(i, false), lead: true})
		}
	}
	return hits, todo, ahead
}

// start registers a new call for item i. c.mu must be held.
func (c *cache) start(i int, force bool) *call {
	cl := &call{done: make(chan struct{}), force: force}
	c.calls[i] = cl
	return cl
}

// servable reports whether an item whose fetch failed may still be served:
// with its last good value if that is not too stale, or, if optional,
// without one. c.mu must be held.
func (c *cache) servable(it item, e *entry, now time.Time) bool {
	if !e.fetched.IsZero() && now.Sub(e.expires) <= c.maxStale {
		return true
	}
	return it.optional
}

// finish ends the call for item i. On success the value is stored with its
// expiry; on failure the last good value is kept and the failure recorded.
func (c *cache) finish(i int, cl *call, value string, now time.Time, err *FetchError) {
	c.mu.Lock()
	e := &c.entries[i]
	if err == nil {
		forced := e.forced
		if cl.force {
			forced = now
		}
		*e = entry{value: value, fetched: now, expires: now.Add(c.ttlOf(c.items[i])), forced: forced}
	} else {
		if !e.fetched.IsZero() && now.After(e.expires) {
			err.Stale = now.Sub(e.expires)
		}
		e.failed, e.retryAt = err, now.Add(retryFailedAfter)
	}
	cl.err = err
	c.calls[i] = nil
	c.mu.Unlock()
	close(cl.done)
}

// settled is what an invoke can serve once its fetches have ended.
type settled struct {
	set    *resolved.Set
	failed []*FetchError // required items with no servable value
	stale  []item        // served past their TTL
	absent []item        // optional items served without a value
}

// settle builds the Set from the entries at now. override holds failures
// this invoke saw that the entries may not (a wait that timed out). When no
// required item fails, the Set is published for later invokes.
func (c *cache) settle(now time.Time, override map[int]*FetchError) settled {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out settled
	s := &resolved.Set{Index: c.index, Values: make([]string, len(c.items))}
	until := farFuture
	for i, it := range c.items {
		e := &c.entries[i]
		failure := e.failed
		if f, ok := override[i]; ok {
			failure = f
		}
		switch {
		case !e.fetched.IsZero() && (failure == nil || now.Before(e.expires)):
			// Fetched by this invoke, by a concurrent one, or a hit; a
			// failed refresh ahead of expiry leaves it fresh.
			s.Values[i] = e.value
			next := e.expires.Add(-c.ahead)
			if failure != nil && next.Before(e.retryAt) {
				next = minTime(e.retryAt, e.expires)
			}
			until = minTime(until, next)
		case !e.fetched.IsZero() && now.Sub(e.expires) <= c.maxStale:
			s.Values[i] = e.value
			out.stale = append(out.stale, it)
			until = minTime(until, e.retryAt, e.expires.Add(c.maxStale))
		case it.optional && failure != nil:
			out.absent = append(out.absent, it)
			if it.hasDef {
				s.Values[i] = it.def
			} else {
				if s.Errs == nil {
					s.Errs = make([]error, len(c.items))
				}
				s.Errs[i] = failure
			}
			until = minTime(until, e.retryAt)
		default:
			if failure == nil { // cannot happen: a required item with no value has failed
				failure = it.fetchError(ClassOther, nil)
			}
			out.failed = append(out.failed, failure)
		}
	}
	if len(out.failed) == 0 {
		c.holder.Store(s)
		c.snap.Store(&snapshot{set: s, until: until, stale: out.stale, absent: out.absent})
	}
	out.set = s
	return out
}

func minTime(t time.Time, more ...time.Time) time.Time {
	for _, u := range more {
		if u.Before(t) {
			t = u
		}
	}
	return t
}
