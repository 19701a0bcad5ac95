package mw

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lambda-mw/mw/internal/cache"
	"github.com/lambda-mw/mw/internal/gate"
	"github.com/lambda-mw/mw/internal/resolved"
	"github.com/lambda-mw/mw/internal/telemetry"
	"go.opentelemetry.io/otel"
)

// wrapper is the engine behind one Wrap: its items, the source of each,
// its cache and its telemetry.
type wrapper struct {
	cfg   *config
	now   func() time.Time
	items []item // declared, deduplicated; fixed after Wrap
	index *resolved.Index
	plans []itemPlan // by position in items
	cache *cache.Cache
	tel   *telemetry.Recorder
	err   error // a mistake in the environment, returned by every invoke

	// started is the first invoke's start, on the monotonic clock.
	started atomic.Pointer[time.Time]
}

// A route is one source as one Wrap uses it.
type route struct {
	src  Source
	name string
	gate *gate.Gate[Result]
	late overdue // its calls still running after their context ended
}

// maxOverdue is how many calls to one source may still run after their
// context ended before mw calls it no more until some return.
const maxOverdue = 16

// overdue counts the calls to one source that still run after their
// context ended: each costs a goroutine, and a source that ignores its
// context would otherwise cost one, and a call, per invoke.
type overdue struct{ n atomic.Int32 }

// itemPlan is how one item is fetched: by which source, in which call.
type itemPlan struct {
	route *route
	plan  Plan
}

// newWrapper builds the engine of one Wrap. It panics on a declaration
// that code got wrong; a mistake in the environment is returned by every
// invoke.
func newWrapper(opts []Option) *wrapper {
	cfg, bad := newConfig(opts)
	d, conflict := collect(cfg.items)
	cfg.items = nil // d.items holds them from here on
	plans, refusal := routeItems(d.items, cfg)
	if bad = worse(worse(bad, conflict), refusal); bad != nil && !bad.fromEnv {
		panic(bad)
	}
	w := &wrapper{cfg: cfg, now: cfg.now, items: d.items, index: d.index, plans: plans}
	if bad != nil {
		w.err = bad
	}
	policies := make([]cache.Item, len(d.items))
	labels := make([]telemetry.Label, len(d.items))
	for i, it := range d.items {
		policies[i] = cache.Item{TTL: cfg.ttlOf(it), Optional: it.optional}
		if it.hasDef {
			policies[i].Default = &it.def
		}
		labels[i] = it.label()
	}
	w.cache = cache.New(cache.Config{Items: policies, Index: d.index, MaxStale: cfg.maxStale, Ahead: cfg.refreshAhead,
		StaleBudget: staleBudget, OnLand: cfg.onLand})
	w.cache.Holder().Owner = w
	w.tel = telemetry.New(cfg.tp, cfg.mp, ScopeName, Version, labels)
	return w
}

// routeItems gives each item the source that serves it (see WithSource),
// one route per source, and returns the first refusal.
func routeItems(items []item, cfg *config) ([]itemPlan, *DeclarationError) {
	r := router{cfg: cfg}
	plans := make([]itemPlan, len(items))
	var first *DeclarationError
	for i, it := range items {
		p, err := r.plan(it)
		if err != nil {
			first = worse(first, &DeclarationError{msg: origin(it) + err.Error(), fromEnv: it.from != "" || cfg.ext.fromEnv})
			continue
		}
		plans[i] = p
	}
	return plans, first
}

// A router finds the source of each item, and keeps one route per source.
type router struct {
	cfg    *config
	routes []*route
}

// plan is how it is fetched: by the source From names, else by the first
// source for its kind whose Plan serves it. A source that serves the kind
// but refuses the item refuses it for good, with its reason.
func (r *router) plan(it item) (itemPlan, error) {
	if it.src != nil {
		p, err := it.src.Plan(it.Item)
		if err != nil {
			return itemPlan{}, fmt.Errorf("From(%s): %w", it.src.Name(), err)
		}
		return itemPlan{route: r.route(it.src), plan: p}, nil
	}
	for _, c := range r.cfg.sources {
		if !c.serves(it.Kind) {
			continue
		}
		p, err := c.src.Plan(it.Item)
		switch {
		case errors.Is(err, ErrNotServed):
			continue
		case err != nil:
			return itemPlan{}, err
		}
		return itemPlan{route: r.route(c.src), plan: p}, nil
	}
	return itemPlan{}, fmt.Errorf("%s: no source serves this kind of item", it.describe())
}

// route returns the route of s, made on first use: one readiness gate per
// source and Wrap.
func (r *router) route(s Source) *route {
	for _, rt := range r.routes {
		if sameSource(rt.src, s) {
			return rt
		}
	}
	rt := &route{src: s, name: s.Name(), gate: gate.New[Result](r.cfg.localAnswer)}
	r.routes = append(r.routes, rt)
	return rt
}

// begin notes the start of an invoke at now, and reports whether it is the
// first of this Wrap.
func (w *wrapper) begin(now time.Time) bool {
	if w.started.Load() != nil {
		return false
	}
	first := now // on the heap only here, once per Wrap: warm invokes allocate nothing for it
	return w.started.CompareAndSwap(nil, &first)
}

// startupLeft is how much of the startup window is left.
func (w *wrapper) startupLeft() time.Duration {
	s := w.started.Load()
	if s == nil {
		return w.cfg.startupWindow
	}
	return w.cfg.startupWindow - w.now().Sub(*s)
}

// inStartupWindow reports whether an answer that may mean "not ready yet"
// is still taken to mean it.
func (w *wrapper) inStartupWindow() bool { return w.startupLeft() > 0 }

// resolve makes the values ready for one invoke, fetching what is missing
// or expired. It may leave refreshes running beside the handler, in bg,
// which the invoke must wait for before it returns.
func (w *wrapper) resolve(ctx context.Context) (bg *background, tracing bool, err error) {
	if w.err != nil {
		return nil, false, w.err
	}
	if s := w.cache.Published(); s != nil && w.started.Load() != nil && w.fresh(ctx, s.Until()) {
		return nil, w.tel.Warm(ctx, false, s.Stale(), s.Absent()), nil
	}
	now := w.now()
	cold := w.begin(now)
	if s, ok := w.cache.Warm(now); ok {
		return nil, w.tel.Warm(ctx, cold, s.Stale(), s.Absent()), nil
	}
	bg, err = w.resolveSlow(ctx, now, cold)
	return bg, err == nil && w.tel.Tracing(), err
}

// fresh reports whether an invoke in ctx, starting now, may serve a
// snapshot that needs no look before until, with as little as it can of
// the clock. When ctx has a deadline no later than until, the invoke ends
// before until, and the clock is not read at all: Lambda gives every invoke
// a deadline, and TTLs outlast most invokes. Otherwise it asks time.Until,
// which reads the monotonic clock alone when until carries a reading of
// it, as the cache's times from the real clock do. A deadline without a
// monotonic reading (aws-lambda-go's is wall-clock milliseconds) is
// compared on the wall clock.
func (w *wrapper) fresh(ctx context.Context, until time.Time) bool {
	if !w.cfg.realClock {
		return w.now().Before(until)
	}
	if d, ok := ctx.Deadline(); ok && !until.Before(d) {
		return true
	}
	return time.Until(until) > 0
}

// resolveSlow is resolve when some item needs a look: fetch what is
// needed, start what is due ahead of expiry, and settle what to serve.
func (w *wrapper) resolveSlow(ctx context.Context, now time.Time, cold bool) (bg *background, err error) {
	ctx, span := w.tel.StartResolve(ctx, len(w.items), cold)
	p := w.cache.Plan(now)
	bg = w.background(ctx, p.Ahead)
	defer func() {
		if r := recover(); r != nil {
			span.EndPanic(string(ClassPanic))
			bg.wait()
			panic(r)
		}
	}()
	seen, coalesced := w.obtain(ctx, p.Need, false)
	st := w.cache.Settle(w.now(), seen)
	o := telemetry.Outcome{Hits: p.Hits, Missed: p.Need, Coalesced: coalesced, Ahead: len(p.Ahead), Stale: st.Stale, Absent: st.Absent}
	var pe *PrefetchError
	if len(st.Failed) > 0 {
		pe = &PrefetchError{Failed: make([]*FetchError, len(st.Failed)), Declared: len(w.items)}
		for j, f := range st.Failed {
			fe, _ := f.Err.(*FetchError)
			if fe == nil { // cannot happen: a required item with no value has failed
				fe = w.items[f.I].fetchError(fetchFailure{class: ClassOther})
			}
			pe.Failed[j] = fe
			o.Failed = append(o.Failed, f.I)
		}
		o.Class = string(pe.Failed[0].Class)
	}
	span.End(ctx, o)
	if pe != nil {
		return bg, pe
	}
	return bg, nil
}

// background is the refreshes ahead of expiry that one invoke started.
type background struct {
	wg     sync.WaitGroup
	cancel context.CancelFunc
}

// background starts fetching the items due ahead of expiry, whose flights
// the invoke leads, beside the handler. A panic in one lands as the items'
// failure, on their spans and metrics, and goes to OpenTelemetry's error
// handler: the handler has run, and its invoke must not fail for it.
func (w *wrapper) background(ctx context.Context, ahead []cache.Ticket) *background {
	if len(ahead) == 0 {
		return nil
	}
	bctx, cancel := w.fetchContext(ctx)
	bg := &background{cancel: cancel}
	bg.wg.Add(1)
	go func() {
		defer bg.wg.Done()
		defer func() { w.cache.Settle(w.now(), nil) }() // publish the new values, judged at the time the fetch ended
		defer func() {
			if v := recover(); v != nil {
				otel.Handle(asError(v))
			}
		}()
		w.fly(bctx, ahead, false)
	}()
	return bg
}

// asError is a recovered panic value as an error, for OpenTelemetry's error
// handler.
func asError(v any) error {
	if err, ok := v.(error); ok {
		return err
	}
	return fmt.Errorf("mw: a refresh ahead of expiry panicked: %v", v)
}

// wait waits for the refreshes, which end within the invoke, before Lambda
// may freeze the process.
func (bg *background) wait() {
	if bg == nil {
		return
	}
	bg.wg.Wait()
	bg.cancel()
}

// refresh is RefreshSecret and RefreshParameter: fetch one item now, by
// force, sharing the fetch with concurrent callers. A parameter found
// under a declared path refreshes the path.
func (w *wrapper) refresh(ctx context.Context, k resolved.Kind, name string) error {
	i, ok := w.index.Lookup(k, name)
	if !ok && k == w.index.Listed() {
		i, ok = w.pathOf(name)
	}
	if !ok {
		return &LookupError{Kind: Kind(k), Name: name, Err: ErrNotDeclared}
	}
	if w.cache.RecentlyForced(i, w.now()) {
		return nil // just refreshed by another caller: that is the refresh
	}
	seen, _ := w.obtain(ctx, []int{i}, true)
	if err := seen[i]; err != nil {
		return err
	}
	w.cache.Settle(w.now(), nil) // the refreshed value is published already: publish the rest
	return nil
}

// pathOf returns the declared path that lists the parameter name: of two
// that do, the one declared first, whose value Parameter serves.
func (w *wrapper) pathOf(name string) (int, bool) {
	first, ok := 0, false
	for path, i := range w.index.Paths() {
		if resolved.Under(name, path) && (!ok || i < first) {
			first, ok = i, true
		}
	}
	return first, ok
}

// staleBudget bounds the wait for the refresh of an item that still has a
// value it may serve: past it, the invoke serves that value rather than
// wait. It bounds a refresh ahead of expiry, and the retries of a refresh
// of an expired item; an attempt of the latter may run on (runDetached).
const staleBudget = time.Second
