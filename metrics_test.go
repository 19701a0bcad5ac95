package mw

import (
	"context"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/metric/noop"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/lambda-mw/mw/mwtest"
)

// The metrics tell the cold start, its retries, warm hits, a refresh, a
// stale serve and a failure apart, by item.
func TestMetricsCountLookupsFetchesRetriesAndErrors(t *testing.T) {
	w := newWorld(t, mwtest.Managed)
	w.ext.PutSecret("prod/db", "pw")
	w.ext.PutParameter("/app/flags", "String", "on")
	w.ext.NotReadyFor(2)
	clk := newClock()
	h := Wrap(echo, w.opts(WithSecrets("prod/db"), WithParameters("/app/flags"), WithTTL(time.Minute), withClock(clk))...)

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

	// Expired: the parameter refreshes; the secret's refresh fails and its
	// last good value is served stale.
	clk.Advance(2 * time.Minute)
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
	// Within the retry wait, a warm invoke serves it stale too.
	if _, err := h(invokeCtx(t, 5*time.Second), nil); err != nil {
		t.Fatal(err)
	}
	if got := w.count("mw.cache.lookups", "mw.cache.outcome=stale"); got != 2 {
		t.Errorf("%d stale lookups; want 2", got)
	}

	// A forced refresh is a refresh.
	if _, err := h(invokeCtx(t, 5*time.Second), []string{"parameter:/app/flags"}); err != nil {
		t.Fatal(err)
	}
	hr := Wrap(func(ctx context.Context, _ struct{}) (string, error) {
		return RefreshParameter(ctx, "/app/flags")
	}, w.opts(WithParameters("/app/flags"))...)
	if _, err := hr(invokeCtx(t, 5*time.Second), struct{}{}); err != nil {
		t.Fatal(err)
	}
	if got := w.count("mw.cache.refreshes", "mw.fetch.reason=forced", "mw.item.name=/app/flags"); got != 1 {
		t.Errorf("%d forced refreshes; want 1", got)
	}
}

// The metrics' names, kinds, units and bucket boundaries follow OTel's rules.
func TestMetricInstruments(t *testing.T) {
	w := newWorld(t, mwtest.Managed)
	w.ext.PutSecret("s", "v")
	w.ext.NotReadyFor(1)
	h := Wrap(echo, w.opts(WithSecrets("s", "missing"), WithStartupWindow(100*time.Millisecond))...)
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

// The default meter provider is the global one, even when an SDK is
// installed after Wrap. The global provider is process-wide, so this runs
// in a fresh process.
func TestDefaultMeterProviderIsTheGlobalOne(t *testing.T) {
	if !inFreshProcess(t, "MW_GLOBAL_MP_CHILD") {
		return
	}
	w := newWorld(t, mwtest.Managed)
	w.ext.PutSecret("s", "v")
	h := Wrap(echo, WithSecrets("s"), WithEndpoint(w.srv.URL)) // the default: the global provider
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

func TestMetricsOffWithANoopProvider(t *testing.T) {
	for _, c := range []struct {
		name string
		mp   metric.MeterProvider
		want bool
	}{
		{"noop", noop.NewMeterProvider(), false},
		{"*noop", new(noop.NewMeterProvider()), false},
		{"SDK", sdkmetric.NewMeterProvider(), true},
	} {
		if got := newMetrics(c.mp, []item{{name: "x"}}).enabled(); got != c.want {
			t.Errorf("%s: enabled = %v; want %v", c.name, got, c.want)
		}
	}
	// A nil provider is the default, the global one.
	w := newWorld(t, mwtest.Managed)
	w.ext.PutSecret("s", "v")
	h := Wrap(echo, WithSecrets("s"), WithEndpoint(w.srv.URL), WithMeterProvider(nil))
	if _, err := h(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
}

// countCase is one expected total of a metric's data points that carry
// every attribute in match ("key=value").
type countCase struct {
	name  string
	match []string
	want  int64
}

// wantCounts checks the metrics against cases, at stage of a test.
func (w *world) wantCounts(stage string, cases []countCase) {
	w.t.Helper()
	for _, c := range cases {
		if got := w.count(c.name, c.match...); got != c.want {
			w.t.Errorf("%s: %s%v = %d; want %d", stage, c.name, c.match, got, c.want)
		}
	}
}
