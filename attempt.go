package mw

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"runtime/debug"
	"sync/atomic"
	"time"

	"github.com/lambda-mw/mw/internal/cache"
	"github.com/lambda-mw/mw/internal/gate"
	"github.com/lambda-mw/mw/internal/retry"
	"github.com/lambda-mw/mw/internal/telemetry"
)

// attempts is the state of one call's retries; each item's own is in its
// slot of the call.
type attempts struct {
	w      *wrapper
	c      *call
	start  time.Time
	n      int // attempts made
	status int // the last HTTP status seen
	span   telemetry.Fetch
}

// loop makes attempts until every item has its result.
func (r *attempts) loop(ctx context.Context) {
	sched := retry.New(ctx)
	pending := make([]int, len(r.c.slots))
	for k := range pending {
		pending[k] = k
	}
	for len(pending) > 0 {
		wasReady := r.c.route.gate.Ready()
		at := time.Now()
		again, wait := r.attempt(ctx, pending, wasReady, at)
		switch {
		case len(again)+len(wait) == 0:
			return
		case len(again) == 0:
			asked, failed := r.awaitReady(ctx, wait, at)
			if len(failed) > 0 { // a probe's answer was a failure to retry
				asked = append(asked, r.backOff(ctx, sched, failed, time.Now())...)
			}
			pending = asked
		default:
			pending = r.backOff(ctx, sched, append(again, wait...), at)
		}
	}
}

// attempt asks for the pending items once, and sorts them: done, to retry,
// or to wait for the source to be ready.
func (r *attempts) attempt(ctx context.Context, pending []int, wasReady bool, at time.Time) (again, wait []int) {
	r.n++
	res := r.fetch(ctx, pending)
	remote := time.Since(at) >= r.c.route.gate.Local()
	for j, k := range pending {
		switch r.take(ctx, k, res[j], wasReady, remote) {
		case takeRetry:
			again = append(again, k)
		case takeWait:
			wait = append(wait, k)
		}
	}
	return again, wait
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
		r.c.route.gate.SetReady()
		r.status = http.StatusOK
		r.done(ctx, k, cache.Result{Value: res.Value, Values: res.Values, Type: res.Type})
		return takeDone
	}
	f := judge(ctx, res.Err)
	if answered(f.se) {
		r.c.route.gate.SetReady()
	}
	if s := &r.c.slots[k]; f.abandoned && s.last.se != nil && s.last.se.Status != 0 {
		// The caller's deadline (or cancellation) cut the retry of an
		// answer the source gave: that answer is what the user needs to
		// see, as when the deadline comes between two attempts, and the
		// deadline is what ended it.
		s.last.abandoned = true
		r.fail(ctx, k, ctx.Err())
		return takeDone
	}
	r.c.slots[k].last = f
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
	return se.Class == ClassUnavailable && !r.c.route.gate.Ready() && !r.w.inStartupWindow()
}

// ambiguousFor is how long a call retries item k's bare 400 that came from
// AWS (see mayBeThrottled), on the throttling schedule.
const ambiguousFor = time.Second

// mayBeThrottled reports whether a "not ready" answer that took longer
// than a loopback one is retried as throttling. The managed extension asks
// AWS before it answers so slowly, and answers its bare 400 whether AWS
// said the item is missing or forbidden, or throttled it, as AWS does when
// many environments start at once: the storm simulation (tools/storm,
// SCALE.md) found that taking it as final fails most invokes of such a
// storm, each failure sending the next invoke at once. So a required item
// with no stale value to serve retries it, with full jitter, for
// ambiguousFor of the call; an item that is missing costs a few more
// requests and that long before its invoke fails.
func (r *attempts) mayBeThrottled(k int) bool {
	return !r.c.stale && !r.w.items[r.c.slots[k].t.I].optional && time.Since(r.start) < ambiguousFor
}

// fetch calls the source for the pending items. A source that returns the
// wrong number of results fails them all.
func (r *attempts) fetch(ctx context.Context, pending []int) []Result {
	items := make([]Item, len(pending))
	for j, k := range pending {
		items[j] = r.c.slots[k].item
	}
	res := callSource(ctx, r.c.route, r.c.op, items)
	if len(res) != len(items) {
		err := &SourceError{Class: ClassOther, Err: fmt.Errorf("the %s source returned %d results for %d items", r.c.route.name, len(res), len(items))}
		res = make([]Result, len(items))
		for j := range res {
			res[j].Err = err
		}
	}
	return res
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
	g := r.c.route.gate
	targets := make([]*gate.Target[Result], len(wait))
	for j, k := range wait {
		targets[j] = gate.NewTarget(r.prober(r.c.slots[k].item))
	}
	ready := g.Await(wctx, targets)
	for j, k := range wait {
		probes, res := g.Answer(targets[j])
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

// prober returns how the gate probes for it: one request, whose answer
// shows the source serving or not.
func (r *attempts) prober(it Item) func(context.Context) gate.Answer[Result] {
	return func(ctx context.Context) gate.Answer[Result] {
		res := callSource(ctx, r.c.route, r.c.op, []Item{it})
		if len(res) != 1 {
			return gate.Answer[Result]{Class: string(ClassOther)}
		}
		if answered(res[0].Err) {
			return gate.Answer[Result]{Result: res[0], Served: true}
		}
		se := judge(ctx, res[0].Err).se
		return gate.Answer[Result]{Class: string(se.Class), Status: se.Status}
	}
}

// answered reports whether a fetch that ended with err got an answer that
// shows the source serving: a value, or a refusal it gives only when
// serving.
func answered(err error) bool {
	if err == nil {
		return true
	}
	var se *SourceError
	return errors.As(err, &se) && !se.NotReady && se.Status != 0
}

// replay records the requests made for item k while it waited at the gate:
// its own "not ready" answer at at, then the probes of it. Each failed
// request that another followed was retried: an mw.fetch.retry event and
// an mw.fetch.retries count, as for any retry. asked says whether the item
// is about to be asked for again.
func (r *attempts) replay(ctx context.Context, k int, at time.Time, probes []gate.Probe, asked bool) {
	first := r.c.slots[k].last.se
	history := append([]gate.Probe{{At: at, Class: string(first.Class), Status: first.Status}}, probes...)
	n := r.n
	for i, p := range history {
		next, followed := time.Now(), asked
		if i+1 < len(history) {
			next, followed = history[i+1].At, true
		}
		if !p.Served && followed {
			r.span.Retry(n+i, []int{k}, p.Class, p.Status, next.Sub(p.At), p.At)
			r.w.tel.Retried(ctx, r.c.slots[k].t.I, r.c.route.name, p.Class)
		}
	}
	r.n += len(probes) // requests made for the item while it waited
}

// backOff waits before the next attempt, by the schedule of the worst
// failure, and returns the items to ask for again; none if the deadline
// comes first.
func (r *attempts) backOff(ctx context.Context, sched *retry.Schedule, again []int, at time.Time) []int {
	throttled, after := false, time.Duration(0)
	for _, k := range again {
		se := r.c.slots[k].last.se
		throttled = throttled || se.Class == ClassThrottled || se.NotReady
		after = max(after, se.RetryAfter)
	}
	d := sched.Next(throttled, after)
	if r.c.detached && time.Since(r.start)+d > staleBudget {
		d = retry.Stop // a detached refresh retries within the stale budget only
	}
	if d != retry.Stop {
		first := r.c.slots[again[0]].last.se
		r.span.Retry(r.n, again, string(first.Class), first.Status, d, at)
		for _, k := range again {
			r.w.tel.Retried(ctx, r.c.slots[k].t.I, r.c.route.name, string(r.c.slots[k].last.se.Class))
		}
		if retry.Sleep(ctx, d) {
			return again
		}
	}
	for _, k := range again {
		r.fail(ctx, k, ctx.Err())
	}
	return nil
}

// done ends item k's fetch with res, and lands its flight at once: its
// value is as old as this answer, whatever the call's other items still
// wait for, and so are its waiters.
func (r *attempts) done(ctx context.Context, k int, res cache.Result) {
	s := &r.c.slots[k]
	s.res, s.final, s.landed = res, true, true // landed once only, whatever Land does
	r.w.cache.Land(s.t, res, r.w.now())
	class := ""
	if fe, ok := res.Err.(*FetchError); ok {
		class = string(fe.Class)
	}
	r.w.tel.Fetched(ctx, s.t.I, r.c.route.name, s.t.Reason().String(), time.Since(r.start), class)
}

// fail ends item k's fetch with its last failure. ended is the context's
// end, when that is what stopped the retries: the last answer is what the
// user needs to see, but the deadline is what ended it.
func (r *attempts) fail(ctx context.Context, k int, ended error) {
	f := r.c.slots[k].last
	var cause error = f.se
	if ended != nil && f.se.Class != ClassTimeout && f.se.Class != ClassCanceled {
		cause = errors.Join(f.se, ended)
	}
	ff := fetchFailure{class: f.se.Class, status: f.se.Status, code: f.se.Code, hint: f.se.Hint, err: cause}
	if f.se.NotReady && !r.c.route.gate.Ready() {
		ff.unready = true // the answer may have meant that the source was not ready yet
	}
	r.done(ctx, k, cache.Result{Err: r.errorOf(k, ff), Abandoned: f.abandoned})
}

// errorOf is item k's *FetchError for f, with what the call knows of it.
func (r *attempts) errorOf(k int, f fetchFailure) *FetchError {
	i := r.c.slots[k].t.I
	f.source, f.attempts, f.elapsed = r.c.route.name, r.n, time.Since(r.start)
	f.stale = r.w.cache.Staleness(i, r.w.now())
	return r.w.items[i].fetchError(f)
}

// end ends the call's span, naming the items that failed.
func (r *attempts) end() {
	var failed []telemetry.Failure
	for _, s := range r.c.slots {
		if fe, ok := s.res.Err.(*FetchError); ok {
			failed = append(failed, telemetry.Failure{Class: string(fe.Class), Subject: fe.subject(), Message: fe.Error()})
		}
	}
	r.span.End(r.n, r.status, len(r.c.slots), failed)
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

// What ended a fetch's context: mw's own bounds (recorded as the item's
// failure), or the invoke's deadline, which is the caller's.
var (
	errFetchTimeout   = errors.New("the fetch timeout passed (WithFetchTimeout)")
	errStaleBudget    = errors.New("the time allowed for refreshing an item with a stale value to serve passed")
	errInvokeDeadline = errors.New("the invoke's deadline, less the time kept to return an error, passed")
)

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
	slots    []slot
}

// A slot is one item of a call: the flight it lands, what is asked for,
// and how its fetch goes.
type slot struct {
	t      cache.Ticket
	item   Item         // what is asked for
	res    cache.Result // how it ended, once final
	final  bool
	landed bool    // its flight has landed
	last   failure // its last failed attempt
}

// positions returns the items' positions, for telemetry.
func (c *call) positions() []int {
	ps := make([]int, len(c.slots))
	for k, s := range c.slots {
		ps[k] = s.t.I
	}
	return ps
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
		return &fetchPanic{value: sp.value, stack: sp.stack, what: c.slots[0].item.String()}
	}
	return &fetchPanic{value: v, stack: debug.Stack(), what: c.slots[0].item.String()}
}

// run fetches c's items, retrying what may succeed later, and ends each
// slot as its fetch ends. A panic while fetching ends the items not yet
// done as ClassPanic failures, on the span and the metrics, and is
// returned.
func (w *wrapper) run(ctx context.Context, c *call) (p *fetchPanic) {
	if c.stale && !c.detached {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, staleBudget, errStaleBudget)
		defer cancel()
	}
	r := attempts{w: w, c: c, start: time.Now()}
	ctx, r.span = w.tel.StartFetch(ctx, telemetry.Call{Source: c.route.name, Op: c.op, Items: c.positions(), Forced: c.force})
	defer r.end()
	defer func() {
		if v := recover(); v != nil {
			p = newFetchPanic(v, c)
			for k := range c.slots {
				if !c.slots[k].final {
					r.done(ctx, k, cache.Result{Err: r.errorOf(k, fetchFailure{class: ClassPanic, err: errors.New("the fetch panicked")})})
				}
			}
		}
	}()
	r.loop(ctx)
	return nil
}

// callSource calls src.Fetch, and returns when it does or when ctx ends,
// whichever comes first: a source (or an HTTP transport) that ignores its
// context cannot hold the caller, or the flights it leads, past ctx. Once
// ctx has ended, each item's Result is ctx's error, and what the source
// returns later is dropped. A panic in the source is raised again in the
// caller's goroutine, with the source's stack.
func callSource(ctx context.Context, rt *route, op string, items []Item) []Result {
	res, err := within(ctx, rt, func() ([]Result, error) { return rt.src.Fetch(ctx, op, items), nil })
	if err != nil {
		res = make([]Result, len(items))
		for j := range res {
			res[j].Err = err
		}
	}
	return res
}

// refusal is the error of a call not made, since maxOverdue calls to the
// source named still run past their context; nil if fewer do.
func (o *overdue) refusal(name string) error {
	n := o.n.Load()
	if n < maxOverdue {
		return nil
	}
	return &SourceError{Class: ClassTimeout, Err: fmt.Errorf("%d calls to the %s source still run after their invokes ended, so no more are made until they return", n, name),
		Hint: "the source ignores its context: make its Fetch, and any HTTP transport it uses, return when ctx is done"}
}

// within runs f for rt's source, and returns what it does or, when ctx
// ends first, ctx's error: a source that ignores its context cannot hold
// the caller past it. Such a call is counted in rt.late until it returns,
// and while maxOverdue are, f is not run. A panic in f is raised again in
// the caller's goroutine.
func within[T any](ctx context.Context, rt *route, f func() (T, error)) (T, error) {
	type answer struct {
		v     T
		err   error
		panic *sourcePanic
	}
	var zero T
	if err := rt.late.refusal(rt.name); err != nil {
		return zero, err
	}
	const (
		running int32 = iota
		returned
		abandoned
	)
	var state atomic.Int32
	done := make(chan answer, 1)
	go func() {
		var a answer
		defer func() {
			if v := recover(); v != nil {
				a.panic = &sourcePanic{value: v, stack: debug.Stack()}
			}
			if !state.CompareAndSwap(running, returned) {
				rt.late.n.Add(-1) // its caller left, and counted it
			}
			done <- a
		}()
		a.v, a.err = f()
	}()
	select {
	case a := <-done:
		if a.panic != nil {
			panic(a.panic)
		}
		return a.v, a.err
	case <-ctx.Done():
		if state.CompareAndSwap(running, abandoned) {
			rt.late.n.Add(1)
			return zero, ctx.Err()
		}
		a := <-done // it returned as ctx ended: its answer stands
		if a.panic != nil {
			panic(a.panic)
		}
		return a.v, a.err
	}
}

// sourcePanic is a panic in Source.Fetch, raised again in its caller's
// goroutine.
type sourcePanic struct {
	value any
	stack []byte
}
