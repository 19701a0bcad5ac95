package mw

import (
	"context"
	"reflect"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// The metric names, units and attributes are a contract with dashboards,
// like the span names: TELEMETRY.md documents them and tests pin them.
const (
	metricLookups   = "mw.cache.lookups"
	metricRefreshes = "mw.cache.refreshes"
	metricFetchDur  = "mw.fetch.duration"
	metricErrors    = "mw.fetch.errors"
	metricRetries   = "mw.fetch.retries"
	metricPrefetch  = "mw.prefetch.duration"

	attrOutcome = attribute.Key("mw.cache.outcome")
	attrReason  = attribute.Key("mw.fetch.reason")
)

// durationBounds are the buckets of the duration histograms, in seconds:
// from a loopback hit of the extension's cache (1 ms) to the default fetch
// timeout (10 s).
var durationBounds = []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}

// WithMeterProvider sets the provider of mw's meter, whose instruments
// count cache lookups, refreshes, fetch errors and retries, and time the
// fetches (TELEMETRY.md lists them). The default is the global provider,
// otel.GetMeterProvider(), read when Wrap is called. Metric attributes name
// the declared items, never their values.
func WithMeterProvider(mp metric.MeterProvider) Option {
	return func(c *config) { c.mp = mp }
}

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

// itemAttributes are the attributes that name an item on every metric and
// mw.fetch span, followed by more: its kind and name, and its alias and
// version when it has them. They are bounded by the declarations; they
// never hold a value.
func itemAttributes(it item, more ...attribute.KeyValue) []attribute.KeyValue {
	attrs := make([]attribute.KeyValue, 0, 4+len(more))
	attrs = append(attrs, attrKind.String(it.kind.String()), attrName.String(it.name))
	if it.alias != "" {
		attrs = append(attrs, attrAlias.String(it.alias))
	}
	if v := it.sel.String(); v != "" {
		attrs = append(attrs, attrVersion.String(v))
	}
	return append(attrs, more...)
}

// metrics is mw's instruments for one Wrap.
type metrics struct {
	lookups   metric.Int64Counter
	refreshes metric.Int64Counter
	errors    metric.Int64Counter
	retries   metric.Int64Counter
	fetchDur  metric.Float64Histogram
	prefetch  metric.Float64Histogram

	// byItem holds, per declared item, the options of each lookup outcome,
	// made at Wrap so that counting a warm invoke allocates nothing.
	byItem [][nLookups][]metric.AddOption

	// idle and off work as in tracing: while the global provider is still
	// OTel's default, which delegates to nothing, no measurement is made.
	idle metric.MeterProvider
	off  bool
}

func newMetrics(mp metric.MeterProvider, items []item) *metrics {
	if mp == nil {
		mp = otel.GetMeterProvider()
	}
	m := &metrics{}
	if t := reflect.TypeOf(mp); t != nil && (t.PkgPath() == "go.opentelemetry.io/otel/metric/noop" ||
		t.Kind() == reflect.Pointer && t.Elem().PkgPath() == "go.opentelemetry.io/otel/metric/noop") {
		m.off = true
		return m
	}
	if isDefaultGlobal(mp) && otel.GetMeterProvider() == mp {
		m.idle = mp
	}
	meter := mp.Meter(ScopeName, metric.WithInstrumentationVersion(version))
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
		m.off = true
		return m
	}
	m.byItem = make([][nLookups][]metric.AddOption, len(items))
	for i, it := range items {
		for o := range nLookups {
			set := attribute.NewSet(itemAttributes(it, attrOutcome.String(lookupNames[o]))...)
			m.byItem[i][o] = []metric.AddOption{metric.WithAttributeSet(set)}
		}
	}
	return m
}

// enabled reports whether a measurement made now could be recorded.
func (m *metrics) enabled() bool {
	return !m.off && (m.idle == nil || otel.GetMeterProvider() != m.idle)
}

// lookup counts one invoke's lookups of the declared items: each is a hit
// unless it is among missed, stale or absent.
func (m *metrics) lookup(ctx context.Context, items []item, missed, stale, absent []item) {
	if !m.enabled() {
		return
	}
	if len(missed)+len(stale)+len(absent) == 0 {
		for i := range m.byItem {
			m.lookups.Add(ctx, 1, m.byItem[i][lookupHit]...)
		}
		return
	}
	found := make([]lookupResult, len(items)) // lookupHit unless marked
	mark := func(these []item, l lookupResult) {
		for _, it := range these {
			for i := range items {
				if items[i].what() == it.what() { // items are unique by what they fetch
					found[i] = l
				}
			}
		}
	}
	mark(missed, lookupMiss)
	mark(stale, lookupStale) // a miss whose refresh failed was served stale
	mark(absent, lookupAbsent)
	for i, l := range found {
		m.lookups.Add(ctx, 1, m.byItem[i][l]...)
	}
}

// retried counts a failed attempt that will be tried again.
func (m *metrics) retried(ctx context.Context, it item, class Class) {
	if m.enabled() {
		m.retries.Add(ctx, 1, metric.WithAttributes(itemAttributes(it, attrErrorType.String(string(class)))...))
	}
}

// fetched records one item's fetch, retries included.
func (m *metrics) fetched(ctx context.Context, it item, why fetchReason, took time.Duration, err *FetchError) {
	if !m.enabled() {
		return
	}
	reason := attrReason.String(reasonNames[why])
	if err != nil {
		m.fetchDur.Record(ctx, took.Seconds(), metric.WithAttributes(itemAttributes(it, reason, attrErrorType.String(string(err.Class)))...))
		m.errors.Add(ctx, 1, metric.WithAttributes(itemAttributes(it, attrErrorType.String(string(err.Class)))...))
	} else {
		m.fetchDur.Record(ctx, took.Seconds(), metric.WithAttributes(itemAttributes(it, reason)...))
	}
	if why != reasonInitial {
		m.refreshes.Add(ctx, 1, metric.WithAttributes(itemAttributes(it, reason)...))
	}
}

// prefetched records the time an invoke spent fetching before its handler.
func (m *metrics) prefetched(ctx context.Context, took time.Duration, cold bool, err *PrefetchError) {
	if !m.enabled() {
		return
	}
	if err != nil {
		m.prefetch.Record(ctx, took.Seconds(), metric.WithAttributes(attrColdStart.Bool(cold), attrErrorType.String(string(err.Failed[0].Class))))
		return
	}
	m.prefetch.Record(ctx, took.Seconds(), metric.WithAttributes(attrColdStart.Bool(cold)))
}
