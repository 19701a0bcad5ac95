package cache

import "time"

// A Plan is what one invoke needs done at a time.
type Plan struct {
	Hits  int
	Need  []int    // items to fetch before the handler runs
	Ahead []Ticket // refreshes ahead of expiry the invoke leads, beside the handler
}

// Plan sorts the items for an invoke at now. A fresh item is a hit, and if
// it is within the refresh-ahead window, the invoke refreshes it beside the
// handler. An item whose last fetch failed is served as it is until its
// retry time (held), as is one with a value to serve whose refresh in
// flight its callers no longer wait for. Any other item is needed.
func (c *Cache) Plan(now time.Time) Plan {
	c.mu.Lock()
	defer c.mu.Unlock()
	var p Plan
	for i := range c.cfg.Items {
		if c.needs(i, now) {
			p.Need = append(p.Need, i)
			continue
		}
		p.Hits++
		if c.dueAhead(i, now) {
			p.Ahead = append(p.Ahead, Ticket{I: i, f: c.start(i, false, now), Lead: true})
		}
	}
	return p
}

// needs reports whether item i needs a fetch before an invoke at now may
// serve it. c.mu must be held.
func (c *Cache) needs(i int, now time.Time) bool {
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
func (c *Cache) refreshedApart(i int) bool {
	for _, f := range c.flights[i] {
		if f != nil && !time.Now().Before(f.waitUntil) {
			return true
		}
	}
	return false
}

// dueAhead reports whether a fresh item is to be refreshed ahead of its
// expiry now, by this invoke. c.mu must be held.
func (c *Cache) dueAhead(i int, now time.Time) bool {
	e := &c.entries[i]
	return c.cfg.Ahead > 0 && e.fresh(now) && !now.Before(e.expires.Add(-c.cfg.Ahead)) &&
		c.flights[i] == [2]*flight{} && !e.held(now)
}
