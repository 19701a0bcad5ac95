package test

// The warm-invoke benchmarks of BENCHMARKS.md that need the OTel SDK: mw's
// warm invoke with a recording tracer (mw-recording) and with a metering
// meter (mw-metering), beside mw-noop, the same invoke with the default
// providers, as the baseline of the same run. The other benchmarks are in
// the library's module (../bench_test.go), with the same fixture: 5 items
// (secrets and parameters alternately), all cached, served by mwtest's fake
// extension over loopback HTTP.

import (
	"context"
	"fmt"
	"testing"
	"time"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/lambda-mw/mw"
	"github.com/lambda-mw/mw/mwtest"
)

// warmItems is how many items the warm benchmarks declare, all cached.
const warmItems = 5

type benchEvent struct{ ID int }

// sink keeps results alive so the compiler cannot drop the calls.
var sink string

// bare is the handler every benchmark wraps: it does nothing, so what is
// measured around it is the cost of the wrapping.
func bare(_ context.Context, ev benchEvent) (string, error) {
	if ev.ID < 0 {
		return "", fmt.Errorf("negative id %d", ev.ID)
	}
	return "ok", nil
}

func BenchmarkWarmInvoke(b *testing.B) {
	b.Run("mw-noop", func(b *testing.B) { benchWarm(b) })
	b.Run("mw-recording", func(b *testing.B) { benchWarm(b, mw.WithTracerProvider(recordingProvider(b))) })
	b.Run("mw-metering", func(b *testing.B) { benchWarm(b, mw.WithMeterProvider(meteringProvider(b))) })
}

// benchWarm wraps bare with warmItems items and opts, makes one invoke to
// fill the cache, then measures the next ones.
func benchWarm(b *testing.B, opts ...mw.Option) {
	ext, srv := mwtest.Start(b, mwtest.Managed)
	ext.SetToken("") // no token check: the benchmarks leave AWS_SESSION_TOKEN alone
	opts = append(opts, mw.WithEndpoint(srv.URL))
	for i := range warmItems {
		if i%2 == 0 {
			id := fmt.Sprintf("bench/secret-%02d", i)
			ext.PutSecret(id, "value-of-"+id)
			opts = append(opts, mw.WithSecrets(id))
		} else {
			name := fmt.Sprintf("/bench/param-%02d", i)
			ext.PutParameter(name, "SecureString", "value-of-"+name)
			opts = append(opts, mw.WithParameters(name))
		}
	}
	h := mw.Wrap(bare, opts...)
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	if _, err := h(ctx, benchEvent{}); err != nil {
		b.Fatal(err)
	}
	before := ext.Requests()
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		out, err := h(ctx, benchEvent{ID: i})
		if err != nil {
			b.Fatal(err)
		}
		sink = out
	}
	b.StopTimer()
	b.ReportMetric(float64(ext.Requests()-before)/float64(b.N), "requests/op")
}

// recordingProvider is the OTel SDK sampling every span, which is then
// dropped: the cost of recording spans, not of exporting them.
func recordingProvider(b *testing.B) *sdktrace.TracerProvider {
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithSampler(sdktrace.AlwaysSample()),
		sdktrace.WithSpanProcessor(discard{}),
	)
	b.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	return tp
}

// meteringProvider is the OTel metric SDK with a reader that is never
// collected: the cost of measuring, not of exporting.
func meteringProvider(b *testing.B) *sdkmetric.MeterProvider {
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
	b.Cleanup(func() { _ = mp.Shutdown(context.Background()) })
	return mp
}

// discard is a span processor that drops every span.
type discard struct{}

func (discard) OnStart(context.Context, sdktrace.ReadWriteSpan) {}
func (discard) OnEnd(sdktrace.ReadOnlySpan)                     {}
func (discard) Shutdown(context.Context) error                  { return nil }
func (discard) ForceFlush(context.Context) error                { return nil }
