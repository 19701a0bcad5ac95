package test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/lambda-mw/mw"
	"github.com/lambda-mw/mw/internal/busy"
	"github.com/lambda-mw/mw/mwtest"
)

// The names below are a contract with dashboards: renaming one must break
// this test.
func TestSpansShowHitsMissesAndFetches(t *testing.T) {
	w := newWorld(t, mwtest.Managed)
	w.ext.PutSecret("prod/db", "pw")
	w.ext.PutParameter("/app/flags", "String", "on")
	w.ext.NotReadyFor(2)
	h := mw.Wrap(echo, w.opts(mw.WithSecrets("prod/db"), mw.WithParameters("/app/flags"))...)

	// The invoke span a Lambda tracer such as otellambda would make.
	ctx, invoke := w.tp.Tracer("test").Start(invokeCtx(t, 5*time.Second), "invoke")
	if _, err := h(ctx, nil); err != nil {
		t.Fatal(err)
	}
	invoke.End()

	resolves := w.spans("mw.resolve")
	if len(resolves) != 1 {
		t.Fatalf("%d mw.resolve spans; want 1", len(resolves))
	}
	r := resolves[0]
	if r.Parent().SpanID() != invoke.SpanContext().SpanID() {
		t.Error("mw.resolve is not a child of the invoke span")
	}
	if r.InstrumentationScope().Name != mw.ScopeName || mw.ScopeName != "github.com/lambda-mw/mw" || r.InstrumentationScope().Version == "" {
		t.Errorf("scope = %+v", r.InstrumentationScope())
	}
	for k, want := range map[string]any{
		"mw.items": int64(2), "mw.cache.hits": int64(0), "mw.cache.misses": int64(2),
		"mw.cold_start": true, "mw.cache.coalesced": int64(0),
	} {
		if got := attr(r, k).AsInterface(); got != want {
			t.Errorf("mw.resolve %s = %v; want %v", k, got, want)
		}
	}
	if got := attr(r, "mw.cache.miss_items").AsStringSlice(); len(got) != 2 || got[0] != "secret:prod/db" || got[1] != "parameter:/app/flags" {
		t.Errorf("mw.cache.miss_items = %v", got)
	}
	fetches := w.spans("mw.fetch")
	if len(fetches) != 2 {
		t.Fatalf("%d mw.fetch spans; want 2", len(fetches))
	}
	retried := 0
	for _, f := range fetches {
		if f.Parent().SpanID() != r.SpanContext().SpanID() {
			t.Error("mw.fetch is not a child of mw.resolve")
		}
		if f.SpanKind() != trace.SpanKindClient {
			t.Errorf("mw.fetch kind = %v", f.SpanKind())
		}
		if attr(f, "http.response.status_code").AsInt64() != 200 || attr(f, "mw.item.kind").AsString() == "" || attr(f, "mw.item.name").AsString() == "" {
			t.Errorf("mw.fetch attributes = %v", f.Attributes())
		}
		retried += int(attr(f, "mw.fetch.retries").AsInt64())
		for _, e := range f.Events() {
			if e.Name != "mw.fetch.retry" {
				t.Errorf("event %q", e.Name)
			}
			found := map[string]bool{}
			for _, kv := range e.Attributes {
				found[string(kv.Key)] = true
				if kv.Key == "error.type" && kv.Value.AsString() != "rejected" {
					t.Errorf("retry error.type = %s; want rejected", kv.Value.AsString())
				}
			}
			for _, k := range []string{"mw.fetch.attempt", "error.type", "mw.fetch.retry_delay_ms", "http.response.status_code"} {
				if !found[k] {
					t.Errorf("retry event lacks %s", k)
				}
			}
		}
	}
	if retried != 2 {
		t.Errorf("%d retries recorded; want the 2 startup 400s", retried)
	}

	// A warm invoke: all hits, no fetch.
	w.rec.Reset()
	if _, err := h(invokeCtx(t, 5*time.Second), nil); err != nil {
		t.Fatal(err)
	}
	resolves = w.spans("mw.resolve")
	if len(resolves) != 1 || len(w.spans("mw.fetch")) != 0 {
		t.Fatalf("warm invoke: %d resolve, %d fetch spans; want 1, 0", len(resolves), len(w.spans("mw.fetch")))
	}
	if attr(resolves[0], "mw.cache.hits").AsInt64() != 2 || attr(resolves[0], "mw.cache.misses").AsInt64() != 0 || attr(resolves[0], "mw.cold_start").AsBool() {
		t.Errorf("warm mw.resolve = %v", resolves[0].Attributes())
	}
}

func TestFailedFetchSetsErrorStatus(t *testing.T) {
	w := newWorld(t, mwtest.Agent)
	h := mw.Wrap(echo, w.opts(mw.WithSecrets("missing"))...)
	if _, err := h(invokeCtx(t, 5*time.Second), nil); err == nil {
		t.Fatal("want an error")
	}
	for _, name := range []string{"mw.resolve", "mw.fetch"} {
		s := w.spans(name)[0]
		if s.Status().Code != codes.Error || s.Status().Description == "" {
			t.Errorf("%s status = %+v", name, s.Status())
		}
		if got := attr(s, "error.type").AsString(); got != "not_found" {
			t.Errorf("%s error.type = %q; want not_found", name, got)
		}
	}
	if got := attr(w.spans("mw.resolve")[0], "mw.failed_items").AsStringSlice(); len(got) != 1 || got[0] != "secret:missing" {
		t.Errorf("mw.failed_items = %v", got)
	}
	if got := attr(w.spans("mw.fetch")[0], "http.response.status_code").AsInt64(); got != 400 {
		t.Errorf("status code = %d", got)
	}
}

func TestDefaultTracerProviderIsTheGlobalOne(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	prev := otel.GetTracerProvider()
	otel.SetTracerProvider(tp)
	t.Cleanup(func() { otel.SetTracerProvider(prev) })

	w := newWorld(t, mwtest.Managed)
	w.ext.PutSecret("s", "v")
	h := mw.Wrap(echo, mw.WithSecrets("s"), mw.WithEndpoint(w.srv.URL))
	if _, err := h(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	if len(rec.Ended()) != 3 {
		t.Errorf("the global provider recorded %d spans; want 3 (mw.resolve, mw.fetch, mw.handler)", len(rec.Ended()))
	}
}

// The warm path skips its span while OTel's global provider is the untouched
// default, and records it once an SDK is installed, even after Wrap. The
// global provider is process-wide, so this runs in a fresh process.
func TestWarmSpansFollowTheGlobalProviderInstalledAfterWrap(t *testing.T) {
	if !inFreshProcess(t, "MW_GLOBAL_TP_CHILD") {
		return
	}
	w := newWorld(t, mwtest.Managed)
	w.ext.PutSecret("s", "v")
	h := mw.Wrap(echo, mw.WithSecrets("s"), mw.WithEndpoint(w.srv.URL)) // the default: the global provider
	if _, err := h(context.Background(), nil); err != nil {             // cold
		t.Fatal(err)
	}
	rec := tracetest.NewSpanRecorder()
	otel.SetTracerProvider(sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec)))
	if _, err := h(context.Background(), nil); err != nil { // warm, now traced
		t.Fatal(err)
	}
	if n := len(rec.Ended()); n != 2 || rec.Ended()[0].Name() != "mw.resolve" || attr(rec.Ended()[0], "mw.cache.hits").AsInt64() != 1 ||
		rec.Ended()[1].Name() != "mw.handler" {
		t.Fatalf("after installing an SDK, a warm invoke recorded %d spans; want its mw.resolve with 1 hit and its mw.handler", n)
	}
}

// A provider given to WithTracerProvider gets mw.resolve's hits and misses,
// cold and then warm (the SDK half of the root's ExampleWithTracerProvider).
func TestWithTracerProviderRecordsHitsAndMisses(t *testing.T) {
	w := newWorld(t, mwtest.Managed)
	w.ext.PutSecret("prod/db", "pw")
	h := mw.Wrap(func(ctx context.Context, _ struct{}) (bool, error) { return true, nil },
		mw.WithSecrets("prod/db"), mw.WithEndpoint(w.srv.URL), mw.WithTracerProvider(w.tp))
	_, _ = h(context.Background(), struct{}{}) // cold: a miss, fetched
	_, _ = h(context.Background(), struct{}{}) // warm: a hit
	var got []string
	for _, s := range w.rec.Ended() {
		for _, kv := range s.Attributes() {
			if kv.Key == "mw.cache.hits" || kv.Key == "mw.cache.misses" {
				got = append(got, fmt.Sprintf("%s %s=%d", s.Name(), kv.Key, kv.Value.AsInt64()))
			}
		}
	}
	want := []string{"mw.resolve mw.cache.hits=0", "mw.resolve mw.cache.misses=1", "mw.resolve mw.cache.hits=1", "mw.resolve mw.cache.misses=0"}
	if !slices.Equal(got, want) {
		t.Errorf("recorded %q; want %q", got, want)
	}
}

// An item declared by ARN with an alias: mw.fetch names both, and
// mw.resolve's misses name it by its alias.
func TestSpansNameTheAliasAndTheARN(t *testing.T) {
	w := newWorld(t, mwtest.Managed)
	w.ext.PutSecret("prod/db", "pw")
	arn := mwtest.SecretARN("prod/db")
	h := mw.Wrap(echo, w.opts(mw.WithSecret(arn, mw.Alias("db")))...)
	if got, err := h(invokeCtx(t, 5*time.Second), []string{"secret:db"}); err != nil || got["secret:db"] != "pw" {
		t.Fatalf("got %v, %v", got, err)
	}
	f := w.spans("mw.fetch")[0]
	if attr(f, "mw.item.name").AsString() != arn || attr(f, "mw.item.alias").AsString() != "db" {
		t.Errorf("mw.fetch name %q alias %q", attr(f, "mw.item.name").AsString(), attr(f, "mw.item.alias").AsString())
	}
	if miss := attr(w.spans("mw.resolve")[0], "mw.cache.miss_items").AsStringSlice(); fmt.Sprint(miss) != "[secret:db]" {
		t.Errorf("miss_items %v", miss)
	}
}

// Each version of a parameter is fetched apart, and its mw.fetch says which.
func TestFetchSpansNameTheVersion(t *testing.T) {
	w := newWorld(t, mwtest.Managed)
	w.ext.PutParameter("/app/flags", "String", "v1")
	w.ext.PutParameter("/app/flags", "String", "v2")
	w.ext.PutParameter("/app/flags", "String", "v3")
	w.ext.LabelParameter("/app/flags", 2, "live")
	h := mw.Wrap(echo, w.opts(
		mw.WithParameters("/app/flags"),
		mw.WithParameter("/app/flags", mw.ParameterVersion(1), mw.Alias("first")),
		mw.WithParameter("/app/flags", mw.Label("live"), mw.Alias("live")),
		mw.WithParameters("/app/flags:1"), // Parameter Store's own selector syntax
	)...)
	if _, err := h(invokeCtx(t, 5*time.Second), nil); err != nil {
		t.Fatal(err)
	}
	versions := map[string]bool{}
	for _, s := range w.spans("mw.fetch") {
		versions[attr(s, "mw.item.version").AsString()] = true
	}
	if !versions["version 1"] || !versions["label live"] || !versions[""] {
		t.Errorf("mw.item.version values %v, want version 1, label live and unset", versions)
	}
}

// A refresh that fails past the TTL serves the last good value, and
// mw.resolve says so.
func TestResolveSpanSaysAStaleValueWasServed(t *testing.T) {
	w := newWorld(t, mwtest.Managed)
	w.ext.PutSecret("s", "good")
	// Every invoke after the first finds the item expired.
	h := mw.Wrap(echo, w.opts(mw.WithSecret("s", mw.TTL(0)), mw.WithMaxStale(10*time.Minute))...)
	if _, err := h(invokeCtx(t, 5*time.Second), nil); err != nil {
		t.Fatal(err)
	}
	w.ext.SetFaults(mwtest.Faults{ServerError: 1})
	got, err := h(invokeCtx(t, 5*time.Second), []string{"secret:s"})
	if err != nil || got["secret:s"] != "good" {
		t.Fatalf("got %v, %v; want the last good value", got, err)
	}
	r := w.spans("mw.resolve")
	last := r[len(r)-1]
	if attr(last, "mw.cache.stale").AsInt64() != 1 || fmt.Sprint(attr(last, "mw.cache.stale_items").AsStringSlice()) != "[secret:s]" {
		t.Errorf("the span does not say a stale value was served: %v", last.Attributes())
	}
}

// Optional items that could not be fetched are named on mw.resolve.
func TestResolveSpanNamesAbsentOptionalItems(t *testing.T) {
	for _, d := range dialects {
		t.Run(d.String(), func(t *testing.T) {
			w := newWorld(t, d)
			w.ext.PutSecret("present", "p")
			h := mw.Wrap(echo, w.opts(mw.WithSecret("missing", mw.Optional()), mw.WithSecret("defaulted", mw.Default("fallback")),
				mw.WithSecrets("present"), mw.WithStartupWindow(0))...)
			if _, err := h(invokeCtx(t, 5*time.Second), nil); err != nil {
				t.Fatal(err)
			}
			r := w.spans("mw.resolve")[0]
			if items := attr(r, "mw.optional.absent_items").AsStringSlice(); len(items) != 2 {
				t.Errorf("mw.optional.absent_items = %v", items)
			}
		})
	}
}

// faultsFor lets the first n requests meet ext's configured faults, then
// turns the faults off, so a test knows how many attempts to expect.
func faultsFor(ext *mwtest.Extension, n int64) http.Handler {
	var count atomic.Int64
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if count.Add(1) > n {
			ext.SetFaults(mwtest.Faults{})
		}
		ext.ServeHTTP(rw, r)
	})
}

// mw.fetch counts the attempts a fetch took, its retries, and has one
// mw.fetch.retry event per retry: after connection resets, 5xx and 429
// answers, and the extension's startup 400s.
func TestFetchSpanCountsAttemptsAndRetries(t *testing.T) {
	check := func(t *testing.T, w *world, want int) {
		t.Helper()
		h := mw.Wrap(echo, w.opts(mw.WithSecrets("s"))...)
		if got, err := h(invokeCtx(t, 5*time.Second), []string{"secret:s"}); err != nil || got["secret:s"] != "v" {
			t.Fatalf("got %v, %v", got, err)
		}
		fs := w.spans("mw.fetch")
		if len(fs) != 1 || attr(fs[0], "mw.item.name").AsString() != "s" {
			t.Fatalf("%d mw.fetch spans; want 1, for s", len(fs))
		}
		if got := attr(fs[0], "mw.fetch.attempts").AsInt64(); got != int64(want) {
			t.Errorf("%d attempts; want %d", got, want)
		}
		if got := attr(fs[0], "mw.fetch.retries").AsInt64(); got != int64(want-1) {
			t.Errorf("%d retries; want %d", got, want-1)
		}
		if got := len(fs[0].Events()); got != want-1 {
			t.Errorf("%d retry events; want %d", got, want-1)
		}
	}
	t.Run("reset", func(t *testing.T) {
		w := newWorld(t, mwtest.Managed)
		w.ext.PutSecret("s", "v")
		w.ext.SetFaults(mwtest.Faults{Reset: 1})
		check(t, serveWorld(t, w.ext, faultsFor(w.ext, 3)), 4)
	})
	for _, d := range dialects {
		for _, f := range []mwtest.Faults{{ServerError: 1}, {Throttle: 1}} {
			t.Run(fmt.Sprintf("%s/%+v", d, f), func(t *testing.T) {
				w := newWorld(t, d)
				w.ext.PutSecret("s", "v")
				w.ext.SetFaults(f)
				check(t, serveWorld(t, w.ext, faultsFor(w.ext, 2)), 3)
			})
		}
		t.Run(d.String()+"/not ready during startup", func(t *testing.T) {
			w := newWorld(t, d)
			w.ext.PutSecret("s", "v")
			w.ext.NotReadyFor(4)
			check(t, w, 5)
		})
	}
}

// Concurrent cold invokes (Lambda Managed Instances) each record their
// mw.resolve, and the spans agree with the one fetch per item: every item
// is fetched by exactly one invoke, and the others count it as coalesced or
// as a hit. Under -race this also exercises recording from many invokes.
func TestConcurrentInvokesRecordOneFetchPerItem(t *testing.T) {
	busy.Goroutines(t, 0)
	w := newWorld(t, mwtest.Managed)
	ids := []string{"a", "b", "c", "d", "e"}
	for _, id := range ids {
		w.ext.PutSecret(id, "v-"+id)
	}
	w.ext.SetLatency(10 * time.Millisecond)
	h := mw.Wrap(echo, w.opts(mw.WithSecrets(ids...))...)
	const n = 64
	start := make(chan struct{})
	errs := make(chan error, n)
	for range n {
		go func() {
			<-start
			_, err := h(invokeCtx(t, 10*time.Second), []string{"secret:e"})
			errs <- err
		}()
	}
	close(start)
	for range n {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if got := len(w.spans("mw.fetch")); got != len(ids) {
		t.Errorf("%d mw.fetch spans; want %d, one per item", got, len(ids))
	}
	resolves := w.spans("mw.resolve")
	if len(resolves) != n {
		t.Fatalf("%d mw.resolve spans; want %d, one per invoke", len(resolves), n)
	}
	led := int64(0)
	for _, r := range resolves {
		hits, misses, coalesced := attr(r, "mw.cache.hits").AsInt64(), attr(r, "mw.cache.misses").AsInt64(), attr(r, "mw.cache.coalesced").AsInt64()
		if hits+misses != int64(len(ids)) || coalesced > misses {
			t.Errorf("mw.resolve: %d hits, %d misses, %d coalesced; want hits+misses = %d", hits, misses, coalesced, len(ids))
		}
		led += misses - coalesced
	}
	if led != int64(len(ids)) {
		t.Errorf("the invokes say they fetched %d items themselves; want %d", led, len(ids))
	}
	if got := w.count("mw.cache.lookups"); got != n*int64(len(ids)) {
		t.Errorf("%d lookups counted; want %d", got, n*len(ids))
	}
}

// panicOnSecond is a transport that panics on its second request.
type panicOnSecond struct{ n atomic.Int32 }

func (p *panicOnSecond) RoundTrip(r *http.Request) (*http.Response, error) {
	if p.n.Add(1) == 2 {
		panic("transport bug")
	}
	return http.DefaultTransport.RoundTrip(r)
}

// A panic in a refresh ahead of expiry, beside a handler that succeeded,
// is the item's failure, on its mw.fetch span and the errors metric: never
// the invoke's.
func TestAPanicInARefreshAheadIsTheItemsFailure(t *testing.T) {
	w := newWorld(t, mwtest.Managed)
	w.ext.PutSecret("s", "v")
	prev := otel.GetErrorHandler()
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(error) {}))
	t.Cleanup(func() { otel.SetErrorHandler(prev) })
	h := mw.Wrap(echo, w.opts(mw.WithSecrets("s"), mw.WithTTL(time.Hour), mw.WithRefreshAhead(time.Hour),
		mw.WithHTTPClient(&http.Client{Transport: &panicOnSecond{}}))...)
	for i := range 2 { // cold; then within the refresh-ahead window, which is the whole TTL
		if got, err := h(invokeCtx(t, 5*time.Second), []string{"secret:s"}); err != nil || got["secret:s"] != "v" {
			t.Fatalf("invoke %d: %v, %v", i, got, err)
		}
	}
	fetches := w.spans("mw.fetch")
	if len(fetches) != 2 {
		t.Fatalf("%d mw.fetch spans; want 2", len(fetches))
	}
	ahead := fetches[1]
	if ahead.Status().Code != codes.Error || attr(ahead, "error.type").AsString() != "panic" {
		t.Errorf("the refresh's span: status %+v, error.type %q; want an error, panic", ahead.Status(), attr(ahead, "error.type").AsString())
	}
	w.wantCounts("after the panic", []countCase{
		{"mw.fetch.errors", []string{"error.type=panic", "mw.item.name=s"}, 1},
		{"mw.cache.refreshes", []string{"mw.fetch.reason=ahead"}, 1},
	})
}
