package telemetry

import (
	"context"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/metric"
)

// An instrument is one of mw's metric instruments.
type instrument int

// The instruments. A new one is a constant here, a row of specs, and the
// call that records it.
const (
	lookups instrument = iota
	refreshes
	fetchErrors
	retries
	fetchDuration
	prefetchDuration
	nInstruments
)

// spec describes an instrument: its name (a contract with dashboards,
// which TELEMETRY.md documents; change none without a major version), and
// whether it is a counter of int64 or a histogram of seconds.
type spec struct {
	name, unit, description string
	histogram               bool
}

var specs = [nInstruments]spec{
	lookups: {"mw.cache.lookups", "{item}",
		"Declared items an invoke needed, by how the cache had them: hit, miss, stale or absent.", false},
	refreshes: {"mw.cache.refreshes", "{item}",
		"Fetches of an item that had a value before: expired, ahead of expiry, or forced.", false},
	fetchErrors: {"mw.fetch.errors", "{error}",
		"Fetches that failed after their retries, by error class.", false},
	retries: {"mw.fetch.retries", "{retry}",
		"Failed attempts to fetch an item that were tried again, by error class.", false},
	fetchDuration: {"mw.fetch.duration", "s",
		"Time to fetch one item, retries included.", true},
	prefetchDuration: {"mw.prefetch.duration", "s",
		"Time an invoke spent fetching before its handler ran, for invokes that fetched.", true},
}

// instruments are mw's metric instruments, from one meter.
type instruments struct {
	counters   [nInstruments]metric.Int64Counter
	histograms [nInstruments]metric.Float64Histogram
}

// newInstruments makes the instruments, or returns nil when the meter
// provides none of them.
func newInstruments(meter metric.Meter) *instruments {
	m := &instruments{}
	for i, s := range specs {
		var err error
		if s.histogram {
			m.histograms[i], err = meter.Float64Histogram(s.name, metric.WithUnit(s.unit), metric.WithDescription(s.description),
				metric.WithExplicitBucketBoundaries(durationBounds...))
		} else {
			m.counters[i], err = meter.Int64Counter(s.name, metric.WithUnit(s.unit), metric.WithDescription(s.description))
		}
		if err != nil {
			otel.Handle(err)
		}
		if m.counters[i] == nil && m.histograms[i] == nil {
			return nil
		}
	}
	return m
}

// enabled reports whether a measurement made now with instrument i could
// be recorded: each instrument answers for itself, since a view may drop
// one of mw's instruments and keep the others.
func (m *instruments) enabled(ctx context.Context, i instrument) bool {
	if m == nil {
		return false
	}
	if specs[i].histogram {
		return m.histograms[i].Enabled(ctx)
	}
	return m.counters[i].Enabled(ctx)
}

// add adds n to counter i.
func (m *instruments) add(ctx context.Context, i instrument, n int64, opts ...metric.AddOption) {
	m.counters[i].Add(ctx, n, opts...)
}

// record records v in histogram i.
func (m *instruments) record(ctx context.Context, i instrument, v float64, opts ...metric.RecordOption) {
	m.histograms[i].Record(ctx, v, opts...)
}
