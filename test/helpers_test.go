package test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/lambda-mw/mw"
	"github.com/lambda-mw/mw/mwtest"
)

const testToken = "session-token-for-tests"

// canary is a secret's value that must never show in telemetry.
const canary = "CANARY-7f3a9c-do-not-print"

var dialects = []mwtest.Dialect{mwtest.Managed, mwtest.Agent}

// world is one fake extension, served over real HTTP, with a span recorder
// and a metric reader.
type world struct {
	t      *testing.T
	ext    *mwtest.Extension
	srv    *httptest.Server
	rec    *tracetest.SpanRecorder
	tp     *sdktrace.TracerProvider
	reader *sdkmetric.ManualReader
	mp     *sdkmetric.MeterProvider
}

func newWorld(t *testing.T, d mwtest.Dialect) *world {
	t.Helper()
	t.Setenv("AWS_SESSION_TOKEN", testToken)
	ext := mwtest.New(d)
	ext.SetToken(testToken)
	return serveWorld(t, ext, ext)
}

// serveWorld serves h, which ends in ext, perhaps through a test wrapper.
func serveWorld(t *testing.T, ext *mwtest.Extension, h http.Handler) *world {
	srv := httptest.NewServer(h)
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	t.Cleanup(func() {
		ext.Close() // release hung requests first
		srv.Close()
		_ = tp.Shutdown(context.Background())
		_ = mp.Shutdown(context.Background())
	})
	return &world{t: t, ext: ext, srv: srv, rec: rec, tp: tp, reader: reader, mp: mp}
}

// opts returns the options that point a Wrap at this world.
func (w *world) opts(more ...mw.Option) []mw.Option {
	return append([]mw.Option{mw.WithEndpoint(w.srv.URL), mw.WithTracerProvider(w.tp), mw.WithMeterProvider(w.mp)}, more...)
}

// metrics collects mw's metrics so far (cumulative).
func (w *world) metrics() []metricdata.Metrics {
	w.t.Helper()
	var rm metricdata.ResourceMetrics
	if err := w.reader.Collect(context.Background(), &rm); err != nil {
		w.t.Fatal(err)
	}
	for _, sm := range rm.ScopeMetrics {
		if sm.Scope.Name == mw.ScopeName {
			return sm.Metrics
		}
	}
	return nil
}

// count sums the data points of mw's metric name whose attributes include
// every key=value of match ("mw.cache.outcome=hit"): a counter's sum, a
// histogram's count.
func (w *world) count(name string, match ...string) int64 {
	w.t.Helper()
	var n int64
	for _, m := range w.metrics() {
		if m.Name != name {
			continue
		}
		has := func(set attribute.Set) bool {
			for _, kv := range match {
				k, v, _ := strings.Cut(kv, "=")
				got, ok := set.Value(attribute.Key(k))
				if !ok || got.String() != v {
					return false
				}
			}
			return true
		}
		switch d := m.Data.(type) {
		case metricdata.Sum[int64]:
			for _, p := range d.DataPoints {
				if has(p.Attributes) {
					n += p.Value
				}
			}
		case metricdata.Histogram[float64]:
			for _, p := range d.DataPoints {
				if has(p.Attributes) {
					n += int64(p.Count)
				}
			}
		default:
			w.t.Fatalf("metric %s is a %T", name, m.Data)
		}
	}
	return n
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

// spans returns the ended spans with the given name.
func (w *world) spans(name string) []sdktrace.ReadOnlySpan {
	var out []sdktrace.ReadOnlySpan
	for _, s := range w.rec.Ended() {
		if s.Name() == name {
			out = append(out, s)
		}
	}
	return out
}

// attr returns the value of s's attribute key, or the zero Value.
func attr(s sdktrace.ReadOnlySpan, key string) attribute.Value {
	for _, kv := range s.Attributes() {
		if string(kv.Key) == key {
			return kv.Value
		}
	}
	return attribute.Value{}
}

// dataPointAttributes returns the attribute sets of every data point of m.
func dataPointAttributes(m metricdata.Metrics) []attribute.Set {
	var sets []attribute.Set
	switch d := m.Data.(type) {
	case metricdata.Sum[int64]:
		for _, p := range d.DataPoints {
			sets = append(sets, p.Attributes)
		}
	case metricdata.Histogram[float64]:
		for _, p := range d.DataPoints {
			sets = append(sets, p.Attributes)
		}
	}
	return sets
}

// echo is a handler that returns the values it was asked for, by key
// "secret:<id>" or "parameter:<name>".
func echo(ctx context.Context, keys []string) (map[string]string, error) {
	out := map[string]string{}
	for _, k := range keys {
		var v string
		var err error
		if name, ok := strings.CutPrefix(k, "secret:"); ok {
			v, err = mw.Secret(ctx, name)
		} else if name, ok := strings.CutPrefix(k, "parameter:"); ok {
			v, err = mw.Parameter(ctx, name)
		}
		if err != nil {
			return nil, err
		}
		out[k] = v
	}
	return out, nil
}

// invokeCtx is a context like an invoke's: with a deadline.
func invokeCtx(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// inFreshProcess runs the calling test again in a child process, with env
// set, and reports whether this is that child. The parent fails unless the
// child passes. For tests of process-wide state, such as OTel's globals.
func inFreshProcess(t *testing.T, env string) bool {
	t.Helper()
	if os.Getenv(env) == "1" {
		return true
	}
	cmd := exec.Command(os.Args[0], "-test.run=^"+t.Name()+"$", "-test.v")
	cmd.Env = append(os.Environ(), env+"=1")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS") {
		t.Fatalf("child: %v\n%s", err, out)
	}
	return false
}
