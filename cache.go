package mw

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/lambda-mw/mw/internal/resolved"
)

// An item is one declared parameter or secret.
type item struct {
	kind resolved.Kind
	name string
}

func (it item) key() string { return it.kind.String() + ":" + it.name }

// entry is the cached state of one item. fetched is zero until the first
// successful fetch; a failed fetch never changes an entry.
type entry struct {
	value   string
	fetched time.Time
	expires time.Time
}

func (e *entry) fresh(now time.Time) bool {
	return !e.fetched.IsZero() && now.Before(e.expires)
}

// A call is one fetch of one item in flight. Invokes that need the same item
// at the same time wait on it instead of fetching again.
type call struct {
	done chan struct{}
	err  *FetchError // set before done is closed
}

// cache holds one Wrap's values. Everything in it belongs to that Wrap alone.
type cache struct {
	items []item          // declared, deduplicated; fixed after Wrap
	index *resolved.Index // name -> position in items; fixed after Wrap

	mu      sync.Mutex
	entries []entry // by position in items; guarded by mu
	calls   []*call // the fetch in flight per item, or nil; guarded by mu

	// snap is a copy of the entries that were all fresh when it was built,
	// valid until expires. Warm invokes read only this, without locking.
	snap atomic.Pointer[snapshot]
}

type snapshot struct {
	set     resolved.Set
	expires time.Time
}

func newCache(items []item) *cache {
	c := &cache{
		index:   &resolved.Index{Parameters: map[string]int{}, Secrets: map[string]int{}},
		entries: nil,
	}
	for _, it := range items {
		m := c.index.Parameters
		if it.kind == resolved.Secret {
			m = c.index.Secrets
		}
		if _, dup := m[it.name]; dup {
			continue
		}
		m[it.name] = len(c.items)
		c.items = append(c.items, it)
	}
	c.entries = make([]entry, len(c.items))
	c.calls = make([]*call, len(c.items))
	if len(c.items) == 0 {
		// Nothing to fetch, ever: one snapshot serves every invoke.
		c.snap.Store(&snapshot{set: resolved.Set{Index: c.index}, expires: farFuture})
	}
	return c
}

var farFuture = time.Unix(1<<62, 0)

// pending is an item an invoke needs fetched: by itself (lead) or by the
// concurrent invoke already fetching it.
type pending struct {
	i    int
	call *call
	lead bool
}

// plan sorts the items for an invoke at now: fresh ones are hits; a stale or
// missing one joins the fetch in flight or starts one, which this invoke
// then leads.
func (c *cache) plan(now time.Time) (hits int, todo []pending) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := range c.items {
		switch {
		case c.entries[i].fresh(now):
			hits++
		case c.calls[i] != nil:
			todo = append(todo, pending{i: i, call: c.calls[i]})
		default:
			cl := &call{done: make(chan struct{})}
			c.calls[i] = cl
			todo = append(todo, pending{i: i, call: cl, lead: true})
		}
	}
	return hits, todo
}

// finish ends the call for item i: on success the value is stored with its
// expiry; on failure the entry is left as it was.
func (c *cache) finish(i int, cl *call, value string, fetched time.Time, ttl time.Duration, err *FetchError) {
	c.mu.Lock()
	if err == nil {
		c.entries[i] = entry{value: value, fetched: fetched, expires: fetched.Add(ttl)}
	}
	cl.err = err
	c.calls[i] = nil
	c.mu.Unlock()
	close(cl.done)
}

// publish builds a snapshot of the current entries, stores it for warm
// invokes, and returns it. Every item must have been fetched at least once.
func (c *cache) publish() *snapshot {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := &snapshot{set: resolved.Set{Index: c.index, Values: make([]string, len(c.items))}, expires: farFuture}
	for i := range c.entries {
		e := &c.entries[i]
		s.set.Values[i] = e.value
		if e.expires.Before(s.expires) {
			s.expires = e.expires
		}
	}
	c.snap.Store(s)
	return s
}
