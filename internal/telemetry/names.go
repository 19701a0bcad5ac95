// Package telemetry records mw's spans and metrics through the
// OpenTelemetry API: the names (a contract with dashboards, which
// TELEMETRY.md documents and tests pin), the instruments, and one recorder
// per Wrap that answers "is anything recording" in one place. It knows
// items by a Label and by their position, never by a value.
package telemetry

import "go.opentelemetry.io/otel/attribute"

// The span and event names (the metric names are in specs). Change none
// without a major version.
const (
	SpanResolve  = "mw.resolve"
	SpanFetch    = "mw.fetch"
	SpanHandler  = "mw.handler"
	SpanEvaluate = "mw.evaluate"
	EventRetry   = "mw.fetch.retry"
)

// The attributes.
const (
	AttrItems       = attribute.Key("mw.items")
	AttrHits        = attribute.Key("mw.cache.hits")
	AttrMisses      = attribute.Key("mw.cache.misses")
	AttrMissItems   = attribute.Key("mw.cache.miss_items")
	AttrCoalesced   = attribute.Key("mw.cache.coalesced")
	AttrColdStart   = attribute.Key("mw.cold_start")
	AttrFailed      = attribute.Key("mw.failed_items")
	AttrAhead       = attribute.Key("mw.cache.refresh_ahead")
	AttrStale       = attribute.Key("mw.cache.stale")
	AttrStaleItems  = attribute.Key("mw.cache.stale_items")
	AttrAbsentItems = attribute.Key("mw.optional.absent_items")
	AttrSource      = attribute.Key("mw.source")
	AttrOperation   = attribute.Key("mw.fetch.operation")
	AttrBatchSize   = attribute.Key("mw.fetch.batch_size")
	AttrBatchItems  = attribute.Key("mw.fetch.items")
	AttrForced      = attribute.Key("mw.fetch.forced")
	AttrKind        = attribute.Key("mw.item.kind")
	AttrName        = attribute.Key("mw.item.name")
	AttrAlias       = attribute.Key("mw.item.alias")
	AttrVersion     = attribute.Key("mw.item.version")
	AttrAttempts    = attribute.Key("mw.fetch.attempts")
	AttrRetries     = attribute.Key("mw.fetch.retries")
	AttrAttempt     = attribute.Key("mw.fetch.attempt")
	AttrDelay       = attribute.Key("mw.fetch.retry_delay_ms")
	AttrOutcome     = attribute.Key("mw.cache.outcome")
	AttrReason      = attribute.Key("mw.fetch.reason")
	AttrStatusCode  = attribute.Key("http.response.status_code")
	AttrErrorType   = attribute.Key("error.type")

	// The configuration version and content type an AppConfig extension
	// served: OpenTelemetry's http.response.header.<key>, a string array.
	AttrConfigVersion = attribute.Key("http.response.header.configuration-version")
	AttrContentType   = attribute.Key("http.response.header.content-type")
)

// durationBounds are the buckets of the duration histograms, in seconds:
// from a loopback hit of the extension's cache (1 ms) to the default fetch
// timeout (10 s).
var durationBounds = []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}

// A Label names one declared item on spans and metrics: bounded by the
// declarations, never a value.
type Label struct {
	Kind    string // "secret", "parameter", ...
	Name    string // what is fetched; an AppConfig profile as application/environment/profile
	Alias   string // the name handlers read it by, if declared with one
	Version string // the version it is pinned to, if any
	Key     string // kind:ref, as span attributes list items
}

// attributes are the attributes that name an item on every metric and
// mw.fetch span, followed by more.
func (l Label) attributes(more ...attribute.KeyValue) []attribute.KeyValue {
	attrs := make([]attribute.KeyValue, 0, 4+len(more))
	attrs = append(attrs, AttrKind.String(l.Kind), AttrName.String(l.Name))
	if l.Alias != "" {
		attrs = append(attrs, AttrAlias.String(l.Alias))
	}
	if l.Version != "" {
		attrs = append(attrs, AttrVersion.String(l.Version))
	}
	return append(attrs, more...)
}
