package mw

// What mw gives a tracing dashboard. mw records through the OpenTelemetry
// API only, with the providers of WithTracerProvider and WithMeterProvider,
// which default to the global ones. Per invoke, a span mw.resolve, with
// the invoke's cache hits and misses (mw.cache.hits, mw.cache.misses, the
// items missed, served stale or absent, and mw.cold_start), and beside it
// mw.handler, the handler's own; per call to a source, a span mw.fetch,
// with the source (mw.source), the operation, the items, and an event
// mw.fetch.retry for each attempt that was tried again. Metrics count
// lookups by outcome (mw.cache.lookups), refreshes, fetch errors and
// retries, and time fetches. Attributes name items as declared (mw.item.*)
// and errors by class (error.type): never a value. TELEMETRY.md lists every
// name, with its type and unit; they change only with a major version.

// ScopeName is the instrumentation scope of mw's tracer and meter: its
// import path.
const ScopeName = "github.com/lambda-mw/mw"

// Version is the version of mw, reported with its instrumentation scope:
// a pre-release of the first release, v0.1.0, until that is tagged.
const Version = "0.1.0-dev"
