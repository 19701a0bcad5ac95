package mw

import (
	"context"
	"errors"
	"sync"
	"time"

	"go.opentelemetry.io/otel"

	"github.com/lambda-mw/mw/internal/cache"
)

// obtain brings the items need, each by a flight this caller leads or one
// it joins, within ctx less a reserve. It returns the failures it saw that
// the cache may not hold (a fetch abandoned, a wait cut short), and how
// many items it joined a concurrent fetch for. A joined fetch that its
// leader abandoned is fetched again while time is left.
func (w *wrapper) obtain(ctx context.Context, need []int, force bool) (seen map[int]error, coalesced int) {
	fctx, cancel := w.fetchContext(ctx)
	defer cancel()
	for round := 0; len(need) > 0; round++ {
		tix, skipped := w.cache.Acquire(need, force, w.now())
		var leads []cache.Ticket
		for _, t := range tix {
			if t.Lead {
				leads = append(leads, t)
			} else if round == 0 {
				coalesced++
			}
		}
		if round == 0 {
			coalesced += skipped
		}
		w.fly(fctx, leads, force)
		need = w.collectLandings(fctx, tix, &seen)
	}
	return seen, coalesced
}

// collectLandings waits for the flights of tix to land and notes their
// failures in seen; it returns the items to fetch again: those whose
// flight another caller abandoned, while time is left.
func (w *wrapper) collectLandings(ctx context.Context, tix []cache.Ticket, seen *map[int]error) (again []int) {
	for _, t := range tix {
		if !t.Lead && w.cfg.onAwait != nil {
			w.cfg.onAwait()
		}
		wctx, cancel := waitContext(ctx, t)
		landed := cache.Await(wctx, t)
		var err error
		switch {
		case !landed:
			err = w.waitError(wctx, t.I)
		case t.Landed().Abandoned && !t.Lead && ctx.Err() == nil:
			again = append(again, t.I)
		case t.Landed().Err != nil:
			err = t.Landed().Err
		}
		cancel()
		if err != nil {
			if *seen == nil {
				*seen = map[int]error{}
			}
			(*seen)[t.I] = err
		}
	}
	return again
}

// waitContext bounds the wait of t for its flight: for a caller with a
// stale value to serve, by the stale budget from the flight's start.
func waitContext(ctx context.Context, t cache.Ticket) (context.Context, context.CancelFunc) {
	if !t.Stale {
		return ctx, func() {}
	}
	return context.WithDeadlineCause(ctx, t.WaitUntil(), errStaleBudget)
}

// waitError reports a wait for another's fetch that ctx cut short.
func (w *wrapper) waitError(ctx context.Context, i int) *FetchError {
	f := judge(ctx, ctx.Err())
	return w.items[i].fetchError(fetchFailure{class: f.se.Class, hint: f.se.Hint, err: f.se, source: w.plans[i].route.name})
}

// reserve is the share of an invoke's remaining time that fetching leaves
// for returning an error before Lambda's own timeout.
func reserve(remaining time.Duration) time.Duration {
	return min(remaining/10, 100*time.Millisecond)
}

// fetchContext bounds fetching by the fetch timeout and by the invoke's
// deadline, less a reserve. Its cause says which bound ended it.
func (w *wrapper) fetchContext(ctx context.Context) (context.Context, context.CancelFunc) {
	limit, cause := w.cfg.fetchTimeout, errFetchTimeout
	if dl, ok := ctx.Deadline(); ok {
		remaining := time.Until(dl)
		if r := remaining - reserve(remaining); r < limit {
			limit, cause = r, errInvokeDeadline
		}
	}
	return context.WithTimeoutCause(ctx, limit, cause)
}

// fly fetches the items whose flights the caller leads, in calls that run
// concurrently, and lands every flight before it returns, but those of
// detached calls (runDetached). A panic in a call lands its flights as
// failures, for their waiters, and is raised again here, in the caller's
// goroutine, once every flight has landed.
func (w *wrapper) fly(ctx context.Context, leads []cache.Ticket, force bool) {
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first *fetchPanic
	)
	for _, c := range w.group(leads, force) {
		if c.detached {
			w.runDetached(ctx, c)
			continue
		}
		wg.Go(func() {
			if p := w.runLanded(ctx, c); p != nil {
				mu.Lock()
				if first == nil {
					first = p
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if first != nil {
		panic(first)
	}
}

// group sorts leads into calls by route, op and budget, at most a plan's
// Batch items each.
func (w *wrapper) group(leads []cache.Ticket, force bool) []*call {
	type key struct {
		r               *route
		op              string
		stale, detached bool
	}
	var calls []*call
	open := map[key]*call{}
	for _, t := range leads {
		p := w.plans[t.I]
		k := key{p.route, p.plan.Op, t.HasStale(), t.Detached()}
		c := open[k]
		if c == nil || len(c.slots) >= max(p.plan.Batch, 1) {
			c = &call{route: p.route, op: p.plan.Op, force: force, stale: k.stale, detached: k.detached}
			open[k] = c
			calls = append(calls, c)
		}
		it := w.items[t.I].Item
		it.Refresh = force
		c.slots = append(c.slots, slot{t: t, item: it})
	}
	return calls
}

// runLanded runs c and lands its flights, however it ends: each as its
// item's fetch ends, and any left when the call ends; it returns the panic
// that ended it, if one did.
func (w *wrapper) runLanded(ctx context.Context, c *call) (p *fetchPanic) {
	defer func() {
		if v := recover(); v != nil { // a panic past run's own recovery, in telemetry
			p = newFetchPanic(v, c)
		}
		now := w.now()
		for k := range c.slots {
			s := &c.slots[k]
			if s.landed {
				continue
			}
			if !s.final {
				// Past run's recovery; without a panic, it cannot happen:
				// every item ends with a result.
				f := fetchFailure{class: ClassOther, err: errors.New("the fetch ended without a result"), source: c.route.name}
				if p != nil {
					f.class, f.err = ClassPanic, errors.New("the fetch panicked")
				}
				s.res = cache.Result{Err: w.items[s.t.I].fetchError(f)}
			}
			w.cache.Land(s.t, s.res, now)
		}
	}()
	return w.run(ctx, c)
}

// runDetached runs c, a refresh of expired items that have values to serve
// meanwhile, apart from the invoke that started it: its callers wait for it
// no longer than the stale budget, and serve those values, while it goes
// on, bounded by the fetch timeout and not by any invoke, so that a fetch
// that takes longer than the budget, such as the listing of a large
// parameter tree, still lands. Its retries stop at the stale budget, as
// they would within an invoke. In Lambda it pauses while the environment
// is frozen between invokes. A panic in it is the items' failure, recorded
// and reported to OpenTelemetry's error handler, never an invoke's.
func (w *wrapper) runDetached(ctx context.Context, c *call) {
	dctx, cancel := context.WithTimeoutCause(context.WithoutCancel(ctx), w.cfg.fetchTimeout, errFetchTimeout)
	go func() {
		defer cancel()
		if p := w.runLanded(dctx, c); p != nil {
			otel.Handle(p)
		}
		w.cache.Settle(w.now(), nil) // publish what landed
	}()
}
