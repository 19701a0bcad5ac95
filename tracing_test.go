package mw

import (
	"context"
	"testing"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/lambda-mw/mw/mwtest"
)

func attr(s sdktrace.ReadOnlySpan, key string) attribute.Value {
	for _, kv := range s.Attributes() {
		if string(kv.Key) == key {
			return kv.Value
		}
	}
	return attribute.Value{}
}

// The names below are a contract with dashboards: renaming one must break
// this test.
func TestSpansShowHitsMissesAndFetches(t *testing.T) {
	w := newWorld(t, mwtest.Managed)
	w.ext.PutSecret("prod/db", "pw")
	w.ext.PutParameter("/app/flags", "String", "on")
	w.ext.NotReadyFor(2)
	h := Wrap(echo, w.opts(WithSecrets("prod/db"), WithParameters("/app/flags"))...)

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
	if r.InstrumentationScope().Name != ScopeName || ScopeName != "github.com/lambda-mw/mw" || r.InstrumentationScope().Version == "" {
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
	h := Wrap(echo, w.opts(WithSecrets("missing"))...)
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
	h := Wrap(echo, WithSecrets("s"), WithEndpoint(w.srv.URL))
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
	h := Wrap(echo, WithSecrets("s"), WithEndpoint(w.srv.URL)) // the default: the global provider
	if _, err := h(context.Background(), nil); err != nil {    // cold
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
