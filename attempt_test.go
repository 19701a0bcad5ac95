package mw_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lambda-mw/mw"
	"github.com/lambda-mw/mw/mwtest"
)

// The tests of a call's attempts: what is retried and when (connection
// failures, 5xx, throttling, a bare 400 in the startup window or from AWS),
// the readiness probes, a source that never answered, and the deadline
// over them all. Each asserts the outcome: value served, clear error,
// deadline held.

func TestInitPhase400BurstIsRiddenOut(t *testing.T) {
	w := newWorld(t, mwtest.Managed)
	ids := []string{"a", "b", "c"}
	for _, id := range ids {
		w.ext.PutSecret(id, "v-"+id)
	}
	w.ext.PutParameter("/p", "SecureString", "pv")
	w.ext.NotReadyFor(12) // a burst: several 400s for every item
	h := mw.Wrap(echo, w.opts(mw.WithSecrets(ids...), mw.WithParameters("/p"))...)
	got, err := h(invokeCtx(t, 5*time.Second), []string{"secret:a", "secret:c", "parameter:/p"})
	if err != nil || got["secret:a"] != "v-a" || got["secret:c"] != "v-c" || got["parameter:/p"] != "pv" {
		t.Fatalf("got %v, %v", got, err)
	}
	if st := w.ext.Stats(); st.NotReady != 12 {
		t.Errorf("%d not-ready answers; want the whole burst of 12 met", st.NotReady)
	}
}

// A probe that shows the extension serving may bring an answer to retry,
// such as a 500 or AWS's throttling: the item is retried, on its backoff,
// and is never served without a value (the storm simulation, tools/storm,
// once served empty values this way).
func TestProbeAnswerToRetryIsRetried(t *testing.T) {
	for _, f := range []mwtest.Faults{{ServerError: 1}, {Throttle: 1}} {
		t.Run(fmt.Sprintf("%+v", f), func(t *testing.T) {
			w := newWorld(t, mwtest.Managed)
			w.ext.PutSecret("s", "v")
			w.ext.NotReadyFor(1) // to the gate: the first probe meets the fault
			w.ext.SetFaults(f)
			ran := false
			h := mw.Wrap(func(ctx context.Context, _ []string) (map[string]string, error) {
				ran = true
				return echo(ctx, []string{"secret:s"})
			}, w.opts(mw.WithSecrets("s"))...)
			_, err := h(invokeCtx(t, 600*time.Millisecond), nil)
			if ran || err == nil {
				t.Fatalf("the handler ran (%v), error %v: want the item failed, retried", ran, err)
			}
			if n := w.ext.Stats().Fetches; n < 3 {
				t.Errorf("%d requests: want the not-ready one, the probe, and retries", n)
			}
		})
	}
}

// slow400 answers the managed extension's generic 400 for secret id, after
// a delay as long as a call to AWS, the first times requests (all of them
// if times < 0), as the extension does when AWS throttles it; everything
// else goes to next.
type slow400 struct {
	next  http.Handler
	id    string
	times int

	mu   sync.Mutex
	seen int
}

func (s *slow400) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	if r.URL.Query().Get("secretId") == s.id {
		s.mu.Lock()
		s.seen++
		answer := s.times < 0 || s.seen <= s.times
		s.mu.Unlock()
		if answer {
			time.Sleep(15 * time.Millisecond)
			rw.WriteHeader(http.StatusBadRequest)
			_, _ = rw.Write([]byte(mwtest.GenericError))
			return
		}
	}
	s.next.ServeHTTP(rw, r)
}

// A bare 400 that took as long as a call to AWS, from an extension that
// serves, may be AWS throttling it: a required item retries it (the storm
// simulation failed most invokes of a throttled storm), and a
// missing one still fails, with a hint that names both causes.
func TestSlowBare400FromServingExtensionIsRetried(t *testing.T) {
	t.Run("throttled twice", func(t *testing.T) {
		ext := mwtest.New(mwtest.Managed)
		ext.SetToken("")
		ext.PutSecret("a", "va")
		ext.PutSecret("b", "vb")
		w := serveWorld(t, ext, &slow400{next: ext, id: "b", times: 2})
		h := mw.Wrap(echo, w.opts(mw.WithSecrets("a", "b"))...)
		got, err := h(invokeCtx(t, 5*time.Second), []string{"secret:a", "secret:b"})
		if err != nil || got["secret:b"] != "vb" {
			t.Fatalf("got %v, %v; want b after two throttled answers", got, err)
		}
	})
	t.Run("missing", func(t *testing.T) {
		ext := mwtest.New(mwtest.Managed)
		ext.SetToken("")
		ext.PutSecret("a", "va")
		w := serveWorld(t, ext, &slow400{next: ext, id: "b", times: -1})
		h := mw.Wrap(echo, w.opts(mw.WithSecrets("a", "b"))...)
		_, err := h(invokeCtx(t, 5*time.Second), nil)
		fe := asFetchError(t, err)
		if fe.Class != mw.ClassRejected || fe.Attempts < 3 {
			t.Errorf("class %s after %d attempts; want rejected after retries", fe.Class, fe.Attempts)
		}
		if h := fe.Hint(); !strings.Contains(h, "not found or not allowed") || !strings.Contains(h, "10,000 GetSecretValue calls a second") {
			t.Errorf("hint %q: want both causes, and the quota", h)
		}
	})
}

func TestRetriesConnectionRefusedAndReset(t *testing.T) {
	t.Run("refused", func(t *testing.T) {
		w := newWorld(t, mwtest.Managed)
		w.ext.PutSecret("s", "v")
		hc, dials := refusingDialer(3)
		h := mw.Wrap(echo, w.opts(mw.WithSecrets("s"), mw.WithHTTPClient(hc))...)
		got, err := h(invokeCtx(t, 5*time.Second), []string{"secret:s"})
		if err != nil || got["secret:s"] != "v" {
			t.Fatalf("got %v, %v", got, err)
		}
		if n := dials.Load(); n != 4 {
			t.Errorf("%d dials; want 3 refused and 1 served", n)
		}
	})
	t.Run("reset", func(t *testing.T) {
		w := newWorld(t, mwtest.Managed)
		w.ext.PutSecret("s", "v")
		w.ext.SetFaults(mwtest.Faults{Reset: 1})
		w = serveWorld(t, w.ext, faultsFor(w.ext, 3))
		h := mw.Wrap(echo, w.opts(mw.WithSecrets("s"))...)
		got, err := h(invokeCtx(t, 5*time.Second), []string{"secret:s"})
		if err != nil || got["secret:s"] != "v" {
			t.Fatalf("got %v, %v", got, err)
		}
		assertAttempts(t, w, 4)
	})
	t.Run("never answers", func(t *testing.T) {
		hc, dials := refusingDialer(1 << 30)
		h := mw.Wrap(echo, mw.WithSecrets("s"), mw.WithHTTPClient(hc), mw.WithEndpoint("http://127.0.0.1:9"))
		_, err := h(invokeCtx(t, 300*time.Millisecond), nil)
		fe := asFetchError(t, err)
		if fe.Class != mw.ClassUnavailable || !strings.Contains(err.Error(), "layer attached") {
			t.Errorf("class %s, error %q; want unavailable with a hint about the layer", fe.Class, err)
		}
		if dials.Load() < 3 {
			t.Errorf("%d dials; want retries until the deadline", dials.Load())
		}
	})
}

// assertAttempts checks that the one item of w's Wrap took want requests
// to fetch. (The mw.fetch span's attempts, retries and retry events are
// checked in ../test.)
func assertAttempts(t *testing.T, w *world, want int) {
	t.Helper()
	if got := w.ext.Requests(); got != int64(want) {
		t.Errorf("%d requests; want %d attempts", got, want)
	}
}

func TestRetries5xxAnd429(t *testing.T) {
	for _, d := range dialects {
		for _, f := range []mwtest.Faults{{ServerError: 1}, {Throttle: 1}} {
			t.Run(fmt.Sprintf("%s/%+v", d, f), func(t *testing.T) {
				w := newWorld(t, d)
				w.ext.PutSecret("s", "v")
				w.ext.SetFaults(f)
				w = serveWorld(t, w.ext, faultsFor(w.ext, 2))
				h := mw.Wrap(echo, w.opts(mw.WithSecrets("s"))...)
				if got, err := h(invokeCtx(t, 5*time.Second), []string{"secret:s"}); err != nil || got["secret:s"] != "v" {
					t.Fatalf("got %v, %v", got, err)
				}
				assertAttempts(t, w, 3)
			})
		}
	}
}

func TestBare400IsRetriedOnlyInsideTheStartupWindow(t *testing.T) {
	t.Run("not ready during startup", func(t *testing.T) {
		for _, d := range dialects {
			t.Run(d.String(), func(t *testing.T) {
				w := newWorld(t, d)
				w.ext.PutSecret("s", "v")
				w.ext.NotReadyFor(4)
				h := mw.Wrap(echo, w.opts(mw.WithSecrets("s"))...)
				if got, err := h(invokeCtx(t, 5*time.Second), []string{"secret:s"}); err != nil || got["secret:s"] != "v" {
					t.Fatalf("got %v, %v", got, err)
				}
				assertAttempts(t, w, 5)
			})
		}
	})
	t.Run("not found is bounded by the window", func(t *testing.T) {
		w := newWorld(t, mwtest.Managed)
		h := mw.Wrap(echo, w.opts(mw.WithSecrets("missing"), mw.WithStartupWindow(150*time.Millisecond))...)
		start := time.Now()
		_, err := h(invokeCtx(t, 10*time.Second), nil)
		fe := asFetchError(t, err)
		if fe.Class != mw.ClassRejected || fe.Status != 400 || fe.Attempts < 2 {
			t.Errorf("got %s/%d after %d attempts; want rejected/400, retried", fe.Class, fe.Status, fe.Attempts)
		}
		// Not a speed measurement: a bound that proves the window, not the
		// 10 s deadline, ended the retries.
		if el := time.Since(start); el > 3*time.Second {
			t.Errorf("took %v; the 150 ms window should end the retries", el)
		}
	})
	t.Run("after the window a bare 400 fails at once", func(t *testing.T) {
		w := newWorld(t, mwtest.Managed)
		w.ext.PutSecret("s", "v")
		clk := newClock()
		// The fake answers locally, however loaded the machine: its 400 is
		// never taken for one that asked AWS (and may be throttling).
		h := mw.Wrap(echo, w.opts(mw.WithSecrets("s"), withClock(clk), mw.WithMaxStale(0), mw.WithLocalAnswer(time.Hour))...)
		if _, err := h(invokeCtx(t, 5*time.Second), nil); err != nil {
			t.Fatal(err)
		}
		clk.Advance(mw.DefaultTTL + time.Second) // past the TTL and the window
		w.ext.Deny("s")
		_, err := h(invokeCtx(t, 5*time.Second), nil)
		if fe := asFetchError(t, err); fe.Attempts != 1 || fe.Class != mw.ClassRejected {
			t.Errorf("%d attempts, class %s; want 1 attempt, rejected", fe.Attempts, fe.Class)
		}
	})
}

// A readiness probe whose answer is a retryable failure (a 5xx, a 429) shows
// the extension serving, but is no value: the item must be retried, not
// served. Before the fix, the item's result was left unset and landed as a
// success with an empty value.
func TestProbeAnsweredWithRetryableFailureIsRetriedNotServedEmpty(t *testing.T) {
	for _, f := range []struct {
		name  string
		fault mwtest.Fault
	}{{"server error", mwtest.FaultServerError}, {"throttled", mwtest.FaultThrottle}} {
		t.Run(f.name, func(t *testing.T) {
			w := newWorld(t, mwtest.Managed)
			w.ext.PutSecret("s", "the-value")
			w.ext.NotReadyFor(1)            // the first attempt meets INIT: a bare 400
			w.ext.FailNext("s", f.fault, 1) // the probe that follows meets a retryable failure
			h := mw.Wrap(echo, w.opts(mw.WithSecrets("s"))...)
			got, err := h(invokeCtx(t, 5*time.Second), []string{"secret:s"})
			if err != nil {
				t.Fatalf("invoke: %v", err)
			}
			if got["secret:s"] != "the-value" {
				t.Errorf("served %q with no error; want the value, once the retryable failure was retried", got["secret:s"])
			}
		})
	}
}

// A source that has answered nothing since the first invoke, with the
// startup window past (a missing layer), fails at once on later invokes,
// instead of retrying to the deadline on every one; once it has answered,
// a refused connection is retried again.
func TestNothingEverAnsweringFailsAtOnceAfterTheStartupWindow(t *testing.T) {
	hc, dials := refusingDialer(1 << 30)
	c := newClock()
	h := mw.Wrap(echo, mw.WithSecrets("s"), mw.WithHTTPClient(hc), mw.WithEndpoint("http://127.0.0.1:9"), withClock(c))
	if _, err := h(invokeCtx(t, 300*time.Millisecond), nil); asFetchError(t, err).Attempts < 2 {
		t.Fatalf("within the startup window: %v; want retries", err)
	}
	c.Advance(time.Minute) // past the startup window (and the item's retry time)
	before := dials.Load()
	_, err := h(invokeCtx(t, 5*time.Second), nil)
	if fe := asFetchError(t, err); fe.Class != mw.ClassUnavailable || fe.Attempts != 1 || dials.Load()-before != 1 {
		t.Errorf("after the window: %d dials, %v; want unavailable at once", dials.Load()-before, err)
	}
}

// stuckSource ignores its context: a Fetch it is told to hang never
// returns until the test ends.
type stuckSource struct {
	calls atomic.Int32
	stuck atomic.Bool
	end   chan struct{}
}

func (s *stuckSource) Name() string { return "stuck" }

func (s *stuckSource) Plan(it mw.Item) (mw.Plan, error) { return mw.Plan{Op: "Get", Batch: 1}, nil }

func (s *stuckSource) Fetch(_ context.Context, _ string, items []mw.Item) []mw.Result {
	s.calls.Add(1)
	if s.stuck.Load() {
		<-s.end // ignores the context
	}
	out := make([]mw.Result, len(items))
	for i := range out {
		out[i].Value = "v"
	}
	return out
}

// However a source behaves, the invoke leading its fetch returns by its
// deadline, and the item is not wedged: the next invoke fetches it again.
// The same for a user's HTTP transport that ignores the request's context.
func TestTheDeadlineHoldsWhateverTheSourceDoes(t *testing.T) {
	t.Run("a source", func(t *testing.T) {
		src := &stuckSource{end: make(chan struct{})}
		t.Cleanup(func() { close(src.end) })
		src.stuck.Store(true)
		h := mw.Wrap(echo, mw.WithoutEnvironment(), mw.WithSource(src), mw.WithSecrets("s"))
		start := time.Now()
		_, err := h(invokeCtx(t, 500*time.Millisecond), nil)
		if fe := asFetchError(t, err); fe.Class != mw.ClassTimeout {
			t.Errorf("class %s; want timeout", fe.Class)
		}
		if el := time.Since(start); el > 3*time.Second { // a bound, not a measurement: the deadline is 500 ms
			t.Errorf("the invoke returned after %v", el)
		}
		src.stuck.Store(false)
		if got, err := h(invokeCtx(t, 5*time.Second), []string{"secret:s"}); err != nil || got["secret:s"] != "v" {
			t.Fatalf("next invoke: %v, %v; want the value: the item was wedged", got, err)
		}
		if n := src.calls.Load(); n != 2 {
			t.Errorf("%d fetches; want 2", n)
		}
	})
	t.Run("a transport", func(t *testing.T) {
		w := newWorld(t, mwtest.Managed)
		w.ext.PutSecret("s", "v")
		end := make(chan struct{})
		t.Cleanup(func() { close(end) })
		var stuck atomic.Bool
		stuck.Store(true)
		rt := roundTripFunc(func(r *http.Request) (*http.Response, error) {
			if stuck.Load() {
				<-end // ignores the request's context
			}
			return http.DefaultTransport.RoundTrip(r)
		})
		h := mw.Wrap(echo, w.opts(mw.WithSecrets("s"), mw.WithHTTPClient(&http.Client{Transport: rt}))...)
		start := time.Now()
		if _, err := h(invokeCtx(t, 500*time.Millisecond), nil); err == nil {
			t.Fatal("no error from a hung transport")
		}
		if el := time.Since(start); el > 3*time.Second {
			t.Errorf("the invoke returned after %v", el)
		}
		stuck.Store(false)
		if got, err := h(invokeCtx(t, 5*time.Second), []string{"secret:s"}); err != nil || got["secret:s"] != "v" {
			t.Fatalf("next invoke: %v, %v", got, err)
		}
	})
}

// A source that ignores its context, and never returns, costs a bounded
// number of goroutines and calls, not one of each per invoke: past the
// bound, an invoke fails at once with the fix. Once the calls return, the
// source is called again.
func TestASourceThatNeverReturnsCostsBoundedGoroutines(t *testing.T) {
	src := &stuckSource{end: make(chan struct{})}
	released := false
	release := func() {
		if !released {
			released = true
			close(src.end)
		}
	}
	t.Cleanup(release)
	src.stuck.Store(true)
	h := mw.Wrap(echo, mw.WithoutEnvironment(), mw.WithSource(src), mw.WithSecrets("s"), mw.WithStartupWindow(0))
	before := runtime.NumGoroutine()
	var refused *mw.FetchError
	for range 200 {
		_, err := h(invokeCtx(t, 20*time.Millisecond), nil)
		if fe := asFetchError(t, err); fe.Class == mw.ClassTimeout && strings.Contains(fe.Error(), "ignores its context") {
			refused = fe
		}
	}
	if grown := runtime.NumGoroutine() - before; grown >= 20 || src.calls.Load() > 20 {
		t.Errorf("200 invokes against a source that never returns left %d goroutines behind and made %d calls", grown, src.calls.Load())
	}
	if refused == nil {
		t.Fatal("no invoke was refused with the fix")
	}
	if !strings.Contains(refused.Error(), "make its Fetch") {
		t.Errorf("the refusal names no fix: %v", refused)
	}

	src.stuck.Store(false)
	release()
	calls := src.calls.Load()
	for deadline := time.Now().Add(10 * time.Second); ; runtime.Gosched() {
		if _, err := h(invokeCtx(t, time.Second), nil); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the source was not called again once its calls returned (%d calls)", src.calls.Load())
		}
	}
	if src.calls.Load() == calls {
		t.Error("served without calling the source again")
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// retryAfterSource answers its first Fetch with a throttling that asks to
// be retried after its retryAfter, then serves; it records when each Fetch
// came.
type retryAfterSource struct {
	retryAfter time.Duration
	mu         sync.Mutex
	at         []time.Time
}

func (s *retryAfterSource) Name() string { return "retryafter" }

func (s *retryAfterSource) Plan(mw.Item) (mw.Plan, error) { return mw.Plan{Op: "Get", Batch: 1}, nil }

func (s *retryAfterSource) Fetch(_ context.Context, _ string, items []mw.Item) []mw.Result {
	s.mu.Lock()
	s.at = append(s.at, time.Now())
	n := len(s.at)
	s.mu.Unlock()
	if n == 1 {
		return []mw.Result{{Err: &mw.SourceError{Class: mw.ClassThrottled, Retry: true, Status: 429, RetryAfter: s.retryAfter}}}
	}
	return []mw.Result{{Value: "v"}}
}

// An answer's Retry-After is a floor on the wait before the next attempt,
// within the deadline; one the deadline has no room for ends the retries
// at once, with the answer's error, rather than wait the deadline out.
func TestRetryAfterIsHonouredWithinTheDeadline(t *testing.T) {
	src := &retryAfterSource{retryAfter: 300 * time.Millisecond}
	h := mw.Wrap(echo, mw.WithoutEnvironment(), mw.WithSource(src), mw.WithSecrets("s"))
	if got, err := h(invokeCtx(t, 5*time.Second), []string{"secret:s"}); err != nil || got["secret:s"] != "v" {
		t.Fatalf("got %v, %v", got, err)
	}
	if gap := src.at[1].Sub(src.at[0]); gap < src.retryAfter {
		t.Errorf("retried %v after the answer; it asked for %v", gap, src.retryAfter)
	}

	src = &retryAfterSource{retryAfter: time.Minute}
	h = mw.Wrap(echo, mw.WithoutEnvironment(), mw.WithSource(src), mw.WithSecrets("s"))
	start := time.Now()
	_, err := h(invokeCtx(t, 3*time.Second), nil)
	if fe := asFetchError(t, err); fe.Class != mw.ClassThrottled || fe.Attempts != 1 {
		t.Errorf("class %s after %d attempts; want throttled, after 1", fe.Class, fe.Attempts)
	}
	if el := time.Since(start); el > 2*time.Second { // a bound, not a measurement: the deadline is 3 s
		t.Errorf("waited %v for a retry the deadline has no room for", el)
	}
}

// A canceled invoke is canceled, not timed out, and nothing tells the user
// to raise a timeout; with a cause of its own too (context.WithCancelCause,
// as a server canceling a request for a reason does).
func TestACanceledInvokeIsNotATimeout(t *testing.T) {
	for name, cancelable := range map[string]func(context.Context) (context.Context, func()){
		"WithCancel": func(ctx context.Context) (context.Context, func()) { return context.WithCancel(ctx) },
		"WithCancelCause": func(ctx context.Context) (context.Context, func()) {
			ctx, cancel := context.WithCancelCause(ctx)
			return ctx, func() { cancel(errors.New("the client went away")) }
		},
	} {
		w := newWorld(t, mwtest.Managed)
		w.ext.PutSecret("s", "v")
		w.ext.SetHang(true)
		ctx, cancel := cancelable(invokeCtx(t, 10*time.Second))
		go func() {
			w.ext.WaitHanging(ctx.Done(), 1)
			cancel()
		}()
		_, err := mw.Wrap(echo, w.opts(mw.WithSecrets("s"))...)(ctx, nil)
		fe := asFetchError(t, err)
		if fe.Class != mw.ClassCanceled || strings.Contains(err.Error(), "raise the function's timeout") {
			t.Errorf("%s: class %s: %v", name, fe.Class, err)
		}
	}
}

// A unit test of a missing item, with the fake's options and nothing else,
// fails at once, leading with the likely fix: the fake serves from the
// start, as an extension does by a function's first invoke, so its 400 is
// taken at its word, not polled through mw's startup window.
func TestAMissingItemFailsAtOnceWithTheFakesOptions(t *testing.T) {
	ext, srv := mwtest.Start(t, mwtest.Managed)
	ext.PutSecret("prod/db", "pw")
	h := mw.Wrap(echo, append(ext.Options(srv.URL), mw.WithSecrets("prod/dbb"))...)
	_, err := h(invokeCtx(t, 5*time.Second), nil)
	fe := asFetchError(t, err)
	if fe.Attempts != 1 || fe.Class != mw.ClassRejected || !strings.HasPrefix(fe.Hint(), "not found or not allowed") {
		t.Errorf("%d attempts, class %s, hint %q; want one attempt, rejected, leading with not found", fe.Attempts, fe.Class, fe.Hint())
	}
	// A test that acts out the extension's start keeps mw's window.
	ext.NotReadyFor(2)
	h = mw.Wrap(echo, append(ext.Options(srv.URL), mw.WithSecrets("prod/db"))...)
	if got, err := h(invokeCtx(t, 5*time.Second), []string{"secret:prod/db"}); err != nil || got["secret:prod/db"] != "pw" {
		t.Errorf("through the start: %v, %v", got, err)
	}
}
