package mw

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/lambda-mw/mw/internal/resolved"
)

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
// If any declared item cannot be fetched, h does not run and the invoke
// returns a *PrefetchError naming each failed item and its likely fix.
// Nothing is cached from a failure: the next invoke tries again.
//
// Inside h, read the values with Secret and Parameter, passing h's ctx.
// The returned handler is safe for concurrent invokes, as Lambda Managed
// Instances make them; each call of Wrap has a cache of its own.
func Wrap[In, Out any](h func(context.Context, In) (Out, error), opts ...Option) func(context.Context, In) (Out, error) {
	w := newWrapper(opts)
	return func(ctx context.Context, in In) (Out, error) {
		if h == nil {
			var zero Out
			return zero, errors.New("mw: Wrap was given a nil handler")
		}
		set, err := w.resolve(ctx)
		if err != nil {
			var zero Out
			return zero, err
		}
		return h(resolved.NewContext(ctx, set), in)
	}
}

// wrapper is the state behind one Wrap call.
type wrapper struct {
	cfg    *config
	src    fetcher
	tracer trace.Tracer
	cache  *cache
	err    error // a configuration error, returned by every invoke

	// started is the first invoke's start, in Unix nanoseconds, or 0.
	started atomic.Int64
}

func newWrapper(opts []Option) *wrapper {
	cfg := newConfig(opts)
	w := &wrapper{cfg: cfg, src: cfg.src, tracer: newTracer(cfg.tp)}
	for _, it := range cfg.items {
		if it.name == "" {
			w.err = errors.New("mw: an empty " + it.kind.String() + " name was declared")
		}
	}
	w.cache = newCache(cfg.items)
	return w
}

// inStartupWindow reports whether the Wrap is still in the window in which a
// bare 400 is taken for an extension that is not ready yet.
func (w *wrapper) inStartupWindow() bool {
	return time.Duration(w.cfg.now().UnixNano()-w.started.Load()) < w.cfg.startupWindow
}

// resolve returns the values for one invoke, fetching what is missing or
// expired.
func (w *wrapper) resolve(ctx context.Context) (*resolved.Set, error) {
	if w.err != nil {
		return nil, w.err
	}
	now := w.cfg.now()
	cold := w.started.Load() == 0 && w.started.CompareAndSwap(0, now.UnixNano())
	if s := w.cache.snap.Load(); s != nil && now.Before(s.expires) {
		_, tr := startResolve(ctx, w.tracer, len(w.cache.items), cold)
		tr.end(len(w.cache.items), nil, 0, nil)
		return &s.set, nil
	}
	return w.resolveSlow(ctx, now, cold)
}

func (w *wrapper) resolveSlow(ctx context.Context, now time.Time, cold bool) (*resolved.Set, error) {
	ctx, tr := startResolve(ctx, w.tracer, len(w.cache.items), cold)
	fctx, cancel := w.fetchContext(ctx)
	defer cancel()

	hits, todo := w.cache.plan(now)
	missed := make([]item, len(todo))
	coalesced := 0
	for n, p := range todo {
		missed[n] = w.cache.items[p.i]
		if !p.lead {
			coalesced++
		}
	}
	for {
		w.fetchAll(fctx, todo)
		var failed []*FetchError
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
				failed = append(failed, &FetchError{Kind: it.kind.String(), Name: it.name, Class: ClassTimeout, Err: fctx.Err()})
				continue
			}
			switch err := p.call.err; {
			case err == nil:
			case err.Class == ClassTimeout && !p.lead && fctx.Err() == nil:
				// The invoke that led the fetch ran out of time; this
				// one has time left: try again rather than inherit it.
				again = true
			default:
				failed = append(failed, err)
			}
		}
		if len(failed) > 0 {
			pe := &PrefetchError{Failed: failed, Declared: len(w.cache.items)}
			tr.end(hits, missed, coalesced, pe)
			return nil, pe
		}
		if again {
			_, todo = w.cache.plan(w.cfg.now())
			continue
		}
		s := w.cache.publish()
		tr.end(hits, missed, coalesced, nil)
		return &s.set, nil
	}
}

// fetchAll runs the fetches this invoke leads, concurrently, and returns when
// all have finished: no goroutine outlives the invoke that started it, so
// none is frozen mid-request between invokes.
func (w *wrapper) fetchAll(ctx context.Context, todo []pending) {
	var wg sync.WaitGroup
	for _, p := range todo {
		if !p.lead {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			it := w.cache.items[p.i]
			v, err := w.fetchOne(ctx, it)
			w.cache.finish(p.i, p.call, v, w.cfg.now(), w.cfg.ttl, err)
		}()
	}
	wg.Wait()
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
