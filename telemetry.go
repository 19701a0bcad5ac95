package mw

import (
	"context"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
)

// The span, event, metric and attribute names are a contract with
// dashboards: TELEMETRY.md documents them and tests pin them. Change none
// without a major version.
const (
	spanResolve = "mw.resolve"
	spanFetch   = "mw.fetch"
	spanHandler = "mw.handler"
	eventRetry  = "mw.fetch.retry"

	metricLookups   = "mw.cache.lookups"
	metricRefreshes = "mw.cache.refreshes"
	metricFetchDur  = "mw.fetch.duration"
	metricErrors    = "mw.fetch.errors"
	metricRetries   = "mw.fetch.retries"
	metricPrefetch  = "mw.prefetch.duration"

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
	attrSource      = attribute.Key("mw.source")
	attrOperation   = attribute.Key("mw.fetch.operation")
	attrBatchSize   = attribute.Key("mw.fetch.batch_size")
	attrBatchItems  = attribute.Key("mw.fetch.items")
	attrForced      = attribute.Key("mw.fetch.forced")
	attrKind        = attribute.Key("mw.item.kind")
	attrName        = attribute.Key("mw.item.name")
	attrAlias       = attribute.Key("mw.item.alias")
	attrVersion     = attribute.Key("mw.item.version")
	attrAttempts    = attribute.Key("mw.fetch.attempts")
	attrRetries     = attribute.Key("mw.fetch.retries")
	attrAttempt     = attribute.Key("mw.fetch.attempt")
	attrDelay       = attribute.Key("mw.fetch.retry_delay_ms")
	attrOutcome     = attribute.Key("mw.cache.outcome")
	attrReason      = attribute.Key("mw.fetch.reason")
	attrStatusCode  = attribute.Key("http.response.status_code")
	attrErrorType   = attribute.Key("error.type")
)

// durationBounds are the buckets of the duration histograms, in seconds:
// from a loopback hit of the extension's cache (1 ms) to the default fetch
// timeout (10 s).
var durationBounds = []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}

// lookupResult is how an invoke found one declared item.
type lookupResult int

const (
	lookupHit    lookupResult = iota // served from memory within its TTL
	lookupMiss                       // fetched before the handler ran
	lookupStale                      // served past its TTL after a failed refresh
	lookupAbsent                     // optional, served without a value
	nLookups
)

var lookupNames = [nLookups]string{"hit", "miss", "stale", "absent"}

// fetchReason is why an item was fetched.
type fetchReason int

const (
	reasonInitial fetchReason = iota // it had no value yet
	reasonExpired                    // its TTL had passed
	reasonAhead                      // within the refresh-ahead window
	reasonForced                     // RefreshSecret or RefreshParameter
)

var reasonNames = [...]string{"initial", "expired", "ahead", "forced"}

// telemetry is mw's tracer and meter for one Wrap, and the one answer to
// "is anything recording": the rest of the code makes one call per event.
type telemetry struct {
	tracer trace.Tracer
	// quiet holds the global tracer provider that was in place when this
	// tracer's spans proved to be no-ops (spans with no identity of their
	// own: no SDK behind them). While it is still in place, warm invokes
	// start no span, which would cost allocations for nothing.
	quiet atomic.Pointer[trace.TracerProvider]

	meter  *instruments // nil when the meter provides no instruments
	byItem [][nLookups][]metric.AddOption
}

// instruments are mw's metric instruments.
type instruments struct {
	lookups   metric.Int64Counter
	refreshes metric.Int64Counter
	errors    metric.Int64Counter
	retries   metric.Int64Counter
	fetchDur  metric.Float64Histogram
	prefetch  metric.Float64Histogram
}

func newTelemetry(tp trace.TracerProvider, mp metric.MeterProvider, items []item) *telemetry {
	t := &telemetry{tracer: tp.Tracer(ScopeName, trace.WithInstrumentationVersion(Version))}
	t.meter = newInstruments(mp.Meter(ScopeName, metric.WithInstrumentationVersion(Version)))
	if t.meter != nil {
		// The attributes of each lookup outcome, made once, so that
		// counting a warm invoke allocates nothing.
		t.byItem = make([][nLookups][]metric.AddOption, len(items))
		for i, it := range items {
			for o := range nLookups {
				set := attribute.NewSet(itemAttributes(it, attrOutcome.String(lookupNames[o]))...)
				t.byItem[i][o] = []metric.AddOption{metric.WithAttributeSet(set)}
			}
		}
	}
	return t
}

func newInstruments(meter metric.Meter) *instruments {
	m := &instruments{}
	var errs [6]error
	m.lookups, errs[0] = meter.Int64Counter(metricLookups, metric.WithUnit("{item}"),
		metric.WithDescription("Declared items an invoke needed, by how the cache had them: hit, miss, stale or absent."))
	m.refreshes, errs[1] = meter.Int64Counter(metricRefreshes, metric.WithUnit("{item}"),
		metric.WithDescription("Fetches of an item that had a value before: expired, ahead of expiry, or forced."))
	m.errors, errs[2] = meter.Int64Counter(metricErrors, metric.WithUnit("{error}"),
		metric.WithDescription("Fetches that failed after their retries, by error class."))
	m.retries, errs[3] = meter.Int64Counter(metricRetries, metric.WithUnit("{retry}"),
		metric.WithDescription("Failed attempts to fetch an item that were tried again, by error class."))
	m.fetchDur, errs[4] = meter.Float64Histogram(metricFetchDur, metric.WithUnit("s"),
		metric.WithDescription("Time to fetch one item, retries included."),
		metric.WithExplicitBucketBoundaries(durationBounds...))
	m.prefetch, errs[5] = meter.Float64Histogram(metricPrefetch, metric.WithUnit("s"),
		metric.WithDescription("Time an invoke spent fetching before its handler ran, for invokes that fetched."),
		metric.WithExplicitBucketBoundaries(durationBounds...))
	for _, err := range errs {
		if err != nil {
			otel.Handle(err)
		}
	}
	if m.lookups == nil || m.refreshes == nil || m.errors == nil || m.retries == nil || m.fetchDur == nil || m.prefetch == nil {
		return nil
	}
	return m
}

// tracing reports whether a span started now could be recorded.
func (t *telemetry) tracing() bool {
	q := t.quiet.Load()
	return q == nil || otel.GetTracerProvider() != *q
}

// observe learns from a span this tracer started in parent whether its
// spans are recorded: a span that is not recording and has no span id of
// its own has nothing behind it.
func (t *telemetry) observe(parent context.Context, s trace.Span) {
	noop := !s.IsRecording() && s.SpanContext().SpanID() == trace.SpanContextFromContext(parent).SpanID()
	switch g := otel.GetTracerProvider(); {
	case noop && reflect.TypeOf(g).Comparable():
		t.quiet.Store(&g)
	case !noop && t.quiet.Load() != nil:
		t.quiet.Store(nil)
	}
}

// metering reports whether a measurement made now with one of the
// instruments could be recorded. Each instrument answers for itself: a view
// may drop one of mw's instruments and keep the others.
func (t *telemetry) metering(ctx context.Context, inst func(*instruments) enabler) bool {
	return t.meter != nil && inst(t.meter).Enabled(ctx)
}

// An enabler is an instrument that says whether it records.
type enabler interface{ Enabled(context.Context) bool }

// The instruments, as metering takes them.
func lookupsOf(m *instruments) enabler   { return m.lookups }
func prefetchOf(m *instruments) enabler  { return m.prefetch }
func retriesOf(m *instruments) enabler   { return m.retries }
func fetchDurOf(m *instruments) enabler  { return m.fetchDur }
func errorsOf(m *instruments) enabler    { return m.errors }
func refreshesOf(m *instruments) enabler { return m.refreshes }

// itemAttributes are the attributes that name an item on every metric and
// mw.fetch span, followed by more: its kind and name, and its alias and
// version when it has them. They are bounded by the declarations; they
// never hold a value.
func itemAttributes(it item, more ...attribute.KeyValue) []attribute.KeyValue {
	attrs := make([]attribute.KeyValue, 0, 4+len(more))
	name := it.Name
	if it.Kind == KindAppConfig {
		name = it.Application + "/" + it.Environment + "/" + it.Name
	}
	attrs = append(attrs, attrKind.String(it.Kind.String()), attrName.String(name))
	if it.alias != "" {
		attrs = append(attrs, attrAlias.String(it.alias))
	}
	if v := it.version(); v != "" {
		attrs = append(attrs, attrVersion.String(v))
	}
	return append(attrs, more...)
}

func itemKeys(items []item) []string {
	keys := make([]string, len(items))
	for i, it := range items {
		keys[i] = it.key()
	}
	return keys
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

// warm records an invoke that found every item in memory.
func (t *telemetry) warm(ctx context.Context, items []item, s *snapshot, cold bool) {
	if t.tracing() {
		_, r := t.startResolve(ctx, len(items), cold)
		r.span.SetAttributes(attrHits.Int(len(items)), attrMisses.Int(0))
		r.setServed(s.stale, s.absent)
		r.span.End()
	}
	if t.meter != nil && t.meter.lookups.Enabled(ctx) { // metering(ctx, lookupsOf), without the interface conversion
		t.lookup(ctx, items, outcome{stale: s.stale, absent: s.absent})
	}
}

// resolveSpan records one invoke's resolution.
type resolveSpan struct {
	t     *telemetry
	span  trace.Span
	cold  bool
	start time.Time
}

func (t *telemetry) startResolve(ctx context.Context, declared int, cold bool) (context.Context, resolveSpan) {
	parent := ctx
	ctx, span := t.tracer.Start(ctx, spanResolve, trace.WithAttributes(attrItems.Int(declared), attrColdStart.Bool(cold)))
	t.observe(parent, span)
	return ctx, resolveSpan{t: t, span: span, cold: cold, start: time.Now()}
}

// end records what the resolution found, on the span and the metrics.
func (r resolveSpan) end(ctx context.Context, items []item, o outcome) {
	if r.span.IsRecording() {
		r.span.SetAttributes(attrHits.Int(o.hits), attrMisses.Int(len(o.missed)))
		if len(o.missed) > 0 {
			r.span.SetAttributes(attrMissItems.StringSlice(itemKeys(o.missed)), attrCoalesced.Int(o.coalesced))
		}
		if o.ahead > 0 {
			r.span.SetAttributes(attrAhead.Int(o.ahead))
		}
		r.setServed(o.stale, o.absent)
		if o.err != nil {
			failed := make([]string, len(o.err.Failed))
			for i, f := range o.err.Failed {
				failed[i] = f.Kind.String() + ":" + f.Name
			}
			r.span.SetAttributes(attrFailed.StringSlice(failed), attrErrorType.String(string(o.err.Failed[0].Class)))
			r.span.SetStatus(codes.Error, "mw: declared items could not be fetched")
		}
	}
	r.span.End()
	if r.t.metering(ctx, lookupsOf) {
		r.t.lookup(ctx, items, o)
	}
	if len(o.missed) > 0 && r.t.metering(ctx, prefetchOf) {
		attrs := []attribute.KeyValue{attrColdStart.Bool(r.cold)}
		if o.err != nil {
			attrs = append(attrs, attrErrorType.String(string(o.err.Failed[0].Class)))
		}
		r.t.meter.prefetch.Record(ctx, time.Since(r.start).Seconds(), metric.WithAttributes(attrs...))
	}
}

// endPanic ends the span of a resolution that a panic cut short.
func (r resolveSpan) endPanic() {
	r.span.SetAttributes(attrErrorType.String(string(ClassPanic)))
	r.span.SetStatus(codes.Error, "mw: a fetch panicked")
	r.span.End()
}

func (r resolveSpan) setServed(stale, absent []item) {
	if len(stale) > 0 {
		r.span.SetAttributes(attrStale.Int(len(stale)), attrStaleItems.StringSlice(itemKeys(stale)))
	}
	if len(absent) > 0 {
		r.span.SetAttributes(attrAbsentItems.StringSlice(itemKeys(absent)))
	}
}

// lookup counts one invoke's lookups of the declared items: each is a hit
// unless it is among o's missed, stale or absent.
func (t *telemetry) lookup(ctx context.Context, items []item, o outcome) {
	if len(o.missed)+len(o.stale)+len(o.absent) == 0 {
		for i := range t.byItem {
			t.meter.lookups.Add(ctx, 1, t.byItem[i][lookupHit]...)
		}
		return
	}
	found := make([]lookupResult, len(items)) // lookupHit unless marked
	mark := func(these []item, l lookupResult) {
		for _, it := range these {
			for i := range items {
				if items[i].Item == it.Item { // items are unique by what they fetch
					found[i] = l
				}
			}
		}
	}
	mark(o.missed, lookupMiss)
	mark(o.stale, lookupStale) // a miss whose refresh failed was served stale
	mark(o.absent, lookupAbsent)
	for i, l := range found {
		t.meter.lookups.Add(ctx, 1, t.byItem[i][l]...)
	}
}

// fetchSpan records one call to a source, retries included.
type fetchSpan struct {
	t    *telemetry
	span trace.Span
	keys []string // the items' keys, by position in the call, for a call of more than one
}

// startFetch starts the span of a call of items. It names the items: by
// the item's own attributes for a call of one, else by their keys.
func (t *telemetry) startFetch(ctx context.Context, c *call, items []item) (context.Context, fetchSpan) {
	var attrs []attribute.KeyValue
	var keys []string
	if len(items) == 1 {
		attrs = itemAttributes(items[0])
	} else {
		keys = itemKeys(items)
		attrs = []attribute.KeyValue{attrKind.String(items[0].Kind.String()), attrBatchItems.StringSlice(keys)}
	}
	attrs = append(attrs, attrSource.String(c.route.name), attrOperation.String(c.op),
		attrBatchSize.Int(len(items)), attrForced.Bool(c.force))
	ctx, span := t.tracer.Start(ctx, spanFetch, trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(attrs...))
	return ctx, fetchSpan{t: t, span: span, keys: keys}
}

// retry marks failed attempt n of the items again (positions in the call),
// made at at, to be tried again after delay.
func (f fetchSpan) retry(n int, again []int, c *call, last []failure, delay time.Duration, at time.Time) {
	if !f.span.IsRecording() {
		return
	}
	first := last[again[0]].se
	attrs := []attribute.KeyValue{
		attrAttempt.Int(n),
		attrErrorType.String(string(first.Class)),
		attrDelay.Int64(delay.Milliseconds()),
	}
	if first.Status != 0 {
		attrs = append(attrs, attrStatusCode.Int(first.Status))
	}
	if len(c.tix) > 1 {
		keys := make([]string, len(again))
		for j, k := range again {
			keys[j] = f.keys[k]
		}
		attrs = append(attrs, attrBatchItems.StringSlice(keys))
	}
	f.span.AddEvent(eventRetry, trace.WithAttributes(attrs...), trace.WithTimestamp(at))
}

// retryOne marks failed attempt n of item k alone, made at at, to be tried
// again after delay.
func (f fetchSpan) retryOne(n, k int, c *call, class Class, status int, delay time.Duration, at time.Time) {
	if !f.span.IsRecording() {
		return
	}
	attrs := []attribute.KeyValue{attrAttempt.Int(n), attrErrorType.String(string(class)), attrDelay.Int64(delay.Milliseconds())}
	if status != 0 {
		attrs = append(attrs, attrStatusCode.Int(status))
	}
	if len(c.tix) > 1 {
		attrs = append(attrs, attrBatchItems.StringSlice([]string{f.keys[k]}))
	}
	f.span.AddEvent(eventRetry, trace.WithAttributes(attrs...), trace.WithTimestamp(at))
}

// end records how the call ended: its attempts, the last HTTP status, and
// the items that failed.
func (f fetchSpan) end(attempts, status int, c *call, results []fetched) {
	if f.span.IsRecording() {
		f.span.SetAttributes(attrAttempts.Int(attempts), attrRetries.Int(max(attempts-1, 0)))
		if status != 0 {
			f.span.SetAttributes(attrStatusCode.Int(status))
		}
		var failed []*FetchError
		for _, r := range results {
			if r.err != nil {
				failed = append(failed, r.err)
			}
		}
		switch {
		case len(failed) == 1 && len(results) == 1:
			f.span.SetAttributes(attrErrorType.String(string(failed[0].Class)))
			// The message names the item and the fix, never a value.
			f.span.SetStatus(codes.Error, failed[0].Error())
		case len(failed) > 0:
			f.span.SetAttributes(attrErrorType.String(string(failed[0].Class)))
			f.span.SetStatus(codes.Error, batchFailure(failed, len(results)))
		}
	}
	f.span.End()
}

// batchFailure describes the failed items of a call in one line.
func batchFailure(failed []*FetchError, of int) string {
	parts := make([]string, len(failed))
	for i, fe := range failed {
		parts[i] = fe.subject() + " " + string(fe.Class)
	}
	return "mw: " + strconv.Itoa(len(failed)) + " of " + strconv.Itoa(of) + " items failed: " + strings.Join(parts, "; ")
}

// retried counts a failed attempt that will be tried again.
func (t *telemetry) retried(ctx context.Context, it item, source string, class Class) {
	if t.metering(ctx, retriesOf) {
		t.meter.retries.Add(ctx, 1, metric.WithAttributes(itemAttributes(it, attrSource.String(source), attrErrorType.String(string(class)))...))
	}
}

// fetched records one item's fetch, retries included.
func (t *telemetry) fetched(ctx context.Context, it item, c *call, why fetchReason, took time.Duration, err *FetchError) {
	reason, source := attrReason.String(reasonNames[why]), attrSource.String(c.route.name)
	if t.metering(ctx, fetchDurOf) {
		attrs := itemAttributes(it, source, reason)
		if err != nil {
			attrs = append(attrs, attrErrorType.String(string(err.Class)))
		}
		t.meter.fetchDur.Record(ctx, took.Seconds(), metric.WithAttributes(attrs...))
	}
	if err != nil && t.metering(ctx, errorsOf) {
		t.meter.errors.Add(ctx, 1, metric.WithAttributes(itemAttributes(it, source, attrErrorType.String(string(err.Class)))...))
	}
	if why != reasonInitial && t.metering(ctx, refreshesOf) {
		t.meter.refreshes.Add(ctx, 1, metric.WithAttributes(itemAttributes(it, source, reason)...))
	}
}

// handler runs h in the mw.handler span, a sibling of mw.resolve, so that
// the handler's own spans nest under it and its failure is on record:
// otellambda does not set an error status. The span's status never holds
// the error's message, which may quote a value: only the error's type or
// mw's class. A panic goes on unrecovered, to the runtime that reports it.
func traceHandler[Out any](ctx context.Context, t *telemetry, h func(context.Context) (Out, error)) (out Out, err error) {
	ctx, span := t.tracer.Start(ctx, spanHandler)
	returned := false
	defer func() {
		if span.IsRecording() {
			switch {
			case !returned:
				span.SetAttributes(attrErrorType.String("panic"))
				span.SetStatus(codes.Error, "handler panicked")
			case err != nil:
				span.SetAttributes(attrErrorType.String(errorType(err)))
				span.SetStatus(codes.Error, fmt.Sprintf("handler returned an error of type %T", err))
			}
		}
		span.End()
	}()
	out, err = h(ctx)
	returned = true
	return out, err
}
