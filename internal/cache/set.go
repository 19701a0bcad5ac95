package cache

import (
	"maps"
	"slices"
	"time"

	"github.com/lambda-mw/mw/internal/resolved"
)

// A Snapshot is a published Set, with what the warm path needs to know of
// it.
type Snapshot struct {
	set    *resolved.Set
	until  time.Time // no invoke needs a look at the entries before this
	stale  []int     // items served past their TTL
	absent []int     // optional items served without a value
}

// Until is when an invoke next needs a look at the entries.
func (s *Snapshot) Until() time.Time { return s.until }

// Published returns the published snapshot, or nil. It takes no lock.
func (c *Cache) Published() *Snapshot { return c.snap.Load() }

// Stale returns the items the snapshot serves past their TTL.
func (s *Snapshot) Stale() []int { return s.stale }

// Absent returns the optional items the snapshot serves without a value.
func (s *Snapshot) Absent() []int { return s.absent }

// Warm returns the published snapshot when an invoke at now needs no look
// at the entries: every item is served as it is. It takes no lock.
func (c *Cache) Warm(now time.Time) (*Snapshot, bool) {
	s := c.snap.Load()
	return s, s != nil && now.Before(s.until)
}

// Settled is what an invoke can serve once its fetches have ended.
type Settled struct {
	Failed []Failure // required items with no servable value
	Stale  []int     // items served past their TTL
	Absent []int     // optional items served without a value
}

// A Failure is a required item with no value to serve, and why: nil when
// no fetch of it has failed yet.
type Failure struct {
	I   int
	Err error
}

// Settle builds the Set from the entries at now. seen holds failures an
// invoke saw that the entries may not (a fetch abandoned, a wait cut
// short). When no required item fails, the Set is published for later
// invokes and for handlers.
func (c *Cache) Settle(now time.Time, seen map[int]error) Settled {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out Settled
	b := setBuilder{set: &resolved.Set{Index: c.cfg.Index, Values: make([]string, len(c.cfg.Items))}, until: farFuture}
	for i := range c.cfg.Items {
		failure := c.entries[i].failed
		if f, ok := seen[i]; ok {
			failure = f
		}
		c.settleItem(&b, &out, i, failure, now)
	}
	if len(out.Failed) == 0 {
		b.found()
		c.holder.Store(b.set)
		c.snap.Store(&Snapshot{set: b.set, until: b.until, stale: out.Stale, absent: out.Absent})
	}
	return out
}

// settleItem puts item i, whose last fetch failed with failure (nil for
// none), into the Set b builds and into out. c.mu must be held.
func (c *Cache) settleItem(b *setBuilder, out *Settled, i int, failure error, now time.Time) {
	e, it := &c.entries[i], c.cfg.Items[i]
	switch {
	case e.has() && (failure == nil || now.Before(e.expires)):
		// Fetched by this invoke, by a concurrent one, or a hit; a failed
		// refresh ahead of expiry leaves it fresh.
		b.value(i, e)
		next := e.expires.Add(-c.cfg.Ahead)
		if failure != nil && next.Before(e.retryAt) {
			next = minTime(e.retryAt, e.expires)
		}
		b.until = minTime(b.until, next)
	case c.servableStale(e, now):
		b.value(i, e)
		b.stale(i, e.staleness(now))
		out.Stale = append(out.Stale, i)
		b.until = minTime(b.until, e.expires.Add(c.cfg.MaxStale))
		if c.flights[i] == [2]*flight{} {
			// Nothing is refreshing it: look again when a retry is due. A
			// refresh in flight publishes when it lands.
			b.until = minTime(b.until, e.retryAt)
		}
	case it.Optional && failure != nil:
		out.Absent = append(out.Absent, i)
		b.absent(i, it, failure)
		b.until = minTime(b.until, e.retryAt)
	default:
		out.Failed = append(out.Failed, Failure{I: i, Err: failure})
	}
}

// patch publishes item i's value, as its entry now holds it, in a copy of
// the Set handlers read: for a forced refresh, whose value must be seen at
// once, even when Settle could not publish a new Set because another
// required item has no value to serve. c.mu must be held.
func (c *Cache) patch(i int) {
	old, e, n := c.holder.Load(), &c.entries[i], len(c.cfg.Items)
	if old == nil || !e.has() || len(old.Values) < n {
		return
	}
	b := setBuilder{set: &resolved.Set{Index: old.Index, Values: slices.Clone(old.Values[:n]), Trees: maps.Clone(old.Trees)}}
	if len(old.Errs) >= n {
		b.set.Errs = slices.Clone(old.Errs[:n])
		b.set.Errs[i] = nil
	}
	if len(old.Types) >= n {
		b.set.Types = slices.Clone(old.Types[:n])
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
	if e.typ != "" {
		if b.set.Types == nil {
			b.set.Types = make([]string, len(b.set.Values))
		}
		b.set.Types[i] = e.typ
	}
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

func (b *setBuilder) absent(i int, it Item, failure error) {
	if it.Default != nil {
		b.set.Values[i] = *it.Default
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
			if _, declared := b.set.Index.Lookup(b.set.Index.Listed(), name); declared {
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
