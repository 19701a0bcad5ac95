package mw

import (
	"context"
	"testing"

	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/metric/noop"

	"github.com/lambda-mw/mw/mwtest"
)

// apiProvider is a MeterProvider that is not noop's: an SDK, as far as mw
// can tell. (../test records metrics through the OTel SDK itself.)
type apiProvider struct{ noop.MeterProvider }

func TestMetricsOffWithANoopProvider(t *testing.T) {
	for _, c := range []struct {
		name string
		mp   metric.MeterProvider
		want bool
	}{
		{"noop", noop.NewMeterProvider(), false},
		{"*noop", new(noop.NewMeterProvider()), false},
		{"not noop", apiProvider{}, true},
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
