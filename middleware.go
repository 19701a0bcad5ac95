package mw

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lambda-mw/mw/internal/resolved"
)

// refreshCoalesce is how recent a forced refresh must be for RefreshSecret
// and RefreshParameter to return its value instead of fetching again: the
// callers of a stampede that arrive just after it ended get its result.
const refreshCoalesce = time.Second

// staleBudget bounds the refresh of an expired item that still has a value
// it may serve: past it, the invoke serves that value rather than wait.
const staleBudget = time.Second

// Wrap returns a handler that runs h with every declared parameter and
// secret already fetched, for use with lambda.Start.
//
// Wrap itself does no I/O: the extension serves only during invokes, so
// fetching starts with the first invoke. That invoke fetches every declared
// item concurrently through the AWS Parameters and Secrets Lambda Extension,
// retrying while the extension starts, and never past the invoke's deadline.
// Later invokes read the values from memory until their TTL passes; an
// invoke that starts after that refreshes the expired items first.
//
// If a declared item cannot be fetched, and it is neither optional nor has
// a last good value within WithMaxStale, h does not run and the invoke
// returns a *PrefetchError naming each failed item and its likely fix.
// Nothing is cached from a failure: the next invoke tries again.
//
// Inside h, read the values with Secret and Parameter, or the typed
// accessors such as SecretJSON, passing h's ctx. The returned handler is
// safe for concurrent invokes, as Lambda Managed Instances make them; each
// call of Wrap has a cache of its own.
//
// Items come from opts and from the environment (MW_SECRETS,
// MW_PARAMETERS; see the package documentation), merged. Wrap panics when
// opts contradict themselves: an empty name, one alias or name declared
// for two different items, one item declared with different options, a
// version option on the wrong kind of item, or a malformed WithEndpoint.
// Such a mistake is in code, so any test that builds the handler finds it.
// A mistake in the environment is an operator's: every invoke returns an
// error quoting the bad entry, and the handler does not run.
func Wrap[In, Out any](h func(context.Context, In) (Out, error), opts ...Option) func(context.Context, In) (Out, error) {
	if h == nil {
		return func(context.Context, In) (Out, error) {
			var zero Out
			return zero, errors.New("mw: Wrap was given a nil handler")
		}
	}
	w := newWrapper(opts)
	return func(ctx context.Context, in In) (Out, error) {
		return invoke(w, ctx, func(ctx context.Context) (Out, error) { return h(ctx, in) })
	}
}

// wrapper is the state behind one Wrap call.
type wrapper struct {
	cfg     *config
	src     fetcher
	tracing tracing
	metrics *metrics
	cache   *cache
	err     error // a configuration error, returned by every invoke

	// started is the first invoke's start, in Unix nanoseconds, or 0.
	started atomic.Int64
}

// newWrapper builds the state of one Wrap. It panics on a declaration that
// code got wrong; a mistake in the environment is returned by every invoke.
func newWrapper(opts []Option) *wrapper {
	cfg, bad := newConfig(opts)
	d, conflict := collect(cfg.items)
	if bad = worse(bad, conflict); bad != nil && !bad.fromEnv {
		panic(bad)
	}
	w := &wrapper{cfg: cfg, src: cfg.src, tracing: newTracing(cfg.tp), cache: newCache(d, cfg)}
	if bad != nil {
		w.err = bad
	}
	w.cache.holder.Refresh = w.refresh
	w.metrics = newMetrics(cfg.mp, w.cache.items)
	return w
}

// inStartupWindow reports whether the Wrap is still in the window in which a
// bare 400 is taken for an extension that is not ready yet.
func (w *wrapper) inStartupWindow() bool {
	return time.Duration(w.cfg.now().UnixNano()-w.started.Load()) < w.cfg.startupWindow
}

// resolve makes the values ready for one invoke, fetching what is missing
// or expired. It may leave refreshes running in bg, which the invoke must
// wait for before it returns.
func (w *wrapper) resolve(ctx context.Context) (*background, error) {
	if w.err != nil {
		return nil, w.err
	}
	now := w.cfg.now()
	cold := w.started.Load() == 0 && w.started.CompareAndSwap(0, now.UnixNano())
	if s := w.cache.snap.Load(); s != nil && now.Before(s.until) {
		if w.tracing.enabled() {
			_, tr := startResolve(ctx, w.tracing.tracer, len(w.cache.items), cold)
			tr.end(outcome{hits: len(w.cache.items), stale: s.stale, absent: s.absent})
		}
		if w.metrics.enabled() {
			w.metrics.lookup(ctx, w.cache.items, nil, s.stale, s.absent)
		}
		return nil, nil
	}
	return w.resolveSlow(ctx, now, cold)
}

func (w *wrapper) resolveSlow(ctx context.Context, now time.Time, cold bool) (*background, error) {
	ctx, tr := startResolve(ctx, w.tracing.tracer, len(w.cache.items), cold)
	start := time.Now()
	var out outcome
	var todo, ahead []pending
	out.hits, todo, ahead = w.cache.plan(now, true)
	for _, p := range todo {
		out.missed = append(out.missed, w.cache.items[p.i])
		if !p.lead {
			out.coalesced++
		}
	}
	out.ahead = len(ahead)
	bg := w.startBackground(ctx, ahead)

	fctx, cancel := w.fetchContext(ctx)
	defer cancel()
	for {
		w.fetchAll(fctx, todo)
		var override map[int]*FetchError // allocated only if a wait times out
		again := false
		for _, p := range todo {
			select {
			case <-p.call.done:
			case <-fctx.Done():
			}
			select {
			case <-p.call.done:
			default:
				// Another invoke leads this fetch and has not finished
				// within our time.
				it := w.cache.items[p.i]
				if override == nil {
					override = map[int]*FetchError{}
				}
				override[p.i] = it.fetchError(ClassTimeout, fctx.Err())
				continue
			}
			if err := p.call.err; err != nil && err.Class == ClassTimeout && !p.lead && fctx.Err() == nil {
				// The invoke that led the fetch ran out of time; this
				// one has time left: try again rather than inherit it.
				again = true
			}
		}
		if again {
			_, todo, _ = w.cache.plan(w.cfg.now(), false)
			continue
		}
		st := w.cache.settle(w.cfg.now(), override)
		out.stale, out.absent = st.stale, st.absent
		if len(st.failed) > 0 {
			out.err = &PrefetchError{Failed: st.failed, Declared: len(w.cache.items)}
		}
		w.metrics.lookup(ctx, w.cache.items, out.missed, out.stale, out.absent)
		if len(out.missed) > 0 {
			w.metrics.prefetched(ctx, time.Since(start), cold, out.err)
		}
		tr.end(out)
		if out.err != nil {
			return bg, out.err
		}
		return bg, nil
	}
}

// fetchAll runs the fetches this invoke leads, concurrently, and returns when
// all have finished: no goroutine outlives the invoke that started it, so
// none is frozen mid-request between invokes.
func (w *wrapper) fetchAll(ctx context.Context, todo []pending) {
	var wg sync.WaitGroup
	for _, p := range todo {
		if p.lead {
			wg.Add(1)
			go func() { defer wg.Done(); w.run(ctx, p) }()
		}
	}
	wg.Wait()
}

// run fetches one item for the call p leads and records the result. An
// expired item that may still be served stale gets a short budget, so an
// outage costs the invoke at most that.
func (w *wrapper) run(ctx context.Context, p pending) {
	w.cache.mu.Lock()
	e := w.cache.entries[p.i]
	w.cache.mu.Unlock()
	if !e.fetched.IsZero() && w.cfg.now().Sub(e.expires) <= w.cfg.maxStale {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, staleBudget)
		defer cancel()
	}
	why := reasonInitial
	switch {
	case p.call.force:
		why = reasonForced
	case !e.fetched.IsZero() && w.cfg.now().Before(e.expires):
		why = reasonAhead
	case !e.fetched.IsZero():
		why = reasonExpired
	}
	v, err := w.fetchOne(ctx, w.cache.items[p.i], p.call.force, why)
	w.cache.finish(p.i, p.call, v, w.cfg.now(), err)
}

// background is the refreshes ahead of expiry that one invoke started.
type background struct {
	wg     sync.WaitGroup
	cancel context.CancelFunc
}

func (w *wrapper) startBackground(ctx context.Context, ahead []pending) *background {
	if len(ahead) == 0 {
		return nil
	}
	bctx, cancel := w.fetchContext(ctx)
	bg := &background{cancel: cancel}
	for _, p := range ahead {
		bg.wg.Add(1)
		go func() {
			defer bg.wg.Done()
			w.run(bctx, p)
			w.cache.settle(w.cfg.now(), nil) // publish the new value
		}()
	}
	return bg
}

func (bg *background) wait() {
	bg.wg.Wait()
	bg.cancel()
}

// refresh is RefreshSecret and RefreshParameter: fetch one item now,
// sharing the fetch with concurrent callers.
func (w *wrapper) refresh(ctx context.Context, k resolved.Kind, name string) error {
	i, ok := w.cache.index.Lookup(k, name)
	if !ok {
		return &LookupError{Kind: k.String(), Name: name, Err: ErrNotDeclared}
	}
	now := w.cfg.now()
	c := w.cache
	c.mu.Lock()
	e := &c.entries[i]
	if e.failed == nil && !e.forced.IsZero() && now.Sub(e.forced) < refreshCoalesce {
		c.mu.Unlock()
		return nil // just refreshed by another caller: that is the refresh
	}
	p := pending{i: i, call: c.calls[i]}
	if p.call == nil {
		p.call, p.lead = c.start(i, true), true
	}
	c.mu.Unlock()

	if p.lead {
		fctx, cancel := w.fetchContext(ctx)
		defer cancel()
		v, err := w.fetchOne(fctx, c.items[i], true, reasonForced)
		c.finish(i, p.call, v, w.cfg.now(), err)
	} else {
		select {
		case <-p.call.done:
		case <-ctx.Done():
			it := c.items[i]
			return it.fetchError(ClassTimeout, ctx.Err())
		}
	}
	if p.call.err != nil {
		return p.call.err
	}
	c.settle(w.cfg.now(), nil)
	return nil
}

// reserve is the share of an invoke's remaining time that fetching leaves
// for returning an error before Lambda's own timeout.
func reserve(remaining time.Duration) time.Duration {
	return min(remaining/10, 100*time.Millisecond)
}

// fetchContext bounds fetching by the fetch timeout and by the invoke's
// deadline, less a reserve.
func (w *wrapper) fetchContext(ctx context.Context) (context.Context, context.CancelFunc) {
	limit := w.cfg.fetchTimeout
	if dl, ok := ctx.Deadline(); ok {
		remaining := time.Until(dl)
		limit = min(limit, remaining-reserve(remaining))
	}
	return context.WithTimeout(ctx, limit)
}
