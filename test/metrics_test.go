package test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/lambda-mw/mw"
	"github.com/lambda-mw/mw/mwtest"
)

// The metrics tell the cold start, its retries, warm hits, a refresh, a
// stale serve and a failure apart, by item.
func TestMetricsCountLookupsFetchesRetriesAndErrors(t *testing.T) {
	w := newWorld(t, mwtest.Managed)
	w.ext.PutSecret("prod/db", "pw")
	w.ext.PutParameter("/app/flags", "String", "on")
	w.ext.NotReadyFor(2)
	h := mw.Wrap(echo, w.opts(mw.WithSecrets("prod/db"), mw.WithParameters("/app/flags"), mw.WithTTL(time.Minute))...)

	// Cold: two misses, two fetches, the startup 400s retried.
	if _, err := h(invokeCtx(t, 5*time.Second), nil); err != nil {
		t.Fatal(err)
	}
	w.wantCounts("cold", []countCase{
		{"mw.cache.lookups", []string{"mw.cache.outcome=miss"}, 2},
		{"mw.cache.lookups", []string{"mw.cache.outcome=miss", "mw.item.kind=secret", "mw.item.name=prod/db"}, 1},
		{"mw.cache.lookups", []string{"mw.cache.outcome=hit"}, 0},
		{"mw.fetch.duration", []string{"mw.fetch.reason=initial"}, 2},
		{"mw.fetch.retries", []string{"error.type=rejected"}, 2},
		{"mw.prefetch.duration", []string{"mw.cold_start=true"}, 1},
		{"mw.fetch.errors", nil, 0},
		{"mw.cache.refreshes", nil, 0},
	})

	// Warm: two hits, nothing fetched.
	if _, err := h(invokeCtx(t, 5*time.Second), nil); err != nil {
		t.Fatal(err)
	}
	if got := w.count("mw.cache.lookups", "mw.cache.outcome=hit"); got != 2 {
		t.Errorf("warm: %d hits; want 2", got)
	}
	if got := w.count("mw.fetch.duration"); got != 2 {
		t.Errorf("warm: %d fetches in all; want still 2", got)
	}

	// A forced refresh is a refresh.
	if _, err := h(invokeCtx(t, 5*time.Second), []string{"parameter:/app/flags"}); err != nil {
		t.Fatal(err)
	}
	hr := mw.Wrap(func(ctx context.Context, _ struct{}) (string, error) {
		return mw.RefreshParameter(ctx, "/app/flags")
	}, w.opts(mw.WithParameters("/app/flags"))...)
	if _, err := hr(invokeCtx(t, 5*time.Second), struct{}{}); err != nil {
		t.Fatal(err)
	}
	if got := w.count("mw.cache.refreshes", "mw.fetch.reason=forced", "mw.item.name=/app/flags"); got != 1 {
		t.Errorf("%d forced refreshes; want 1", got)
	}

	// Expired: the parameter refreshes; the secret's refresh fails and its
	// last good value is served stale. A TTL of 0 expires both items by
	// the next invoke; with no startup window, the fake's 400 for the
	// denied secret fails at once.
	w = newWorld(t, mwtest.Managed)
	w.ext.PutSecret("prod/db", "pw")
	w.ext.PutParameter("/app/flags", "String", "on")
	h = mw.Wrap(echo, w.opts(mw.WithSecrets("prod/db"), mw.WithParameters("/app/flags"),
		mw.WithTTL(0), mw.WithStartupWindow(0))...)
	if _, err := h(invokeCtx(t, 5*time.Second), nil); err != nil {
		t.Fatal(err)
	}
	w.ext.Deny("prod/db")
	if _, err := h(invokeCtx(t, 5*time.Second), nil); err != nil {
		t.Fatal(err)
	}
	w.wantCounts("expired", []countCase{
		{"mw.cache.lookups", []string{"mw.cache.outcome=stale", "mw.item.name=prod/db"}, 1},
		{"mw.cache.lookups", []string{"mw.cache.outcome=miss", "mw.item.name=/app/flags"}, 2},
		{"mw.cache.refreshes", []string{"mw.fetch.reason=expired"}, 2},
		{"mw.fetch.errors", []string{"error.type=rejected", "mw.item.kind=secret", "mw.item.name=prod/db"}, 1},
		{"mw.fetch.duration", []string{"error.type=rejected", "mw.fetch.reason=expired"}, 1},
		{"mw.prefetch.duration", []string{"mw.cold_start=false"}, 1},
	})
	// Within the retry wait, the next invoke serves it stale too.
	if _, err := h(invokeCtx(t, 5*time.Second), nil); err != nil {
		t.Fatal(err)
	}
	if got := w.count("mw.cache.lookups", "mw.cache.outcome=stale"); got != 2 {
		t.Errorf("%d stale lookups; want 2", got)
	}
}

// The metrics' names, kinds, units and bucket boundaries follow OTel's rules.
func TestMetricInstruments(t *testing.T) {
	w := newWorld(t, mwtest.Managed)
	w.ext.PutSecret("s", "v")
	w.ext.NotReadyFor(1)
	h := mw.Wrap(echo, w.opts(mw.WithSecrets("s", "missing"), mw.WithStartupWindow(100*time.Millisecond))...)
	_, _ = h(invokeCtx(t, 5*time.Second), nil)
	want := map[string]string{
		"mw.cache.lookups":     "counter {item}",
		"mw.fetch.errors":      "counter {error}",
		"mw.fetch.retries":     "counter {retry}",
		"mw.fetch.duration":    "histogram s",
		"mw.prefetch.duration": "histogram s",
	}
	for _, m := range w.metrics() {
		var got string
		switch d := m.Data.(type) {
		case metricdata.Sum[int64]:
			if !d.IsMonotonic || d.Temporality != metricdata.CumulativeTemporality {
				t.Errorf("%s is not a monotonic cumulative sum", m.Name)
			}
			got = "counter " + m.Unit
		case metricdata.Histogram[float64]:
			got = "histogram " + m.Unit
			for _, p := range d.DataPoints {
				if len(p.Bounds) == 0 || p.Bounds[0] != 0.001 || p.Bounds[len(p.Bounds)-1] != 10 {
					t.Errorf("%s bounds = %v; want 1 ms to 10 s", m.Name, p.Bounds)
				}
			}
		}
		if strings.HasSuffix(m.Name, "_total") || m.Description == "" {
			t.Errorf("%s: a _total suffix or no description", m.Name)
		}
		if w, ok := want[m.Name]; ok && got != w {
			t.Errorf("%s is a %s; want %s", m.Name, got, w)
		}
		delete(want, m.Name)
	}
	for name := range want {
		t.Errorf("no %s recorded", name)
	}
}

// A provider given to WithMeterProvider counts a miss, then hits, by item
// (the SDK half of the root's ExampleWithMeterProvider).
func TestWithMeterProviderCountsLookups(t *testing.T) {
	w := newWorld(t, mwtest.Managed)
	w.ext.PutSecret("prod/db", "pw")
	h := mw.Wrap(func(ctx context.Context, _ struct{}) (bool, error) { return true, nil },
		mw.WithSecrets("prod/db"), mw.WithEndpoint(w.srv.URL), mw.WithMeterProvider(w.mp))
	for range 3 {
		_, _ = h(context.Background(), struct{}{}) // a miss, then two hits
	}
	got := map[string]bool{}
	for _, m := range w.metrics() {
		if sum, ok := m.Data.(metricdata.Sum[int64]); ok && m.Name == "mw.cache.lookups" {
			for _, p := range sum.DataPoints {
				outcome, _ := p.Attributes.Value("mw.cache.outcome")
				name, _ := p.Attributes.Value("mw.item.name")
				got[fmt.Sprintf("%s %s %s %s=%d", m.Name, m.Unit, name.AsString(), outcome.AsString(), p.Value)] = true
			}
		}
	}
	want := []string{"mw.cache.lookups {item} prod/db miss=1", "mw.cache.lookups {item} prod/db hit=2"}
	if len(got) != len(want) || !got[want[0]] || !got[want[1]] {
		t.Errorf("recorded %v; want %q", got, want)
	}
}

// The default meter provider is the global one, even when an SDK is
// installed after Wrap. The global provider is process-wide, so this runs
// in a fresh process.
func TestDefaultMeterProviderIsTheGlobalOne(t *testing.T) {
	if !inFreshProcess(t, "MW_GLOBAL_MP_CHILD") {
		return
	}
	w := newWorld(t, mwtest.Managed)
	w.ext.PutSecret("s", "v")
	h := mw.Wrap(echo, mw.WithSecrets("s"), mw.WithEndpoint(w.srv.URL)) // the default: the global provider
	if _, err := h(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	otel.SetMeterProvider(w.mp)
	if _, err := h(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	if got := w.count("mw.cache.lookups", "mw.cache.outcome=hit", "mw.item.name=s"); got != 1 {
		t.Errorf("after installing an SDK, %d hits counted; want 1", got)
	}
}

// With the OTel SDK's provider, metrics are on: the SDK half of the root's
// TestMetricsOffWithANoopProvider, seen from the public API.
func TestMetricsOnWithTheSDK(t *testing.T) {
	w := newWorld(t, mwtest.Managed)
	w.ext.PutSecret("s", "v")
	h := mw.Wrap(echo, w.opts(mw.WithSecrets("s"))...)
	if _, err := h(invokeCtx(t, 5*time.Second), nil); err != nil {
		t.Fatal(err)
	}
	if got := w.count("mw.cache.lookups"); got != 1 {
		t.Errorf("%d lookups counted through the SDK; want 1", got)
	}
}

// A view that drops one of mw's instruments (mw.cache.lookups, the one with
// a data point per item per invoke, is the first a team drops for cost)
// drops that instrument only: fetch errors, durations, retries and
// refreshes are still recorded.
func TestDroppingTheLookupsCounterKeepsTheOtherMetrics(t *testing.T) {
	w := newWorld(t, mwtest.Agent)
	w.ext.PutSecret("ok", "v")
	reader := sdkmetric.NewManualReader()
	drop := sdkmetric.NewView(sdkmetric.Instrument{Name: "mw.cache.lookups"}, sdkmetric.Stream{Aggregation: sdkmetric.AggregationDrop{}})
	w.mp = sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader), sdkmetric.WithView(drop))
	w.reader = reader
	t.Cleanup(func() { _ = w.mp.Shutdown(context.Background()) })
	h := mw.Wrap(echo, w.opts(mw.WithSecretsManagerAgent(), mw.WithSecrets("ok"), mw.WithSecret("missing", mw.Optional()))...)
	if _, err := h(invokeCtx(t, 5*time.Second), nil); err != nil {
		t.Fatal(err)
	}
	w.wantCounts("lookups dropped", []countCase{
		{"mw.cache.lookups", nil, 0},
		{"mw.fetch.duration", nil, 2},
		{"mw.fetch.errors", []string{"mw.item.name=missing", "error.type=not_found"}, 1},
		{"mw.prefetch.duration", nil, 1},
	})
}
