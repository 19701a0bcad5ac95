package mw

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"runtime/debug"
	"sync"
	"time"

	"github.com/cenkalti/backoff/v4"
	"go.opentelemetry.io/otel"
)

// staleBudget bounds the wait for the refresh of an item that still has a
// value it may serve: past it, the invoke serves that value rather than
// wait. It bounds a refresh ahead of expiry, and the retries of a refresh
// of an expired item; an attempt of the latter may run on (runDetached).
const staleBudget = time.Second

// What ended a fetch's context: mw's own bounds (recorded as the item's
// failure), or the invoke's deadline, which is the caller's.
var (
	errFetchTimeout   = errors.New("the fetch timeout passed (WithFetchTimeout)")
	errStaleBudget    = errors.New("the time allowed for refreshing an item with a stale value to serve passed")
	errInvokeDeadline = errors.New("the invoke's deadline, less the time kept to return an error, passed")
)

// route is one source as one Wrap uses it.
type route struct {
	src  Source
	name string
	gate *gate
}

// A call is one Source.Fetch of items that share a route and an op, with
// its retries: one mw.fetch span.
type call struct {
	route *route
	op    string
	force bool
	stale bool // the items have stale values to fall back on: fetch briefly
	// detached: a refresh of expired items with values to serve, run apart
	// from the invoke that started it (runDetached).
	detached bool
	tix      []ticket // the flights it lands
	items    []Item   // what it asks for, by ticket
}

// fetched is what a flight brings back.
type fetched struct {
	value     string
	values    map[string]string
	err       *FetchError
	abandoned bool
}

// obtain brings the items need, each by a flight this caller leads or one
// it joins, within ctx less a reserve. It returns the failures it saw that
// the cache may not hold (a fetch abandoned, a wait cut short), and how
// many items it joined a concurrent fetch for. A joined fetch that its
// leader abandoned is fetched again while time is left.
func (w *wrapper) obtain(ctx context.Context, need []int, force bool) (seen map[int]*FetchError, coalesced int) {
	fctx, cancel := w.fetchContext(ctx)
	defer cancel()
	for round := 0; len(need) > 0; round++ {
		w.cache.mu.Lock()
		now := w.now()
		if !force {
			// A flight may have landed since need was drawn up.
			still := w.cache.stillNeeded(need, now)
			if round == 0 {
				coalesced += len(need) - len(still)
			}
			need = still
		}
		tix := w.cache.acquire(need, force, now)
		w.cache.mu.Unlock()
		var leads []ticket
		for _, t := range tix {
			if t.lead {
				leads = append(leads, t)
			} else if round == 0 {
				coalesced++
			}
		}
		w.fly(fctx, leads, force)
		need = w.collectLandings(fctx, tix, &seen)
	}
	return seen, coalesced
}

// collectLandings waits for the flights of tix to land and notes their
// failures in seen; it returns the items to fetch again: those whose
// flight another caller abandoned, while time is left.
func (w *wrapper) collectLandings(ctx context.Context, tix []ticket, seen *map[int]*FetchError) (again []int) {
	for _, t := range tix {
		if !t.lead && w.cfg.onAwait != nil {
			w.cfg.onAwait()
		}
		wctx, cancel := waitContext(ctx, t)
		landed := await(wctx, t.f)
		var err *FetchError
		switch {
		case !landed:
			err = w.waitError(wctx, t.i)
		case t.f.out.abandoned && !t.lead && ctx.Err() == nil:
			again = append(again, t.i)
		default:
			err = t.f.out.err
		}
		cancel()
		if err != nil {
			if *seen == nil {
				*seen = map[int]*FetchError{}
			}
			(*seen)[t.i] = err
		}
	}
	return again
}

// waitContext bounds the wait of t for its flight: for a caller with a
// stale value to serve, by the stale budget from the flight's start.
func waitContext(ctx context.Context, t ticket) (context.Context, context.CancelFunc) {
	if !t.stale {
		return ctx, func() {}
	}
	return context.WithDeadlineCause(ctx, t.f.waitUntil, errStaleBudget)
}

// waitError reports a wait for another's fetch that ctx cut short.
func (w *wrapper) waitError(ctx context.Context, i int) *FetchError {
	f := judge(ctx, ctx.Err())
	fe := w.cache.items[i].fetchError(f.se)
	fe.Class, fe.hint, fe.Source = f.se.Class, f.se.Hint, w.plans[i].route.name
	return fe
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
func (w *wrapper) fly(ctx context.Context, leads []ticket, force bool) {
	calls := w.group(leads, force)
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first *fetchPanic
	)
	for _, c := range calls {
		if c.detached {
			w.runDetached(ctx, c)
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if p := w.runLanded(ctx, c); p != nil {
				mu.Lock()
				if first == nil {
					first = p
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if first != nil {
		panic(first)
	}
}

// group sorts leads into calls by route, op and budget, at most a plan's
// Batch items each.
func (w *wrapper) group(leads []ticket, force bool) []*call {
	type key struct {
		r               *route
		op              string
		stale, detached bool
	}
	var calls []*call
	open := map[key]*call{}
	for _, t := range leads {
		p := w.plans[t.i]
		k := key{p.route, p.plan.Op, t.f.stale, t.f.detached}
		c := open[k]
		if c == nil || len(c.tix) >= max(p.plan.Batch, 1) {
			c = &call{route: p.route, op: p.plan.Op, force: force, stale: t.f.stale, detached: t.f.detached}
			open[k] = c
			calls = append(calls, c)
		}
		it := w.cache.items[t.i].Item
		it.Refresh = force
		c.tix = append(c.tix, t)
		c.items = append(c.items, it)
	}
	return calls
}

// fetchPanic is a panic in a call, raised again in the caller's goroutine.
type fetchPanic struct {
	value any
	stack []byte
	what  string
}

func (p *fetchPanic) Error() string {
	return fmt.Sprintf("mw: fetching %s panicked: %v\n\n%s", p.what, p.value, p.stack)
}

// newFetchPanic is the panic v of call c, with the stack of the goroutine
// that panicked: the source's own, for a panic in Source.Fetch.
func newFetchPanic(v any, c *call) *fetchPanic {
	if sp, ok := v.(*sourcePanic); ok {
		return &fetchPanic{value: sp.value, stack: sp.stack, what: c.items[0].String()}
	}
	return &fetchPanic{value: v, stack: debug.Stack(), what: c.items[0].String()}
}

// runLanded runs c and lands its flights, however it ends; it returns the
// panic that ended it, if one did.
func (w *wrapper) runLanded(ctx context.Context, c *call) (p *fetchPanic) {
	results := make([]fetched, len(c.tix))
	final := make([]bool, len(c.tix))
	defer func() {
		if v := recover(); v != nil { // a panic past run's own recovery, in telemetry
			p = newFetchPanic(v, c)
		}
		now := w.now()
		for k, t := range c.tix {
			if !final[k] {
				cause, class := errors.New("the fetch ended without a result"), ClassOther // cannot happen: every item ends with a result
				if p != nil {
					cause, class = errors.New("the fetch panicked"), ClassPanic
				}
				fe := w.cache.items[t.i].fetchError(cause)
				fe.Class, fe.Source = class, c.route.name
				results[k] = fetched{err: fe}
			}
			w.cache.land(t.i, t.f, results[k], now)
		}
	}()
	return w.run(ctx, c, results, final)
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
		w.cache.settle(w.now(), nil) // publish what landed
	}()
}

// run fetches c's items, retrying what may succeed later, and fills
// results (and final) as each item's fetch ends. A panic while fetching
// ends the items not yet done as ClassPanic failures, on the span and the
// metrics, and is returned.
func (w *wrapper) run(ctx context.Context, c *call, results []fetched, final []bool) (p *fetchPanic) {
	if c.stale && !c.detached {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, staleBudget, errStaleBudget)
		defer cancel()
	}
	r := attempts{w: w, c: c, results: results, final: final, last: make([]failure, len(c.tix)), start: time.Now()}
	items := make([]item, len(c.tix))
	for k, t := range c.tix {
		items[k] = w.cache.items[t.i]
	}
	ctx, r.span = w.tel.startFetch(ctx, c, items)
	defer func() { r.span.end(r.n, r.status, c, results) }()
	defer func() {
		if v := recover(); v != nil {
			p = newFetchPanic(v, c)
			for k := range results {
				if !final[k] {
					fe := w.cache.items[c.tix[k].i].fetchError(errors.New("the fetch panicked"))
					fe.Class, fe.Source, fe.Attempts, fe.Elapsed = ClassPanic, c.route.name, r.n, time.Since(r.start)
					r.done(ctx, k, fetched{err: fe})
				}
			}
		}
	}()
	r.loop(ctx)
	return nil
}

// attempts is the state of one call's retries.
type attempts struct {
	w       *wrapper
	c       *call
	results []fetched
	final   []bool
	last    []failure // each item's last failed attempt
	start   time.Time
	n       int // attempts made
	status  int // the last HTTP status seen
	span    fetchSpan
}

// loop makes attempts until every item has its result.
func (r *attempts) loop(ctx context.Context) {
	sched := newSchedule(ctx)
	pending := make([]int, len(r.c.tix))
	for k := range pending {
		pending[k] = k
	}
	for len(pending) > 0 {
		wasReady := r.c.route.gate.isReady()
		at := time.Now()
		retry, wait := r.attempt(ctx, pending, wasReady, at)
		switch {
		case len(retry)+len(wait) == 0:
			return
		case len(retry) == 0:
			again, failed := r.awaitReady(ctx, wait, at)
			if len(failed) > 0 { // a probe's answer was a failure to retry
				again = append(again, r.backOff(ctx, sched, failed, time.Now())...)
			}
			pending = again
		default:
			pending = r.backOff(ctx, sched, append(retry, wait...), at)
		}
	}
}

// attempt asks for the pending items once, and sorts them: done, to retry,
// or to wait for the source to be ready.
func (r *attempts) attempt(ctx context.Context, pending []int, wasReady bool, at time.Time) (retry, wait []int) {
	r.n++
	res := r.fetch(ctx, pending)
	remote := time.Since(at) >= r.c.route.gate.local
	for j, k := range pending {
		switch r.take(ctx, k, res[j], wasReady, remote) {
		case takeRetry:
			retry = append(retry, k)
		case takeWait:
			wait = append(wait, k)
		}
	}
	return retry, wait
}

// What take decides for an item.
const (
	takeDone = iota
	takeRetry
	takeWait
)

// take reads item k's answer to an attempt sent when the source was ready
// or not (wasReady), which took longer than a loopback answer or not
// (remote): the item is done, or to be retried, or to wait for the source
// to be ready.
func (r *attempts) take(ctx context.Context, k int, res Result, wasReady, remote bool) int {
	if res.Err == nil {
		r.c.route.gate.setReady()
		r.status = http.StatusOK
		r.done(ctx, k, fetched{value: res.Value, values: res.Values})
		return takeDone
	}
	f := judge(ctx, res.Err)
	if answered(f.se) {
		r.c.route.gate.setReady()
	}
	r.last[k] = f
	if f.se.Status != 0 {
		r.status = f.se.Status
	}
	switch {
	case f.se.NotReady && !wasReady && r.w.inStartupWindow():
		return takeWait
	case f.se.Retry && !f.abandoned && ctx.Err() == nil && !r.neverAnswered(f.se):
		return takeRetry
	case f.se.NotReady && wasReady && remote && r.mayBeThrottled(k) && ctx.Err() == nil:
		return takeRetry
	}
	r.fail(ctx, k, nil)
	return takeDone
}

// neverAnswered reports whether se says nothing answered, from a source
// that has answered nothing since this Wrap's first invoke, with the startup
// window past: a missing layer, or an agent not running. Such a failure is
// final at once, rather than retried to the deadline on every invoke; once
// the source has answered, a connection it refuses is retried as before.
func (r *attempts) neverAnswered(se *SourceError) bool {
	return se.Class == ClassUnavailable && !r.c.route.gate.isReady() && !r.w.inStartupWindow()
}

// ambiguousFor is how long a call retries item k's bare 400 that came from
// AWS (see mayBeThrottled), on the throttling schedule.
const ambiguousFor = time.Second

// mayBeThrottled reports whether a "not ready" answer that took longer
// than a loopback one is retried as throttling. The managed extension asks
// AWS before it answers so slowly, and answers its bare 400 whether AWS
// said the item is missing or forbidden, or throttled it, as AWS does when
// many environments start at once: issue 16's storm simulation
// (tools/storm, SCALE.md) measured that taking it as final fails most
// invokes of such a storm, each failure sending the next invoke at once.
// So a required item with no stale value to serve retries it, with full
// jitter, for ambiguousFor of the call; an item that is missing costs a
// few more requests and that long before its invoke fails.
func (r *attempts) mayBeThrottled(k int) bool {
	return !r.c.stale && !r.w.cache.items[r.c.tix[k].i].optional && time.Since(r.start) < ambiguousFor
}

// fetch calls the source for the pending items. A source that returns the
// wrong number of results fails them all.
func (r *attempts) fetch(ctx context.Context, pending []int) []Result {
	items := make([]Item, len(pending))
	for j, k := range pending {
		items[j] = r.c.items[k]
	}
	res := callSource(ctx, r.c.route.src, r.c.op, items)
	if len(res) != len(items) {
		err := &SourceError{Class: ClassOther, Err: fmt.Errorf("the %s source returned %d results for %d items", r.c.route.name, len(res), len(items))}
		res = make([]Result, len(items))
		for j := range res {
			res[j].Err = err
		}
	}
	return res
}

// callSource calls src.Fetch, and returns when it does or when ctx ends,
// whichever comes first: a source (or an HTTP transport) that ignores its
// context cannot hold the caller, or the flights it leads, past ctx. Once
// ctx has ended, each item's Result is ctx's error, and what the source
// returns later is dropped. A panic in the source is raised again in the
// caller's goroutine, with the source's stack.
func callSource(ctx context.Context, src Source, op string, items []Item) []Result {
	type answer struct {
		res   []Result
		panic *sourcePanic
	}
	done := make(chan answer, 1) // the source's goroutine never blocks on it
	go func() {
		var a answer
		defer func() {
			if v := recover(); v != nil {
				a.panic = &sourcePanic{value: v, stack: debug.Stack()}
			}
			done <- a
		}()
		a.res = src.Fetch(ctx, op, items)
	}()
	select {
	case a := <-done:
		if a.panic != nil {
			panic(a.panic)
		}
		return a.res
	case <-ctx.Done():
	}
	res := make([]Result, len(items))
	for j := range res {
		res[j].Err = ctx.Err()
	}
	return res
}

// sourcePanic is a panic in Source.Fetch, raised again in its caller's
// goroutine.
type sourcePanic struct {
	value any
	stack []byte
}

// awaitReady waits, within the startup window, for the source to show
// that it serves, and returns the items to ask for again: those of wait
// whose answer did not come with a probe, if it does; none if it does not
// (their "not ready" answers are then final). retry holds the items whose
// probe answered with a failure that may be retried, such as a 5xx or a
// 429: they are retried by the schedule, never left without a result.
func (r *attempts) awaitReady(ctx context.Context, wait []int, at time.Time) (again, retry []int) {
	wctx, cancel := context.WithTimeout(ctx, r.w.startupLeft())
	defer cancel()
	targets := make([]*probeTarget, len(wait))
	for j, k := range wait {
		targets[j] = &probeTarget{src: r.c.route.src, op: r.c.op, it: r.c.items[k]}
	}
	ready := r.c.route.gate.await(wctx, targets)
	for j, k := range wait {
		probes, res := r.c.route.gate.answer(targets[j])
		asked := res == nil && ready && ctx.Err() == nil // asked for again now
		r.replay(ctx, k, at, probes, asked)
		switch {
		case res != nil:
			if r.take(ctx, k, *res, false, false) != takeDone {
				retry = append(retry, k)
			}
		case asked:
			again = append(again, k)
		default:
			r.fail(ctx, k, ctx.Err())
		}
	}
	return again, retry
}

// replay records the requests made for item k while it waited at the gate:
// its own "not ready" answer at at, then the probes of it. Each failed
// request that another followed was retried: an mw.fetch.retry event and
// an mw.fetch.retries count, as for any retry. asked says whether the item
// is about to be asked for again.
func (r *attempts) replay(ctx context.Context, k int, at time.Time, probes []probe, asked bool) {
	first := r.last[k].se
	history := append([]probe{{at: at, class: first.Class, status: first.Status}}, probes...)
	it := r.w.cache.items[r.c.tix[k].i]
	n := r.n
	for i, p := range history {
		next, followed := time.Now(), asked
		if i+1 < len(history) {
			next, followed = history[i+1].at, true
		}
		if !p.served && followed {
			r.span.retryOne(n+i, k, r.c, p.class, p.status, next.Sub(p.at), p.at)
			r.w.tel.retried(ctx, it, r.c.route.name, p.class)
		}
	}
	r.n += len(probes) // requests made for the item while it waited
}

// backOff waits before the next attempt, by the schedule of the worst
// failure, and returns the items to ask for again; none if the deadline
// comes first.
func (r *attempts) backOff(ctx context.Context, sched *schedule, again []int, at time.Time) []int {
	throttled := false
	for _, k := range again {
		throttled = throttled || r.last[k].se.Class == ClassThrottled || r.last[k].se.NotReady
	}
	d := sched.next(throttled)
	if r.c.detached && time.Since(r.start)+d > staleBudget {
		d = backoff.Stop // a detached refresh retries within the stale budget only
	}
	if d != backoff.Stop {
		r.span.retry(r.n, again, r.c, r.last, d, at)
		for _, k := range again {
			r.w.tel.retried(ctx, r.w.cache.items[r.c.tix[k].i], r.c.route.name, r.last[k].se.Class)
		}
		if sleep(ctx, d) {
			return again
		}
	}
	for _, k := range again {
		r.fail(ctx, k, ctx.Err())
	}
	return nil
}

// done ends item k's fetch with f.
func (r *attempts) done(ctx context.Context, k int, f fetched) {
	r.results[k], r.final[k] = f, true
	r.w.tel.fetched(ctx, r.w.cache.items[r.c.tix[k].i], r.c, r.c.tix[k].f.why, time.Since(r.start), f.err)
}

// fail ends item k's fetch with its last failure. ended is the context's
// end, when that is what stopped the retries: the last answer is what the
// user needs to see, but the deadline is what ended it.
func (r *attempts) fail(ctx context.Context, k int, ended error) {
	f := r.last[k]
	it := r.w.cache.items[r.c.tix[k].i]
	var cause error = f.se
	if ended != nil && f.se.Class != ClassTimeout && f.se.Class != ClassCanceled {
		cause = errors.Join(f.se, ended)
	}
	fe := it.fetchError(cause)
	fe.Class, fe.Status, fe.Code, fe.hint = f.se.Class, f.se.Status, f.se.Code, f.se.Hint
	fe.Source, fe.Attempts, fe.Elapsed = r.c.route.name, r.n, time.Since(r.start)
	if f.se.NotReady {
		fe.unproven = r.c.route.gate
	}
	r.done(ctx, k, fetched{err: fe, abandoned: f.abandoned})
}

// failure is how one attempt failed: the source's words, or mw's own for
// the end of the context; abandoned when the caller gave up.
type failure struct {
	se        *SourceError
	abandoned bool
}

// judge reads the error of an attempt made within ctx. An attempt that
// got no answer before ctx ended, and that the source reports as a timeout
// or a cancellation, was ended by ctx: a source may well report its ended
// context as a timeout of its own, which must not be recorded as the
// item's failure when the caller gave up.
func judge(ctx context.Context, err error) failure {
	var se *SourceError
	isSE := errors.As(err, &se)
	switch {
	case ctx.Err() != nil && (!isSE || endedBy(ctx, se)):
		return contextFailure(ctx)
	case isSE:
		return failure{se: se}
	case errors.Is(err, context.DeadlineExceeded):
		return failure{se: &SourceError{Class: ClassTimeout, Retry: true, Err: err,
			Hint: "the source's own timeout passed before it answered: see its settings"}}
	}
	return failure{se: &SourceError{Class: ClassOther, Err: err}}
}

// endedBy reports whether se, which came once ctx had ended, says no more
// than that: no answer, and a timeout, a cancellation or ctx's own error.
func endedBy(ctx context.Context, se *SourceError) bool {
	return se.Status == 0 && (se.Class == ClassTimeout || se.Class == ClassCanceled || errors.Is(se, ctx.Err()))
}

// contextFailure says which end of ctx ended an attempt. mw's own bounds
// are the item's failure; the invoke's deadline and cancellation are the
// caller's, and abandon the fetch.
func contextFailure(ctx context.Context) failure {
	switch cause := context.Cause(ctx); {
	case cause == errFetchTimeout:
		return failure{se: &SourceError{Class: ClassTimeout, Err: cause,
			Hint: "the source did not answer within the fetch timeout: raise WithFetchTimeout, or look for a hung source"}}
	case cause == errStaleBudget:
		return failure{se: &SourceError{Class: ClassTimeout, Err: cause,
			Hint: "the source did not answer in time; the last good value was served meanwhile"}}
	case errors.Is(ctx.Err(), context.Canceled): // whatever its cause, the caller's cancellation
		return failure{se: &SourceError{Class: ClassCanceled, Err: context.Canceled,
			Hint: "the invoke's context was canceled before the item was fetched: nothing to fix in mw"}, abandoned: true}
	default:
		return failure{se: &SourceError{Class: ClassTimeout, Err: errInvokeDeadline,
			Hint: "the invoke's deadline came before the source answered: raise the function's timeout, or look for a hung source"}, abandoned: true}
	}
}
