package mw

import (
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/lambda-mw/mw/internal/cache"
	"github.com/lambda-mw/mw/internal/gate"
	"github.com/lambda-mw/mw/internal/resolved"
	"github.com/lambda-mw/mw/internal/telemetry"
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
}

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
	w.cache.Holder().Refresh = w.refresh
	w.tel = telemetry.New(cfg.tp, cfg.mp, ScopeName, Version, labels)
	return w
}

// routeItems gives each item to the first source whose Plan serves its
// kind, and returns the first refusal.
func routeItems(items []item, cfg *config) ([]itemPlan, *declError) {
	routes := make([]*route, len(cfg.sources))
	for k, s := range cfg.sources {
		routes[k] = &route{src: s, name: s.Name(), gate: gate.New[Result](cfg.localAnswer)}
	}
	plans := make([]itemPlan, len(items))
	var first *declError
	for i, it := range items {
		var refused error
		for _, r := range routes {
			p, err := r.src.Plan(it.Item)
			if errors.Is(err, ErrNotServed) {
				continue
			}
			if err != nil {
				refused = err
				break
			}
			plans[i] = itemPlan{route: r, plan: p}
			break
		}
		if plans[i].route == nil {
			if refused == nil {
				refused = fmt.Errorf("%s: no source serves this kind of item", it.describe())
			}
			first = worse(first, &declError{msg: origin(it) + refused.Error(), fromEnv: it.from != "" || cfg.ext.fromEnv})
		}
	}
	return plans, first
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
