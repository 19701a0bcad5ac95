package mw

import (
	"context"
	"reflect"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// ScopeName is the instrumentation scope of mw's tracer: its import path.
const ScopeName = "github.com/lambda-mw/mw"

// version is the instrumentation version reported with the scope.
const version = "0.1.0"

// The span and attribute names are a contract with dashboards: the README
// documents them and tests pin them. Change none without a major version.
const (
	spanResolve = "mw.resolve"
	spanFetch   = "mw.fetch"
	spanHandler = "mw.handler"
	eventRetry  = "mw.fetch.retry"

	attrItems       = attribute.Key("mw.items")
	attrHits        = attribute.Key("mw.cache.hits")
	attrMisses      = attribute.Key("mw.cache.misses")
	attrMissItems   = attribute.Key("mw.cache.miss_items")
	attrCoalesced   = attribute.Key("mw.cache.coalesced")
	attrColdStart   = attribute.Key("mw.cold_start")
	attrFailed      = attribute.Key("mw.failed_items")
	attrAhead       = attribute.Key("mw.cache.refresh_ahead")
	attrStale       = attribute.Key("mw.cache.stale")
	attrStaleItems  = attribute.Key("mw.cache.stale_items")
	attrAbsentItems = attribute.Key("mw.optional.absent_items")
	attrForced      = attribute.Key("mw.fetch.forced")
	attrKind        = attribute.Key("mw.item.kind")
	attrName        = attribute.Key("mw.item.name")
	attrAlias       = attribute.Key("mw.item.alias")
	attrVersion     = attribute.Key("mw.item.version")
	attrAttempts    = attribute.Key("mw.fetch.attempts")
	attrRetries     = attribute.Key("mw.fetch.retries")
	attrAttempt     = attribute.Key("mw.fetch.attempt")
	attrDelay       = attribute.Key("mw.fetch.retry_delay_ms")
	attrStatusCode  = attribute.Key("http.response.status_code")
	attrErrorType   = attribute.Key("error.type")
)

// tracing is mw's tracer, and whether spans can be recorded at all.
type tracing struct {
	tracer trace.Tracer
	// idle is the OTel global provider as Wrap found it when it was still
	// the default, which delegates to nothing. While otel.GetTracerProvider
	// still returns it, no SDK has been installed (installing one replaces
	// it) and every span would be a no-op: warm invokes then skip theirs,
	// which would cost allocations for nothing.
	idle trace.TracerProvider
	off  bool // an explicit no-op provider
}

func newTracing(tp trace.TracerProvider) tracing {
	t := tracing{tracer: tp.Tracer(ScopeName, trace.WithInstrumentationVersion(version))}
	switch tp.(type) {
	case noop.TracerProvider, *noop.TracerProvider:
		t.off = true
	}
	if isDefaultGlobal(tp) && otel.GetTracerProvider() == tp {
		t.idle = tp
	}
	return t
}

// isDefaultGlobal reports whether tp, a tracer or meter provider, is OTel's
// default global provider. (With OTel's eBPF auto-instrumentation attached,
// that provider records spans without being replaced; mw's warm-invoke
// spans are then skipped.)
func isDefaultGlobal(tp any) bool {
	t := reflect.TypeOf(tp)
	return t != nil && t.Kind() == reflect.Pointer && t.Elem().PkgPath() == "go.opentelemetry.io/otel/internal/global"
}

// enabled reports whether a span started now could be recorded.
func (t *tracing) enabled() bool {
	return !t.off && (t.idle == nil || otel.GetTracerProvider() != t.idle)
}

// resolveTrace records one invoke's resolution.
type resolveTrace struct {
	span trace.Span
}

func startResolve(ctx context.Context, t trace.Tracer, declared int, cold bool) (context.Context, resolveTrace) {
	ctx, span := t.Start(ctx, spanResolve)
	if span.IsRecording() {
		span.SetAttributes(attrItems.Int(declared), attrColdStart.Bool(cold))
	}
	return ctx, resolveTrace{span}
}

// outcome is what one invoke's resolution found.
type outcome struct {
	hits      int
	missed    []item // fetched, here or by a concurrent invoke
	coalesced int    // of missed, fetched by a concurrent invoke
	ahead     int    // refreshes started ahead of expiry
	stale     []item // served past their TTL after a failed refresh
	absent    []item // optional items served without a value
	err       *PrefetchError
}

func (r resolveTrace) end(o outcome) {
	if r.span.IsRecording() {
		r.span.SetAttributes(attrHits.Int(o.hits), attrMisses.Int(len(o.missed)))
		if len(o.missed) > 0 {
			r.span.SetAttributes(attrMissItems.StringSlice(itemKeys(o.missed)), attrCoalesced.Int(o.coalesced))
		}
		if o.ahead > 0 {
			r.span.SetAttributes(attrAhead.Int(o.ahead))
		}
		if len(o.stale) > 0 {
			r.span.SetAttributes(attrStale.Int(len(o.stale)), attrStaleItems.StringSlice(itemKeys(o.stale)))
		}
		if len(o.absent) > 0 {
			r.span.SetAttributes(attrAbsentItems.StringSlice(itemKeys(o.absent)))
		}
		if o.err != nil {
			failed := make([]string, len(o.err.Failed))
			for i, f := range o.err.Failed {
				failed[i] = f.Kind + ":" + f.Name
			}
			r.span.SetAttributes(attrFailed.StringSlice(failed), attrErrorType.String(string(o.err.Failed[0].Class)))
			r.span.SetStatus(codes.Error, "mw: declared items could not be fetched")
		}
	}
	r.span.End()
}

func itemKeys(items []item) []string {
	keys := make([]string, len(items))
	for i, it := range items {
		keys[i] = it.key()
	}
	return keys
}

// fetchTrace records the fetch of one item, retries included.
type fetchTrace struct {
	span trace.Span
}

func startFetch(ctx context.Context, t trace.Tracer, it item, force bool) (context.Context, fetchTrace) {
	ctx, span := t.Start(ctx, spanFetch, trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(itemAttributes(it, attrForced.Bool(force))...))
	return ctx, fetchTrace{span}
}

// retry marks a failed attempt that will be tried again after delay.
func (f fetchTrace) retry(attempt int, class Class, status int, delay time.Duration) {
	if !f.span.IsRecording() {
		return
	}
	attrs := []attribute.KeyValue{
		attrAttempt.Int(attempt),
		attrErrorType.String(string(class)),
		attrDelay.Int64(delay.Milliseconds()),
	}
	if status != 0 {
		attrs = append(attrs, attrStatusCode.Int(status))
	}
	f.span.AddEvent(eventRetry, trace.WithAttributes(attrs...))
}

func (f fetchTrace) end(attempts, status int, err *FetchError) {
	if f.span.IsRecording() {
		f.span.SetAttributes(attrAttempts.Int(attempts), attrRetries.Int(max(attempts-1, 0)))
		if status != 0 {
			f.span.SetAttributes(attrStatusCode.Int(status))
		}
		if err != nil {
			f.span.SetAttributes(attrErrorType.String(string(err.Class)))
			// The message names the item and the fix, never a value.
			f.span.SetStatus(codes.Error, err.Error())
		}
	}
	f.span.End()
}
