package mw_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/otel"

	"github.com/lambda-mw/mw"
	"github.com/lambda-mw/mw/internal/busy"
	"github.com/lambda-mw/mw/mwtest"
)

// A failed fetch leaves nothing in the cache: the next invoke fetches again.
func TestNothingIsCachedFromAFailure(t *testing.T) {
	w := newWorld(t, mwtest.Managed)
	h := mw.Wrap(echo, w.opts(mw.WithSecrets("late"), mw.WithStartupWindow(0))...)
	if _, err := h(invokeCtx(t, 5*time.Second), nil); err == nil {
		t.Fatal("want an error while the secret is missing")
	}
	w.ext.PutSecret("late", "now-here")
	got, err := h(invokeCtx(t, 5*time.Second), []string{"secret:late"})
	if err != nil || got["secret:late"] != "now-here" {
		t.Fatalf("second invoke: %v, %v", got, err)
	}
}

// Warm invokes are served from memory, with no request, until the TTL
// passes; then the item is fetched again.
func TestWarmInvokesMakeNoRequestsUntilTheTTLPasses(t *testing.T) {
	w := newWorld(t, mwtest.Managed)
	w.ext.PutSecret("s", "v1")
	w.ext.PutParameter("/p", "String", "p1")
	clk := newClock()
	h := mw.Wrap(echo, w.opts(mw.WithSecrets("s"), mw.WithParameters("/p"), mw.WithTTL(time.Minute), withClock(clk))...)
	keys := []string{"secret:s", "parameter:/p"}
	for i := range 10 {
		if _, err := h(invokeCtx(t, 5*time.Second), keys); err != nil {
			t.Fatalf("invoke %d: %v", i, err)
		}
		clk.Advance(5 * time.Second)
	}
	if n := w.ext.Requests(); n != 2 {
		t.Fatalf("10 invokes within the TTL made %d requests; want 2", n)
	}
	w.ext.PutSecret("s", "v2")
	clk.Advance(15 * time.Second) // 65 s after the fetch
	got, err := h(invokeCtx(t, 5*time.Second), keys)
	if err != nil {
		t.Fatal(err)
	}
	if got["secret:s"] != "v2" {
		t.Errorf("after the TTL, secret = %q; want the refreshed v2", got["secret:s"])
	}
	if n := w.ext.Requests(); n != 4 {
		t.Errorf("%d requests after the TTL; want 4", n)
	}
}

func TestRefreshAheadRunsBesideTheHandlerAndEndsWithTheInvoke(t *testing.T) {
	w := newWorld(t, mwtest.Managed)
	w.ext.PutSecret("s", "v1")
	handlerRan := make(chan struct{})
	var once sync.Once
	gate := false
	var mu sync.Mutex
	gated := func() (bool, error) { mu.Lock(); defer mu.Unlock(); return gate, nil }
	// Once gated, the extension answers only after the handler has run: if
	// mw waited for the refresh before the handler, the invoke would hang.
	w = serveWorld(t, w.ext, http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		mu.Lock()
		g := gate
		mu.Unlock()
		if g {
			select {
			case <-handlerRan:
			case <-r.Context().Done():
				return
			}
		}
		w.ext.ServeHTTP(rw, r)
	}))
	clk := newClock()
	h := mw.Wrap(func(ctx context.Context, _ struct{}) (string, error) {
		v, err := mw.Secret(ctx, "s")
		if g, _ := gated(); g {
			once.Do(func() { close(handlerRan) }) // the refresh may answer now
		}
		return v, err
	}, w.opts(mw.WithSecrets("s"), mw.WithTTL(time.Minute), mw.WithRefreshAhead(10*time.Second), withClock(clk))...)
	if _, err := h(invokeCtx(t, 5*time.Second), struct{}{}); err != nil {
		t.Fatal(err)
	}
	w.ext.PutSecret("s", "v2")
	clk.Advance(55 * time.Second) // within 10 s of expiry
	mu.Lock()
	gate = true
	mu.Unlock()
	got, err := h(invokeCtx(t, 5*time.Second), struct{}{})
	if err != nil || got != "v1" {
		t.Fatalf("invoke in the ahead window: %q, %v; want v1 at once", got, err)
	}
	// The invoke returned only after its background refresh ended.
	if n := w.ext.Fetches("s"); n != 2 {
		t.Fatalf("%d fetches when the invoke returned; want the refresh done (2)", n)
	}
	clk.Advance(time.Second)
	if got, _ := h(invokeCtx(t, 5*time.Second), struct{}{}); got != "v2" {
		t.Errorf("next invoke: %q; want the refreshed v2", got)
	}
	if n := w.ext.Fetches("s"); n != 2 {
		t.Errorf("%d fetches; the next invoke should hit", n)
	}
}

func TestStaleIfError(t *testing.T) {
	// landed receives as each fetch lands: a refresh of a stale value runs
	// apart from its invoke, which may return first; a test that moves the
	// clock past a failure's retry time waits for the failure to land.
	var landed chan struct{}
	setup := func(t *testing.T, opts ...mw.Option) (*world, *clock, func(context.Context, []string) (map[string]string, error)) {
		w := newWorld(t, mwtest.Managed)
		w.ext.PutSecret("s", "good")
		clk := newClock()
		landed = make(chan struct{}, 16)
		hook := mw.WithLandHook(func(bool) { landed <- struct{}{} })
		h := mw.Wrap(echo, w.opts(append([]mw.Option{mw.WithSecrets("s"), mw.WithTTL(time.Minute), withClock(clk), hook}, opts...)...)...)
		if _, err := h(invokeCtx(t, 5*time.Second), nil); err != nil {
			t.Fatal(err)
		}
		<-landed
		return w, clk, h
	}
	t.Run("served within the bound, and said so", func(t *testing.T) {
		w, clk, h := setup(t, mw.WithMaxStale(10*time.Minute))
		w.ext.SetFaults(mwtest.Faults{ServerError: 1})
		clk.Advance(2 * time.Minute)
		got, err := h(invokeCtx(t, 5*time.Second), []string{"secret:s"})
		if err != nil || got["secret:s"] != "good" {
			t.Fatalf("got %v, %v; want the last good value", got, err)
		}
		<-landed
		// (The span says a stale value was served: ../test.)
		// The last good value survives repeated failures (Middy #660).
		for range 2 {
			clk.Advance(mw.RetryFailedAfter)
			if got, err := h(invokeCtx(t, 5*time.Second), []string{"secret:s"}); err != nil || got["secret:s"] != "good" {
				t.Fatalf("after more failures: %v, %v", got, err)
			}
			<-landed
		}
		w.ext.SetFaults(mwtest.Faults{})
		w.ext.PutSecret("s", "new")
		clk.Advance(mw.RetryFailedAfter)
		if got, err := h(invokeCtx(t, 5*time.Second), []string{"secret:s"}); err != nil || got["secret:s"] != "new" {
			t.Fatalf("after recovery: %v, %v; want the new value", got, err)
		}
	})
	t.Run("fails beyond the bound", func(t *testing.T) {
		w, clk, h := setup(t, mw.WithMaxStale(10*time.Minute))
		w.ext.SetFaults(mwtest.Faults{ServerError: 1})
		clk.Advance(time.Minute + 11*time.Minute)
		_, err := h(invokeCtx(t, time.Second), nil)
		fe := asFetchError(t, err)
		if fe.Stale != 11*time.Minute || !strings.Contains(err.Error(), "past its TTL") {
			t.Errorf("Stale = %v, error %q; want 11m past its TTL", fe.Stale, err)
		}
	})
	t.Run("a hung refresh costs at most the stale budget", func(t *testing.T) {
		w, clk, h := setup(t)
		w.ext.SetHang(true)
		clk.Advance(2 * time.Minute)
		start := time.Now()
		got, err := h(invokeCtx(t, 10*time.Second), []string{"secret:s"})
		if err != nil || got["secret:s"] != "good" {
			t.Fatalf("got %v, %v", got, err)
		}
		if el := time.Since(start); el > mw.StaleBudget+2*time.Second {
			t.Errorf("held %v for a refresh with a stale value in hand", el)
		}
	})
}

// panicAfter is a transport that panics on its nth request and after.
type panicAfter struct {
	n, seen atomic.Int32
}

func (p *panicAfter) RoundTrip(r *http.Request) (*http.Response, error) {
	if p.seen.Add(1) >= p.n.Load() {
		panic("transport bug")
	}
	return http.DefaultTransport.RoundTrip(r)
}

// A panic in a refresh ahead of expiry, beside a handler that succeeded,
// never fails the invoke afterwards (Lambda would retry a batch whose side
// effects happened): it is the item's failure, handed to OpenTelemetry's
// error handler, and the item keeps its fresh value.
func TestAPanicInARefreshAheadNeverFailsTheInvoke(t *testing.T) {
	w := newWorld(t, mwtest.Managed)
	w.ext.PutSecret("s", "v")
	var handled atomic.Value
	prev := otel.GetErrorHandler()
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) { handled.Store(err) }))
	t.Cleanup(func() { otel.SetErrorHandler(prev) })
	tr := &panicAfter{}
	tr.n.Store(2) // the cold fetch works; the refresh ahead panics
	clk := newClock()
	h := mw.Wrap(echo, w.opts(mw.WithSecrets("s"), mw.WithTTL(time.Minute), mw.WithRefreshAhead(10*time.Second),
		withClock(clk), mw.WithHTTPClient(&http.Client{Transport: tr}))...)
	if _, err := h(invokeCtx(t, 5*time.Second), nil); err != nil {
		t.Fatal(err)
	}
	clk.Advance(55 * time.Second) // within the refresh-ahead window
	var got map[string]string
	var err error
	if r := recovered(func() { got, err = h(invokeCtx(t, 5*time.Second), []string{"secret:s"}) }); r != nil {
		t.Fatalf("the invoke panicked after its handler returned: %v", r)
	}
	if err != nil || got["secret:s"] != "v" {
		t.Fatalf("got %v, %v; want the fresh value", got, err)
	}
	if e, _ := handled.Load().(error); e == nil || !strings.Contains(e.Error(), "transport bug") {
		t.Errorf("OpenTelemetry's error handler got %v; want the panic", e)
	}
}

// lateFailure answers its first Fetch with a value; a later one waits for
// the test's release, then fails when the test's clock has moved on by past:
// a refresh that ends after the value it refreshes has expired.
type lateFailure struct {
	clk     *clock
	past    time.Duration
	calls   atomic.Int32
	started chan struct{}
	release chan struct{}
}

func (s *lateFailure) Name() string                  { return "late" }
func (s *lateFailure) Plan(mw.Item) (mw.Plan, error) { return mw.Plan{Op: "Get", Batch: 1}, nil }
func (s *lateFailure) Fetch(ctx context.Context, _ string, items []mw.Item) []mw.Result {
	if s.calls.Add(1) == 1 {
		return []mw.Result{{Value: "v"}}
	}
	s.started <- struct{}{}
	select {
	case <-s.release:
	case <-ctx.Done():
		return []mw.Result{{Err: ctx.Err()}}
	}
	s.clk.Advance(s.past)
	return []mw.Result{{Err: errors.New("down")}} // final: no retry moves the clock again
}

// A refresh ahead of expiry that fails after the value has expired
// publishes the value as stale, judged when the refresh ended, not when it
// began: a handler that reads it afterwards, here a concurrent invoke's,
// learns from mw.Stale how far past its TTL it is.
func TestARefreshAheadThatFailsPastTheTTLPublishesTheValueStale(t *testing.T) {
	busy.Goroutines(t, 0)
	clk := newClock()
	src := &lateFailure{clk: clk, past: 10 * time.Second, started: make(chan struct{}, 1), release: make(chan struct{})}
	type stale struct {
		d  time.Duration
		ok bool
	}
	inHandler, read := make(chan struct{}), make(chan struct{})
	h := mw.Wrap(func(ctx context.Context, wait bool) (stale, error) {
		if wait {
			inHandler <- struct{}{}
			select {
			case <-read:
			case <-ctx.Done():
				return stale{}, ctx.Err()
			}
		}
		d, ok := mw.Stale(ctx, mw.KindSecret, "s")
		return stale{d, ok}, nil
	}, mw.WithoutEnvironment(), mw.WithSource(src), mw.WithSecrets("s"), mw.WithTTL(time.Minute),
		mw.WithRefreshAhead(10*time.Second), withClock(clk))
	if _, err := h(invokeCtx(t, 5*time.Second), false); err != nil {
		t.Fatal(err)
	}
	clk.Advance(55 * time.Second) // within 10 s of expiry
	leader := make(chan error, 1)
	go func() { // starts the refresh ahead, and returns once it has ended
		_, err := h(invokeCtx(t, 5*time.Second), false)
		leader <- err
	}()
	<-src.started
	reader := make(chan stale, 1)
	go func() { // its handler reads once the refresh has failed
		got, err := h(invokeCtx(t, 5*time.Second), true)
		if err != nil {
			t.Errorf("the concurrent invoke: %v", err)
		}
		reader <- got
	}()
	<-inHandler
	close(src.release) // the refresh fails 5 s past the TTL
	if err := <-leader; err != nil {
		t.Fatalf("the invoke that refreshed ahead: %v", err)
	}
	close(read)
	if got := <-reader; !got.ok || got.d != 5*time.Second {
		t.Errorf("mw.Stale after the refresh failed 5 s past the TTL: %v, %v; want 5s, true", got.d, got.ok)
	}
}

// treeSource serves parameters under paths from a map that tests change.
type treeSource struct {
	mu     sync.Mutex
	values map[string]string
}

func (s *treeSource) Name() string { return "tree" }

func (s *treeSource) Plan(it mw.Item) (mw.Plan, error) {
	if it.Kind != mw.KindParametersByPath {
		return mw.Plan{}, mw.ErrNotServed
	}
	return mw.Plan{Op: "GetParametersByPath", Batch: 1}, nil
}

func (s *treeSource) Fetch(_ context.Context, _ string, items []mw.Item) []mw.Result {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]mw.Result, len(items))
	for i, it := range items {
		out[i].Values = map[string]string{}
		for name, v := range s.values {
			if strings.HasPrefix(name, it.Name+"/") {
				out[i].Values[name] = v
			}
		}
	}
	return out
}

func (s *treeSource) set(name, v string) {
	s.mu.Lock()
	s.values[name] = v
	s.mu.Unlock()
}

// RefreshParameter of a parameter found under two declared paths (/app and
// /app/prod) refreshes the path whose value Parameter serves (the one
// declared first), and returns the new value: not the old one, as it did
// whenever it picked the other path (map order, so about half the time).
func TestRefreshParameterUnderTwoPathsReturnsTheNewValue(t *testing.T) {
	src := &treeSource{values: map[string]string{"/app/prod/x": "v0"}}
	c := newClock()
	h := mw.Wrap(func(ctx context.Context, _ struct{}) (string, error) {
		return mw.RefreshParameter(ctx, "/app/prod/x")
	}, mw.WithoutEnvironment(), mw.WithSource(src), mw.WithParametersByPath("/app"), mw.WithParametersByPath("/app/prod"), withClock(c))
	for round := 1; round <= 20; round++ {
		want := "v" + string(rune('a'+round))
		src.set("/app/prod/x", want)
		c.Advance(2 * time.Second) // past the coalescing of refreshes (1 s)
		got, err := h(invokeCtx(t, 5*time.Second), struct{}{})
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Fatalf("round %d: RefreshParameter returned %q; want the new value %q", round, got, want)
		}
	}
}

// A source of the user's that serves AppConfig comes first; the default
// still serves what it does not.
func TestAUserSourceServesAppConfigFirst(t *testing.T) {
	src := &kindSource{name: "map", kinds: []mw.Kind{mw.KindAppConfig}, values: map[string]string{"p": "mine"}}
	h := mw.Wrap(func(ctx context.Context, _ struct{}) (string, error) {
		b, err := mw.AppConfig(ctx, "p")
		return string(b), err
	}, mw.WithoutEnvironment(), mw.WithSource(src), mw.WithAppConfig("a", "e", "p"))
	if out, err := h(invokeCtx(t, 5*time.Second), struct{}{}); err != nil || out != "mine" || src.count("p") != 1 {
		t.Errorf("got %q, %v, %d asks", out, err, src.count("p"))
	}
}

// kindSource serves every kind it is told to from a map, and counts what
// it was asked for, by name.
type kindSource struct {
	name   string
	kinds  []mw.Kind
	values map[string]string
	mu     sync.Mutex
	asked  map[string]int
}

func (s *kindSource) Name() string { return s.name }

func (s *kindSource) Plan(it mw.Item) (mw.Plan, error) {
	for _, k := range s.kinds {
		if it.Kind == k {
			return mw.Plan{Op: "Get", Batch: 1}, nil
		}
	}
	return mw.Plan{}, mw.ErrNotServed
}

func (s *kindSource) Fetch(_ context.Context, _ string, items []mw.Item) []mw.Result {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.asked == nil {
		s.asked = map[string]int{}
	}
	out := make([]mw.Result, len(items))
	for i, it := range items {
		s.asked[it.Name]++
		if it.Kind == mw.KindParametersByPath {
			out[i].Values = map[string]string{it.Name + "/a": s.values[it.Name+"/a"]}
			continue
		}
		out[i].Value = s.values[it.Name]
	}
	return out
}

func (s *kindSource) count(name string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.asked[name]
}

// One Wrap mixes sources: an item names its own with From, a source given
// for some kinds serves only those, and everything else goes to mw's own.
func TestSourcesAreChosenPerItemAndPerKind(t *testing.T) {
	w := newWorld(t, mwtest.Managed)
	w.ext.PutSecret("db", "from-extension")
	w.ext.PutParameter("/flags", "String", "from-extension")
	trees := &kindSource{name: "trees", kinds: []mw.Kind{mw.KindParametersByPath, mw.KindSecret}, values: map[string]string{"/app/a": "from-trees", "api-key": "from-trees"}}
	pinned := &kindSource{name: "pinned", kinds: []mw.Kind{mw.KindSecret, mw.KindParameter}, values: map[string]string{"token": "from-pinned"}}
	h := mw.Wrap(echo, w.opts(
		mw.WithSource(trees, mw.KindParametersByPath), // for trees only, though it serves secrets too
		mw.WithSecrets("db"),
		mw.WithParameters("/flags"),
		mw.WithParametersByPath("/app"),
		mw.WithSecret("token", mw.From(pinned)),
	)...)
	got, err := h(invokeCtx(t, 5*time.Second), []string{"secret:db", "parameter:/flags", "parameter:/app/a", "secret:token"})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"secret:db": "from-extension", "parameter:/flags": "from-extension", "parameter:/app/a": "from-trees", "secret:token": "from-pinned"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q; want %q", k, got[k], v)
		}
	}
	if trees.count("db") != 0 || pinned.count("db") != 0 || w.ext.Fetches("token") != 0 {
		t.Error("an item went to a source not chosen for it")
	}
}

// A declaration the source it names cannot serve, or one item read through
// two sources, is a mistake in code: Wrap panics, saying why.
func TestSourceMistakesPanicAtWrap(t *testing.T) {
	secrets := &kindSource{name: "secrets-only", kinds: []mw.Kind{mw.KindSecret}}
	other := &kindSource{name: "other", kinds: []mw.Kind{mw.KindSecret}}
	for _, tc := range []struct {
		name string
		opts []mw.Option
		want string
	}{
		{"From a source that does not serve the kind", []mw.Option{mw.WithParametersByPath("/app", mw.From(secrets))},
			`From(secrets-only)`},
		{"a path, with no source that lists one", []mw.Option{mw.WithParametersByPath("/app")},
			"cannot list the parameters under a path"},
		{"one item through two sources", []mw.Option{mw.WithSecret("s", mw.From(secrets)), mw.WithSecret("s", mw.From(other))},
			"two sources (From(secrets-only) and From(other))"},
		{"one item with two TTLs", []mw.Option{mw.WithSecrets("s"), mw.WithSecret("s", mw.TTL(time.Minute))},
			"the Wrap's TTL and TTL(1m0s)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := mustPanic(t, func() { mw.Wrap(echo, append([]mw.Option{mw.WithoutEnvironment()}, tc.opts...)...) })
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("panic %q\nwant it to contain %q", err, tc.want)
			}
		})
	}
}
