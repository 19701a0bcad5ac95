package mw_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lambda-mw/mw"
	"github.com/lambda-mw/mw/internal/busy"
	"github.com/lambda-mw/mw/mwtest"
)

// The tests of the flights (fetch.go): every item fetched at once, each by
// one flight however many invokes need it; who leads a fetch, who waits for
// it, and how it ends; refreshes that share a flight; the invoke's deadline
// over it all. Many began as defects found in review, each a test of the
// right behaviour.

// The first invoke fetches every item, concurrently, with the protocol's
// details right, in both dialects.
func TestFirstInvokeFetchesEveryItemConcurrently(t *testing.T) {
	busy.Goroutines(t, 0)
	for _, d := range dialects {
		t.Run(d.String(), func(t *testing.T) {
			t.Setenv("AWS_SESSION_TOKEN", testToken)
			ext := mwtest.New(d)
			ext.SetToken(testToken)
			// The third is declared by its full ARN.
			stored := []string{"prod/db", "team+a=b@c/d", "prod/api"}
			secrets := []string{"prod/db", "team+a=b@c/d", mwtest.SecretARN("prod/api")}
			var keys []string
			want := map[string]string{}
			for i, id := range secrets {
				ext.PutSecret(stored[i], fmt.Sprintf("value-%d", i))
				keys = append(keys, "secret:"+id)
				want["secret:"+id] = fmt.Sprintf("value-%d", i)
			}
			var params []string
			if d == mwtest.Managed { // the agent has no Parameter Store
				ext.PutParameter("/app/flags", "String", "on")
				ext.PutParameter("/app/a+b=c@d", "SecureString", "decrypted")
				params = []string{"/app/flags", "/app/a+b=c@d"}
				keys = append(keys, "parameter:/app/flags", "parameter:/app/a+b=c@d")
				want["parameter:/app/flags"] = "on"
				want["parameter:/app/a+b=c@d"] = "decrypted"
			}
			// Every request waits until all are in flight together.
			w := serveWorld(t, ext, newBarrier(ext, len(keys)))
			h := mw.Wrap(echo, w.opts(mw.WithSecrets(secrets...), mw.WithParameters(params...))...)
			got, err := h(invokeCtx(t, 5*time.Second), keys)
			if err != nil {
				t.Fatalf("fetches did not run concurrently, or failed: %v", err)
			}
			for k, v := range want {
				if got[k] != v {
					t.Errorf("%s = %q; want %q", k, got[k], v)
				}
			}
		})
	}
}

func TestHangingExtensionCannotHoldTheInvokePastItsDeadline(t *testing.T) {
	for _, d := range dialects {
		t.Run(d.String(), func(t *testing.T) {
			w := newWorld(t, d)
			w.ext.PutSecret("s", "v")
			w.ext.SetHang(true)
			ran := false
			h := mw.Wrap(func(ctx context.Context, _ struct{}) (struct{}, error) { ran = true; return struct{}{}, nil }, w.opts(mw.WithSecrets("s"))...)
			start := time.Now()
			_, err := h(invokeCtx(t, 400*time.Millisecond), struct{}{})
			elapsed := time.Since(start)
			if ran {
				t.Error("handler ran without its secret")
			}
			if fe := asFetchError(t, err); fe.Class != mw.ClassTimeout {
				t.Errorf("class %s; want timeout", fe.Class)
			}
			// The bound: a 400 ms invoke is not held for more than
			// about a second. mw returns before the deadline, keeping a
			// reserve to report the error.
			if elapsed > time.Second {
				t.Errorf("invoke held for %v", elapsed)
			}
			t.Logf("a 400 ms invoke against a hung extension returned after %v", elapsed.Round(time.Millisecond))
		})
	}
}

// N concurrent cold invokes make one fetch per item.
func TestConcurrentColdInvokesFetchEachItemOnce(t *testing.T) {
	busy.Goroutines(t, 0)
	for _, d := range dialects {
		t.Run(d.String(), func(t *testing.T) { coldStampede(t, d, 64, 20*time.Millisecond) })
	}
}

func Test1000ConcurrentColdInvokesFetchEachItemOnce(t *testing.T) {
	busy.Goroutines(t, 0)
	coldStampede(t, mwtest.Managed, 1000, 10*time.Millisecond)
}

// coldStampede starts n cold invokes at once, against a fake of dialect d
// that answers after latency, and checks that each item was fetched once
// and every invoke read its values.
func coldStampede(t *testing.T, d mwtest.Dialect, n int, latency time.Duration) {
	w := newWorld(t, d)
	ids := []string{"a", "b", "c", "d", "e"}
	for _, id := range ids {
		w.ext.PutSecret(id, "v-"+id)
	}
	w.ext.SetLatency(latency)
	h := mw.Wrap(echo, w.opts(mw.WithSecrets(ids...))...)
	start := make(chan struct{})
	errs := make(chan error, n)
	for range n {
		go func() {
			<-start
			got, err := h(invokeCtx(t, 10*time.Second), []string{"secret:a", "secret:e"})
			if err == nil && (got["secret:a"] != "v-a" || got["secret:e"] != "v-e") {
				err = fmt.Errorf("wrong values %v", got)
			}
			errs <- err
		}()
	}
	close(start)
	for range n {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	for _, id := range ids {
		if got := w.ext.Fetches(id); got != 1 {
			t.Errorf("%s fetched %d times by %d concurrent cold invokes; want 1", id, got, n)
		}
	}
}

func TestAWaiterOutlivesALeaderThatRanOutOfTime(t *testing.T) {
	w := newWorld(t, mwtest.Managed)
	w.ext.PutSecret("s", "v")
	w.ext.SetHang(true)
	arrived := make(chan struct{}, 1)
	w = serveWorld(t, w.ext, http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		select {
		case arrived <- struct{}{}:
		default:
		}
		w.ext.ServeHTTP(rw, r)
	}))
	h := mw.Wrap(echo, w.opts(mw.WithSecrets("s"))...)
	leaderDone := make(chan error, 1)
	go func() {
		_, err := h(invokeCtx(t, 300*time.Millisecond), nil)
		leaderDone <- err
	}()
	<-arrived // the leader's fetch hangs in the extension
	follower := make(chan error, 1)
	go func() {
		got, err := h(invokeCtx(t, 10*time.Second), []string{"secret:s"})
		if err == nil && got["secret:s"] != "v" {
			err = fmt.Errorf("got %v", got)
		}
		follower <- err
	}()
	if err := <-leaderDone; err == nil {
		t.Fatal("the leader should have timed out")
	}
	w.ext.SetHang(false)
	if err := <-follower; err != nil {
		t.Fatalf("the follower inherited the leader's timeout: %v", err)
	}
}

func TestRefreshStampedeCausesOneFetch(t *testing.T) {
	w := newWorld(t, mwtest.Agent)
	w.ext.PutSecret("prod/db", "v1")
	w.ext.SetLatency(20 * time.Millisecond)
	clk := newClock()
	h := mw.Wrap(func(ctx context.Context, _ int) (string, error) {
		return mw.RefreshSecret(ctx, "prod/db")
	}, w.opts(mw.WithSecrets("prod/db"), mw.WithSecretsManagerAgent(), withClock(clk))...)
	if _, err := h(invokeCtx(t, 5*time.Second), 0); err != nil { // cold, then one refresh
		t.Fatal(err)
	}
	clk.Advance(5 * time.Second)
	before := w.ext.Fetches("prod/db")
	w.ext.PutSecret("prod/db", "v2")
	const n = 100
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if v, err := h(invokeCtx(t, 5*time.Second), 0); err != nil || v != "v2" {
				errs <- fmt.Errorf("%q, %v", v, err)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if got := w.ext.Fetches("prod/db") - before; got != 1 {
		t.Errorf("%d concurrent refreshes made %d fetches; want 1", n, got)
	}
}

// panicOnce is a transport that panics on its first request, as a user's
// instrumented transport might, then works.
type panicOnce struct {
	done atomic.Bool
}

func (p *panicOnce) RoundTrip(r *http.Request) (*http.Response, error) {
	if p.done.CompareAndSwap(false, true) {
		panic("transport bug")
	}
	return http.DefaultTransport.RoundTrip(r)
}

// A panic while fetching is raised again in the caller's goroutine once
// the fetch has ended: the process survives it, and the next fetch of the
// item is not left waiting for a fetch that never ends.
func TestAPanicWhileFetchingEndsTheFetch(t *testing.T) {
	w := newWorld(t, mwtest.Managed)
	w.ext.PutSecret("s", "v")
	var invoke, refresh func(context.Context, []string) (map[string]string, error)
	invoke = mw.Wrap(echo, w.opts(mw.WithSecrets("s"), mw.WithHTTPClient(&http.Client{Transport: &panicOnce{}}))...)
	if r := recovered(func() { _, _ = invoke(invokeCtx(t, 5*time.Second), nil) }); r == nil || !strings.Contains(errString(r), "transport bug") {
		t.Fatalf("invoke: recovered %v; want the transport's panic", r)
	}
	if got, err := invoke(invokeCtx(t, 5*time.Second), []string{"secret:s"}); err != nil || got["secret:s"] != "v" {
		t.Fatalf("after the panic: %v, %v", got, err)
	}

	// The same through RefreshSecret, whose fetch panics once.
	tr := &panicOnce{}
	tr.done.Store(true)
	c := newClock()
	refresh = mw.Wrap(func(ctx context.Context, _ []string) (map[string]string, error) {
		v, err := mw.RefreshSecret(ctx, "s")
		return map[string]string{"s": v}, err
	}, w.opts(mw.WithSecrets("s"), mw.WithHTTPClient(&http.Client{Transport: tr}), withClock(c))...)
	if _, err := refresh(invokeCtx(t, 5*time.Second), nil); err != nil {
		t.Fatal(err)
	}
	tr.done.Store(false)
	c.Advance(2 * time.Second) // past refreshCoalesce (1 s), so the next refresh fetches
	if r := recovered(func() { _, _ = refresh(invokeCtx(t, 5*time.Second), nil) }); r == nil {
		t.Fatal("RefreshSecret: no panic")
	}
	before := w.ext.Requests()
	start := time.Now()
	if got, err := refresh(invokeCtx(t, 5*time.Second), nil); err != nil || got["s"] != "v" || w.ext.Requests() == before {
		t.Fatalf("refresh after the panic: %v, %v, %d requests", got, err, w.ext.Requests()-before)
	}
	if el := time.Since(start); el > 3*time.Second { // a bound, not a measurement: it did not wait out its deadline
		t.Errorf("took %v", el)
	}
}

// refresher is a wrapped handler that refreshes the secret s, and a way to
// know when n of its callers wait for a fetch another leads.
func refresher(t *testing.T, w *world, more ...mw.Option) (func(context.Context) (string, error), func(n int)) {
	var mu sync.Mutex
	waiting := 0
	cond := sync.NewCond(&mu)
	hook := mw.WithAwaitHook(func() {
		mu.Lock()
		waiting++
		cond.Broadcast()
		mu.Unlock()
	})
	h := mw.Wrap(func(ctx context.Context, _ int) (string, error) { return mw.RefreshSecret(ctx, "s") },
		w.opts(append(more, mw.WithSecrets("s"), hook)...)...)
	wait := func(n int) {
		mu.Lock()
		for waiting < n {
			cond.Wait()
		}
		mu.Unlock()
	}
	return func(ctx context.Context) (string, error) { return h(ctx, 0) }, wait
}

// Callers waiting for a refresh whose leader gave up do not inherit its
// cancellation: with time left, they fetch again.
func TestRefreshWaitersDoNotInheritTheLeadersCancellation(t *testing.T) {
	w := newWorld(t, mwtest.Managed)
	w.ext.PutSecret("s", "v")
	c := newClock()
	refresh, waitFor := refresher(t, w, withClock(c))
	if _, err := refresh(invokeCtx(t, 5*time.Second)); err != nil { // the first invoke fetches s
		t.Fatal(err)
	}
	c.Advance(2 * time.Second) // past refreshCoalesce (1 s)
	w.ext.SetHang(true)
	leaderCtx, cancel := context.WithCancel(invokeCtx(t, 10*time.Second))
	leader := make(chan error, 1)
	go func() { _, err := refresh(leaderCtx); leader <- err }()
	w.ext.WaitHanging(leaderCtx.Done(), 1)
	errs := make(chan error, 5)
	for range 5 {
		go func() { _, err := refresh(invokeCtx(t, 10*time.Second)); errs <- err }()
	}
	waitFor(5)
	cancel()
	if err := <-leader; !errors.Is(err, context.Canceled) && asFetchError(t, err).Class != mw.ClassCanceled {
		t.Errorf("leader: %v", err)
	}
	w.ext.SetHang(false)
	for range 5 {
		if err := <-errs; err != nil {
			t.Errorf("waiter: %v", err)
		}
	}
}

// One invoke's cancellation is not the item's failure: the next invoke
// fetches it, and an optional item is not left without a value for the
// 10 s a real failure would hold.
func TestACanceledInvokeIsNotTheItemsFailure(t *testing.T) {
	w := newWorld(t, mwtest.Managed)
	w.ext.PutSecret("s", "v")
	h := mw.Wrap(echo, w.opts(mw.WithSecret("s", mw.Optional()))...)
	w.ext.SetHang(true)
	ctx, cancel := context.WithCancel(invokeCtx(t, 10*time.Second))
	go func() {
		w.ext.WaitHanging(ctx.Done(), 1)
		cancel()
	}()
	if _, err := h(ctx, []string{"secret:s"}); err == nil {
		t.Fatal("the canceled invoke succeeded")
	}
	w.ext.SetHang(false)
	if got, err := h(invokeCtx(t, 5*time.Second), []string{"secret:s"}); err != nil || got["secret:s"] != "v" {
		t.Fatalf("next invoke: %v, %v", got, err)
	}
}

// A caller waiting for another's refresh keeps the deadline reserve: it
// returns its error before its own deadline, not after.
func TestARefreshWaiterKeepsTheDeadlineReserve(t *testing.T) {
	w := newWorld(t, mwtest.Managed)
	w.ext.PutSecret("s", "v")
	c := newClock()
	refresh, waitFor := refresher(t, w, withClock(c))
	if _, err := refresh(invokeCtx(t, 5*time.Second)); err != nil {
		t.Fatal(err)
	}
	c.Advance(2 * time.Second) // past refreshCoalesce (1 s)
	w.ext.SetHang(true)
	leaderCtx := invokeCtx(t, 10*time.Second)
	go func() { _, _ = refresh(leaderCtx) }() // the leader, hung
	w.ext.WaitHanging(leaderCtx.Done(), 1)
	ctx := invokeCtx(t, 500*time.Millisecond)
	done := make(chan error, 1)
	go func() { _, err := refresh(ctx); done <- err }()
	waitFor(1)
	err := <-done
	if ctx.Err() != nil {
		t.Errorf("the waiter returned after its deadline: %v", err)
	}
	if fe := asFetchError(t, err); fe.Class != mw.ClassTimeout {
		t.Errorf("%v", err)
	}
}

// A forced refresh is always a forced fetch: it never takes the result of
// an ordinary fetch in flight (here a refresh ahead of expiry, beside the
// handler), which would not bypass the agent's cache.
func TestARefreshNeverTakesAnOrdinaryFetch(t *testing.T) {
	w := newWorld(t, mwtest.Agent)
	w.ext.PutSecret("s", "v")
	hung := make(chan struct{})
	h := mw.Wrap(func(ctx context.Context, refresh bool) (string, error) {
		if !refresh {
			return "", nil
		}
		<-hung // the refresh ahead is in flight
		return mw.RefreshSecret(ctx, "s")
	}, w.opts(mw.WithSecretsManagerAgent(), mw.WithSecrets("s"), mw.WithTTL(time.Hour), mw.WithRefreshAhead(time.Hour))...)
	if _, err := h(invokeCtx(t, 5*time.Second), false); err != nil {
		t.Fatal(err)
	}
	w.ext.SetHang(true)
	ctx := invokeCtx(t, 10*time.Second)
	done := make(chan error, 1)
	go func() { _, err := h(ctx, true); done <- err }()
	if !w.ext.WaitHanging(ctx.Done(), 1) { // the refresh ahead
		t.Fatal("no refresh ahead")
	}
	close(hung)
	if !w.ext.WaitHanging(ctx.Done(), 2) { // the forced refresh, a request of its own
		t.Fatal("the forced refresh sent no request of its own")
	}
	w.ext.SetHang(false)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if n := w.ext.Stats().RefreshNow; n != 1 {
		t.Errorf("%d requests with refreshNow=true; want 1", n)
	}
}

// An invoke that needs an expired item with a stale value to serve waits
// for its refresh no longer than a stale item's budget (docs/operations.md: "With
// a stale value to serve, it waits 1 s at most"), even when the flight it
// joins is another caller's RefreshSecret against a hung extension: it
// serves the stale value and leaves its handler the invoke's time.
func TestAnInvokeJoiningARefreshServesStaleWithinItsBudget(t *testing.T) {
	w := newWorld(t, mwtest.Managed)
	w.ext.PutSecret("s", "v")
	c := newClock()
	left := make(chan time.Duration, 1)
	h := mw.Wrap(func(ctx context.Context, refresh bool) (string, error) {
		if refresh {
			return mw.RefreshSecret(ctx, "s")
		}
		dl, _ := ctx.Deadline()
		left <- time.Until(dl)
		return mw.Secret(ctx, "s")
	}, w.opts(mw.WithSecrets("s"), mw.WithTTL(time.Minute), withClock(c))...)
	if _, err := h(invokeCtx(t, 5*time.Second), false); err != nil {
		t.Fatal(err)
	}
	<-left
	w.ext.SetHang(true)
	refreshCtx := invokeCtx(t, 30*time.Second)
	go func() { _, _ = h(refreshCtx, true) }() // a forced refresh, hung
	if !w.ext.WaitHanging(refreshCtx.Done(), 1) {
		t.Fatal("the refresh sent no request")
	}
	c.Advance(2 * time.Minute) // s expires; its last good value is servable
	got, err := h(invokeCtx(t, 5*time.Second), false)
	if err != nil || got != "v" {
		t.Fatalf("got %q, %v; want the stale value", got, err)
	}
	if l := <-left; l < 2*time.Second { // a bound: the stale budget is 1 s of 5
		t.Errorf("the handler started with %v of its 5 s left: the invoke waited for the hung refresh past the stale budget", l.Round(time.Millisecond))
	}
}

// pausingCtx is an invoke's context that holds the invoke the first time
// mw asks for its deadline, which it does once it has decided what to
// fetch and before it fetches: a seam to land another's fetch in between.
type pausingCtx struct {
	context.Context
	once    sync.Once
	reached chan struct{}
	release chan struct{}
}

func newPausingCtx(ctx context.Context) *pausingCtx {
	return &pausingCtx{Context: ctx, reached: make(chan struct{}), release: make(chan struct{})}
}

func (c *pausingCtx) Deadline() (time.Time, bool) {
	c.once.Do(func() {
		close(c.reached)
		<-c.release
	})
	return c.Context.Deadline()
}

// An invoke that found an item missing, but whose fetch of it starts only
// after a concurrent invoke's fetch of it has landed, serves that value: it
// does not fetch the item again (docs/operations.md: N concurrent cold invokes
// make one fetch per item). Test1000ConcurrentColdInvokesFetchEachItemOnce
// meets this by chance under load; this test meets it every time.
func TestAnInvokeDoesNotRefetchWhatLandedWhileItPlanned(t *testing.T) {
	w := newWorld(t, mwtest.Managed)
	w.ext.PutSecret("s", "v")
	h := mw.Wrap(echo, w.opts(mw.WithSecrets("s"))...)
	w.ext.SetHang(true)
	first := invokeCtx(t, 10*time.Second)
	done := make(chan error, 1)
	go func() { _, err := h(first, nil); done <- err }() // leads the fetch of s, held
	if !w.ext.WaitHanging(first.Done(), 1) {
		t.Fatal("no fetch")
	}
	second := newPausingCtx(invokeCtx(t, 10*time.Second))
	got := make(chan map[string]string, 1)
	go func() {
		v, err := h(second, []string{"secret:s"})
		if err != nil {
			t.Error(err)
		}
		got <- v
	}()
	<-second.reached // it found s missing
	w.ext.SetHang(false)
	if err := <-done; err != nil { // the first fetch has landed
		t.Fatal(err)
	}
	close(second.release)
	if v := <-got; v["secret:s"] != "v" {
		t.Errorf("got %v", v)
	}
	if n := w.ext.Fetches("s"); n != 1 {
		t.Errorf("s fetched %d times; want 1: the second invoke fetched again what had just landed", n)
	}
}

// ctxErrSource serves parameter values, or, while hung, answers when its
// context ends with the *mw.SourceError a source may well give then (the
// AWS SDK source does): ClassTimeout, no status, no retry.
type ctxErrSource struct {
	hung    atomic.Bool
	waiting chan struct{} // receives when a hung call waits
}

func (s *ctxErrSource) Name() string { return "ctxerr" }

func (s *ctxErrSource) Plan(it mw.Item) (mw.Plan, error) {
	if it.Kind != mw.KindParameter {
		return mw.Plan{}, mw.ErrNotServed
	}
	return mw.Plan{Op: "Get", Batch: 1}, nil
}

func (s *ctxErrSource) Fetch(ctx context.Context, _ string, items []mw.Item) []mw.Result {
	out := make([]mw.Result, len(items))
	if s.hung.Load() {
		s.waiting <- struct{}{}
		<-ctx.Done()
		for i := range out {
			out[i].Err = &mw.SourceError{Class: mw.ClassTimeout, Err: ctx.Err(), Hint: "the invoke's deadline came first"}
		}
		return out
	}
	for i := range out {
		out[i].Value = "v"
	}
	return out
}

// One invoke's cancellation is not the item's failure, whatever error the
// source gives for its ended context: the next invoke fetches the item, and
// an optional item is not left without a value for 10 s.
func TestACanceledInvokeIsNotTheItemsFailureWhateverTheSourceSays(t *testing.T) {
	src := &ctxErrSource{waiting: make(chan struct{}, 1)}
	h := mw.Wrap(echo, mw.WithoutEnvironment(), mw.WithSource(src), mw.WithParameter("p", mw.Optional()))
	src.hung.Store(true)
	ctx, cancel := context.WithCancel(invokeCtx(t, 10*time.Second))
	go func() {
		<-src.waiting
		cancel()
	}()
	_, _ = h(ctx, []string{"parameter:p"}) // canceled: the optional item may be absent
	src.hung.Store(false)
	got, err := h(invokeCtx(t, 5*time.Second), []string{"parameter:p"})
	if err != nil || got["parameter:p"] != "v" {
		t.Fatalf("next invoke: %v, %v; want the value: the canceled invoke's fetch was recorded as the item's failure", got, err)
	}
}

// A RefreshSecret that finds another caller's forced refresh just landed
// takes it for its own, and returns the value that refresh got, never the
// one from before it: that is the stampede RefreshSecret exists for ("login
// failed, refresh, log in again"). The landing is held between the moment
// the new value is in the cache and the moment its leader goes on: callers
// that come then must see it. (On a loaded machine this window is wide
// enough for real callers to fall into: here it is held open.)
func TestARefreshThatTakesAnotherReturnsWhatItForced(t *testing.T) {
	w := newWorld(t, mwtest.Managed)
	w.ext.PutSecret("s", "old")
	var hold atomic.Bool
	landed, release := make(chan struct{}), make(chan struct{})
	h := mw.Wrap(func(ctx context.Context, refresh bool) (string, error) {
		if refresh {
			return mw.RefreshSecret(ctx, "s")
		}
		return mw.Secret(ctx, "s")
	}, w.opts(mw.WithSecrets("s"), mw.WithLandHook(func(forced bool) {
		if forced && hold.CompareAndSwap(true, false) {
			close(landed)
			<-release
		}
	}))...)
	if v, err := h(invokeCtx(t, 5*time.Second), false); err != nil || v != "old" {
		t.Fatalf("cold: %q, %v", v, err)
	}
	w.ext.PutSecret("s", "new")
	hold.Store(true)
	first := make(chan string, 1)
	go func() {
		v, _ := h(invokeCtx(t, 5*time.Second), true)
		first <- v
	}()
	<-landed
	// Callers that come now, while the landing is held, on a loaded
	// machine: every one takes the refresh for its own, and its value.
	busy.Goroutines(t, 3)
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if v, err := h(invokeCtx(t, 5*time.Second), true); err != nil || v != "new" {
				t.Errorf("a refresh that came after another's landed: %q, %v; want new", v, err)
			}
		}()
	}
	wg.Wait()
	close(release)
	if v := <-first; v != "new" {
		t.Errorf("the refresh that fetched: %q; want new", v)
	}
	if n := w.ext.Fetches("s"); n != 2 {
		t.Errorf("%d fetches; want 2: the second refresh takes the first's", n)
	}
}

// slowSource answers its first Fetch at once, and each later one when the
// test releases it: a refresh that takes as long as the test says, such as
// the listing of a large parameter tree.
type slowSource struct {
	calls   atomic.Int32
	value   atomic.Value // string
	release chan struct{}
	started chan struct{}
}

func newSlowSource(v string) *slowSource {
	s := &slowSource{release: make(chan struct{}), started: make(chan struct{}, 8)}
	s.value.Store(v)
	return s
}

func (s *slowSource) Name() string { return "slow" }

func (s *slowSource) Plan(it mw.Item) (mw.Plan, error) {
	if it.Kind != mw.KindParametersByPath {
		return mw.Plan{}, mw.ErrNotServed
	}
	return mw.Plan{Op: "List", Batch: 1}, nil
}

func (s *slowSource) Fetch(ctx context.Context, _ string, items []mw.Item) []mw.Result {
	if s.calls.Add(1) > 1 {
		s.started <- struct{}{}
		select {
		case <-s.release:
		case <-ctx.Done():
			return []mw.Result{{Err: ctx.Err()}}
		}
	}
	return []mw.Result{{Values: map[string]string{"/tree/a": s.value.Load().(string)}}}
}

// The refresh of an expired item with a value to serve is not cut at the
// stale budget: the invoke serves the stale value within the budget, and
// the refresh goes on until it lands, however long it takes within the
// fetch timeout; invokes meanwhile serve the stale value at once and start
// no other fetch; the next invoke after it lands serves the new value.
func TestARefreshLongerThanTheStaleBudgetStillLands(t *testing.T) {
	src := newSlowSource("old")
	clk := newClock()
	landed := make(chan struct{}, 1)
	h := mw.Wrap(func(ctx context.Context, _ int) (string, error) {
		return mw.Parameter(ctx, "/tree/a")
	}, mw.WithoutEnvironment(), mw.WithSource(src), mw.WithParametersByPath("/tree"), mw.WithTTL(time.Minute), withClock(clk),
		mw.WithLandHook(func(bool) {
			select {
			case landed <- struct{}{}:
			default:
			}
		}))
	if v, err := h(invokeCtx(t, 5*time.Second), 0); err != nil || v != "old" {
		t.Fatalf("cold: %q, %v", v, err)
	}
	<-landed
	clk.Advance(2 * time.Minute)
	src.value.Store("new")
	start := time.Now()
	if v, err := h(invokeCtx(t, 10*time.Second), 0); err != nil || v != "old" {
		t.Fatalf("expired, refreshing: %q, %v; want the stale value", v, err)
	}
	if el := time.Since(start); el > mw.StaleBudget+2*time.Second { // a bound, not a measurement
		t.Errorf("the invoke waited %v for the refresh", el)
	}
	<-src.started
	for range 3 { // while the refresh runs: stale, at once, and no other fetch
		if v, err := h(invokeCtx(t, 10*time.Second), 0); err != nil || v != "old" {
			t.Fatalf("during the refresh: %q, %v", v, err)
		}
	}
	close(src.release) // past the stale budget: the refresh lands now
	<-landed
	if v, err := h(invokeCtx(t, 5*time.Second), 0); err != nil || v != "new" {
		t.Fatalf("after the refresh landed: %q, %v; want new", v, err)
	}
	if n := src.calls.Load(); n != 2 {
		t.Errorf("%d fetches; want 2: the cold one and one refresh", n)
	}
}

// batchSource fetches items in calls of two. Its first answer for "slow"
// is a server error to retry; the retry's answer comes advance later on
// the test's clock, so that the items of one call are fetched at two
// times. "fast" is valued by the number of its fetches.
type batchSource struct {
	clk     *clock
	advance time.Duration
	slow    atomic.Int32
	fast    atomic.Int32
}

func (s *batchSource) Name() string                  { return "batch" }
func (s *batchSource) Plan(mw.Item) (mw.Plan, error) { return mw.Plan{Op: "Get", Batch: 2}, nil }
func (s *batchSource) Fetch(_ context.Context, _ string, items []mw.Item) []mw.Result {
	out := make([]mw.Result, len(items))
	for i, it := range items {
		switch it.Name {
		case "fast":
			out[i].Value = "fast#" + string(rune('0'+s.fast.Add(1)))
		case "slow":
			if s.slow.Add(1) == 1 {
				out[i].Err = &mw.SourceError{Class: mw.ClassServerError, Retry: true, Status: 500}
				continue
			}
			s.clk.Advance(s.advance) // the retry's answer comes this much later
			out[i].Value = "slow"
		}
	}
	return out
}

// A value is as old as the answer that brought it, not as the end of the
// call that asked for it with others: an item fetched at once, beside one
// whose retries take minutes, expires its TTL after its own answer. With
// no stale value allowed, an invoke past that TTL fetches it again.
func TestAValueAgesFromItsOwnAnswer(t *testing.T) {
	clk := newClock()
	src := &batchSource{clk: clk, advance: 4 * time.Minute}
	h := mw.Wrap(echo, mw.WithoutEnvironment(), mw.WithSource(src), withClock(clk), mw.WithTTL(5*time.Minute),
		mw.WithMaxStale(0), mw.WithSecrets("fast", "slow"))
	got, err := h(invokeCtx(t, 5*time.Second), []string{"secret:fast", "secret:slow"})
	if err != nil || got["secret:fast"] != "fast#1" {
		t.Fatalf("first invoke: %v, %v", got, err)
	}
	// 6 minutes after fast's answer, 2 after the call ended.
	clk.Advance(2 * time.Minute)
	got, err = h(invokeCtx(t, 5*time.Second), []string{"secret:fast"})
	if err != nil || got["secret:fast"] != "fast#2" {
		t.Errorf("past fast's TTL: %v, %v; want it fetched again (fast#2), not served %v after its answer", got, err, 6*time.Minute)
	}
}
