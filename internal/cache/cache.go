// Package cache holds the values of one mw.Wrap and owns their
// concurrency, the way golang.org/x/sync/singleflight's Group owns its
// calls: one lock, which nothing outside this package reaches, and at most
// one fetch in flight per item and kind of fetch, which every caller that
// needs the item joins.
//
// An invoke goes through the same steps as a forced refresh: Plan (what is
// fresh, what is needed, what is due ahead of expiry), Acquire (lead a
// flight or join one), Land (always, panics included), Await, and Settle
// (build the Set that handlers read, and publish it). The cache knows
// nothing of sources or of mw's public types: an item's failure is an
// error, opaque to it.
package cache

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/lambda-mw/mw/internal/resolved"
)

// RetryFailedAfter is how long an item whose refresh failed is served
// stale (or, if optional, left without a value) before an invoke tries
// again.
const RetryFailedAfter = 10 * time.Second

// refreshCoalesce is how recent a forced refresh must be for a forced
// refresh that comes after it to take its value instead of fetching again:
// the callers of a stampede that arrive just after it ended get its result.
const refreshCoalesce = time.Second

var farFuture = time.Unix(1<<62, 0)

// An Item is how one declared item is cached and served.
type Item struct {
	TTL      time.Duration
	Optional bool
	// Default is served for an optional item that has no value, when set.
	Default *string
}

// Config is what a Cache is made of: its items, in the order their
// positions name them, and the index from the names handlers read them by.
type Config struct {
	Items    []Item
	Index    *resolved.Index
	MaxStale time.Duration // how long past its TTL a last good value is served
	Ahead    time.Duration // how long before its expiry an item is refreshed
	// StaleBudget is how long a caller with a value to serve waits for a
	// flight, from the flight's start.
	StaleBudget time.Duration
	// OnLand, when set, runs after each landing, with whether the flight
	// was forced: a seam for tests.
	OnLand func(forced bool)
}

// A Cache is the values of one Wrap.
type Cache struct {
	cfg Config

	mu      sync.Mutex
	entries []entry      // by position
	flights [][2]*flight // by position: the ordinary and the forced fetch in flight
	seq     uint64       // numbers flights in the order they start

	// holder has the latest complete Set, for handlers. snap is what the
	// warm path reads without locking: that Set, and until when an invoke
	// needs no look at the entries.
	holder resolved.Holder
	snap   atomic.Pointer[Snapshot]
}

// New returns an empty cache of cfg's items.
func New(cfg Config) *Cache {
	c := &Cache{
		cfg:     cfg,
		entries: make([]entry, len(cfg.Items)),
		flights: make([][2]*flight, len(cfg.Items)),
	}
	if len(cfg.Items) == 0 {
		// Nothing to fetch, ever: one Set serves every invoke.
		s := &resolved.Set{Index: cfg.Index}
		c.holder.Store(s)
		c.snap.Store(&Snapshot{set: s, until: farFuture})
	}
	return c
}

// Holder is what handlers' contexts carry: the latest published Set.
func (c *Cache) Holder() *resolved.Holder { return &c.holder }

// entry is the cached state of one item. A failed fetch never touches the
// last good value: it only records the failure.
type entry struct {
	value   string
	values  map[string]string // a path's parameters
	typ     string            // the item's type as AWS names it, or ""
	fetched time.Time         // zero until the first success
	expires time.Time         // fetched + TTL
	seq     uint64            // the flight that fetched value
	failed  error             // the last fetch failed; nil after a success
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
func (c *Cache) servableStale(e *entry, now time.Time) bool {
	return e.has() && e.staleness(now) <= c.cfg.MaxStale
}

// servable reports whether an item whose fetch failed may still be served:
// with its last good value if that is not too stale, or, if optional,
// without one.
func (c *Cache) servable(i int, now time.Time) bool {
	return c.servableStale(&c.entries[i], now) || c.cfg.Items[i].Optional
}

// Staleness is how far past its TTL item i's last good value is at now,
// if it has one and it has expired.
func (c *Cache) Staleness(i int, now time.Time) time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e := &c.entries[i]; e.has() && now.After(e.expires) {
		return e.staleness(now)
	}
	return 0
}
