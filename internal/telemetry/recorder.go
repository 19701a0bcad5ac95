package telemetry

import (
	"context"
	"reflect"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
)

// A Recorder is mw's tracer and meter for one Wrap, and the one answer to
// "is anything recording": the engine makes one call per event.
type Recorder struct {
	tracer trace.Tracer
	// quiet holds the global tracer provider that was in place when this
	// tracer's spans proved to be no-ops (spans with no identity of their
	// own: no SDK behind them). While it is still in place, warm invokes
	// start no span, which would cost allocations for nothing.
	quiet atomic.Pointer[trace.TracerProvider]

	meter  *instruments // nil when the meter provides no instruments
	labels []Label

	// byItem holds, per item and lookup outcome, the attributes of a
	// lookup, made once, when lookups are first recorded, so that counting
	// a warm invoke allocates nothing, and a Wrap whose lookups nothing
	// records keeps none.
	byItemOnce sync.Once
	byItem     [][nLookups][]metric.AddOption
}

// New returns the recorder of one Wrap's items, named by labels, under the
// instrumentation scope and version given.
func New(tp trace.TracerProvider, mp metric.MeterProvider, scope, version string, labels []Label) *Recorder {
	return &Recorder{
		tracer: tp.Tracer(scope, trace.WithInstrumentationVersion(version)),
		meter:  newInstruments(mp.Meter(scope, metric.WithInstrumentationVersion(version))),
		labels: labels,
	}
}

// A lookup is how an invoke found one declared item.
type lookup int

const (
	hit    lookup = iota // served from memory within its TTL
	miss                 // fetched before the handler ran
	stale                // served past its TTL after a failed refresh
	absent               // optional, served without a value
	nLookups
)

var lookupNames = [nLookups]string{"hit", "miss", "stale", "absent"}

// Tracing reports whether a span started now could be recorded.
func (r *Recorder) Tracing() bool {
	q := r.quiet.Load()
	return q == nil || otel.GetTracerProvider() != *q
}

// observe learns from a span this tracer started in parent whether its
// spans are recorded: a span that is not recording and has no span id of
// its own has nothing behind it.
func (r *Recorder) observe(parent context.Context, s trace.Span) {
	noop := !s.IsRecording() && s.SpanContext().SpanID() == trace.SpanContextFromContext(parent).SpanID()
	switch g := otel.GetTracerProvider(); {
	case noop && reflect.TypeOf(g).Comparable():
		r.quiet.Store(&g)
	case !noop && r.quiet.Load() != nil:
		r.quiet.Store(nil)
	}
}

// keys returns the keys of the items at positions.
func (r *Recorder) keys(positions []int) []string {
	keys := make([]string, len(positions))
	for j, i := range positions {
		keys[j] = r.labels[i].Key
	}
	return keys
}

// An Outcome is what one invoke's resolution found, by item position.
type Outcome struct {
	Hits      int
	Missed    []int  // fetched, here or by a concurrent invoke
	Coalesced int    // of Missed, fetched by a concurrent invoke
	Ahead     int    // refreshes started ahead of expiry
	Stale     []int  // served past their TTL after a failed refresh
	Absent    []int  // optional items served without a value
	Failed    []int  // required items with no value: the handler did not run
	Class     string // the first failed item's class
}

// Warm records an invoke that found every item in memory, and reports
// whether the handler's span could be recorded: Tracing, asked once.
func (r *Recorder) Warm(ctx context.Context, cold bool, stale, absent []int) (tracing bool) {
	o := Outcome{Hits: len(r.labels), Stale: stale, Absent: absent}
	if !r.Tracing() {
		if r.meter.enabled(ctx, lookups) {
			r.lookup(ctx, o)
		}
		return false
	}
	_, s := r.StartResolve(ctx, len(r.labels), cold)
	s.End(ctx, o)
	return r.Tracing() // the span may have shown that nothing records
}

// A Resolve records one invoke's resolution: the mw.resolve span.
type Resolve struct {
	r     *Recorder
	span  trace.Span
	cold  bool
	start time.Time
}

// StartResolve starts the resolution of an invoke of declared items.
func (r *Recorder) StartResolve(ctx context.Context, declared int, cold bool) (context.Context, Resolve) {
	parent := ctx
	ctx, span := r.tracer.Start(ctx, SpanResolve, trace.WithAttributes(AttrItems.Int(declared), AttrColdStart.Bool(cold)))
	r.observe(parent, span)
	return ctx, Resolve{r: r, span: span, cold: cold, start: time.Now()}
}

// End records what the resolution found, on the span and the metrics.
func (s Resolve) End(ctx context.Context, o Outcome) {
	r := s.r
	if s.span.IsRecording() {
		s.span.SetAttributes(AttrHits.Int(o.Hits), AttrMisses.Int(len(o.Missed)))
		if len(o.Missed) > 0 {
			s.span.SetAttributes(AttrMissItems.StringSlice(r.keys(o.Missed)), AttrCoalesced.Int(o.Coalesced))
		}
		if o.Ahead > 0 {
			s.span.SetAttributes(AttrAhead.Int(o.Ahead))
		}
		s.setServed(o.Stale, o.Absent)
		if len(o.Failed) > 0 {
			s.span.SetAttributes(AttrFailed.StringSlice(r.keys(o.Failed)), AttrErrorType.String(o.Class))
			s.span.SetStatus(codes.Error, "mw: declared items could not be fetched")
		}
	}
	s.span.End()
	if r.meter.enabled(ctx, lookups) {
		r.lookup(ctx, o)
	}
	if len(o.Missed) > 0 && r.meter.enabled(ctx, prefetchDuration) {
		attrs := []attribute.KeyValue{AttrColdStart.Bool(s.cold)}
		if len(o.Failed) > 0 {
			attrs = append(attrs, AttrErrorType.String(o.Class))
		}
		r.meter.record(ctx, prefetchDuration, time.Since(s.start).Seconds(), metric.WithAttributes(attrs...))
	}
}

// EndPanic ends the span of a resolution that a panic cut short.
func (s Resolve) EndPanic(class string) {
	s.span.SetAttributes(AttrErrorType.String(class))
	s.span.SetStatus(codes.Error, "mw: a fetch panicked")
	s.span.End()
}

func (s Resolve) setServed(stale, absent []int) {
	if len(stale) > 0 {
		s.span.SetAttributes(AttrStale.Int(len(stale)), AttrStaleItems.StringSlice(s.r.keys(stale)))
	}
	if len(absent) > 0 {
		s.span.SetAttributes(AttrAbsentItems.StringSlice(s.r.keys(absent)))
	}
}

// lookup counts one invoke's lookups of the declared items: each is a hit
// unless it is among o's missed, stale or absent.
func (r *Recorder) lookup(ctx context.Context, o Outcome) {
	byItem := r.lookupOptions()
	if len(o.Missed)+len(o.Stale)+len(o.Absent) == 0 {
		for i := range byItem {
			r.meter.add(ctx, lookups, 1, byItem[i][hit]...)
		}
		return
	}
	found := make([]lookup, len(r.labels)) // hit unless marked
	for _, i := range o.Missed {
		found[i] = miss
	}
	for _, i := range o.Stale { // a miss whose refresh failed was served stale
		found[i] = stale
	}
	for _, i := range o.Absent {
		found[i] = absent
	}
	for i, l := range found {
		r.meter.add(ctx, lookups, 1, byItem[i][l]...)
	}
}

// lookupOptions returns the attributes of each item's lookups, by outcome,
// made on first use.
func (r *Recorder) lookupOptions() [][nLookups][]metric.AddOption {
	r.byItemOnce.Do(func() {
		r.byItem = make([][nLookups][]metric.AddOption, len(r.labels))
		for i, l := range r.labels {
			for o := range nLookups {
				set := attribute.NewSet(l.attributes(AttrOutcome.String(lookupNames[o]))...)
				r.byItem[i][o] = []metric.AddOption{metric.WithAttributeSet(set)}
			}
		}
	})
	return r.byItem
}
