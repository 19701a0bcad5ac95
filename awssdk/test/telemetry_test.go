package test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/lambda-mw/mw"
	"github.com/lambda-mw/mw/awssdk"
	"github.com/lambda-mw/mw/awssdk/internal/moto"
)

// canary is every value these tests store: no span, event, status, metric
// or error may say it.
const canary = "CANARY-5d1e-awssdk-value"

// world is moto behind its counting proxy, and mw's telemetry recorded by
// the OTel SDK.
type world struct {
	t      *testing.T
	b      *moto.Backend
	rec    *tracetest.SpanRecorder
	tp     *sdktrace.TracerProvider
	reader *sdkmetric.ManualReader
	mp     *sdkmetric.MeterProvider
}

func newWorld(t *testing.T) *world {
	t.Helper()
	w := &world{t: t, b: moto.NewBackend(t, server), rec: tracetest.NewSpanRecorder(), reader: sdkmetric.NewManualReader()}
	w.tp = sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(w.rec))
	w.mp = sdkmetric.NewMeterProvider(sdkmetric.WithReader(w.reader))
	t.Cleanup(func() {
		_ = w.tp.Shutdown(context.Background())
		_ = w.mp.Shutdown(context.Background())
	})
	return w
}

// wrap wraps h with the SDK source on w's moto, w's providers and opts.
func (w *world) wrap(h func(context.Context) error, opts ...mw.Option) func(context.Context) error {
	return mw.WrapFunc(h, append([]mw.Option{mw.WithSource(awssdk.New(w.b.Config())), mw.WithoutEnvironment(),
		mw.WithTracerProvider(w.tp), mw.WithMeterProvider(w.mp)}, opts...)...)
}

func invoke(h func(context.Context) error, d time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	return h(ctx)
}

// fetchSpans returns the mw.fetch spans ended so far, by operation.
func (w *world) fetchSpans() map[string][]sdktrace.ReadOnlySpan {
	out := map[string][]sdktrace.ReadOnlySpan{}
	for _, s := range w.rec.Ended() {
		if s.Name() == "mw.fetch" {
			op := attr(s, "mw.fetch.operation").AsString()
			out[op] = append(out[op], s)
		}
	}
	return out
}

// attr returns the value of s's attribute key, or the zero Value.
func attr(s sdktrace.ReadOnlySpan, key string) attribute.Value {
	return value(s.Attributes(), key)
}

func value(kvs []attribute.KeyValue, key string) attribute.Value {
	for _, kv := range kvs {
		if string(kv.Key) == key {
			return kv.Value
		}
	}
	return attribute.Value{}
}

// metrics collects mw's metrics so far.
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

// points returns the attributes and values of every data point of mw's
// metrics: a counter's sum, a histogram's count.
func (w *world) points() map[string][]point {
	out := map[string][]point{}
	for _, m := range w.metrics() {
		switch d := m.Data.(type) {
		case metricdata.Sum[int64]:
			for _, p := range d.DataPoints {
				out[m.Name] = append(out[m.Name], point{p.Attributes, p.Value})
			}
		case metricdata.Histogram[float64]:
			for _, p := range d.DataPoints {
				out[m.Name] = append(out[m.Name], point{p.Attributes, int64(p.Count)})
			}
		default:
			w.t.Fatalf("metric %s is a %T", m.Name, m.Data)
		}
	}
	return out
}

type point struct {
	attrs attribute.Set
	n     int64
}

// count sums the data points of metric name whose attributes include every
// key=value of match.
func (w *world) count(name string, match ...string) int64 {
	var n int64
	for _, p := range w.points()[name] {
		ok := true
		for _, kv := range match {
			k, v, _ := strings.Cut(kv, "=")
			got, has := p.attrs.Value(attribute.Key(k))
			ok = ok && has && got.String() == v
		}
		if ok {
			n += p.n
		}
	}
	return n
}

// noCanary searches every span (name, status, attributes, events), every
// metric data point's attributes, and errs for the canary, and returns how
// many strings it searched.
func (w *world) noCanary(errs ...error) int {
	w.t.Helper()
	n := 0
	check := func(where, s string) {
		w.t.Helper()
		n++
		if strings.Contains(s, canary) || strings.Contains(s, canary[:12]) {
			w.t.Errorf("%s says the value: %s", where, s)
		}
	}
	for _, s := range w.rec.Ended() {
		check("span name", s.Name())
		check("span status", s.Status().Description)
		for _, kv := range s.Attributes() {
			check("span attribute "+string(kv.Key), kv.Value.String())
		}
		for _, e := range s.Events() {
			check("event", e.Name)
			for _, kv := range e.Attributes {
				check("event attribute "+string(kv.Key), kv.Value.String())
			}
		}
	}
	for name, ps := range w.points() {
		for _, p := range ps {
			for _, kv := range p.attrs.ToSlice() {
				check("metric "+name+" attribute "+string(kv.Key), kv.Value.String())
			}
		}
	}
	for _, err := range errs {
		if err != nil {
			check("error", fmt.Sprintf("%v|%+v|%#v", err, err, err))
		}
	}
	return n
}

// TestFetchSpansOverTheSDKSource: one mw.fetch span per API call, naming
// the source, the operation and the items it carried; a throttled
// GetParameters retried by mw, one mw.fetch.retry event per retried
// attempt, and as many attempts on the spans as requests at the proxy.
func TestFetchSpansOverTheSDKSource(t *testing.T) {
	w := newWorld(t)
	var params []string
	for i := range 12 {
		name := fmt.Sprintf("/t/p%02d", i)
		w.b.PutParameter(name, "SecureString", canary)
		params = append(params, name)
	}
	for _, id := range []string{"t/s0", "t/s1", "t/s2"} {
		w.b.PutSecret(id, canary+"-old")
		w.b.PutSecret(id, canary)
	}
	for _, name := range []string{"/t/tree/a", "/t/tree/b/c", "/t/tree/d"} {
		w.b.PutParameter(name, "SecureString", canary)
	}
	// The first GetParameters call carries /t/p00 to /t/p09.
	w.b.Fail("GetParameters", "/t/p00", moto.Fault{Status: 400, Code: "ThrottlingException", Message: "Rate exceeded", Times: 2})

	var lookupErr error
	h := w.wrap(func(ctx context.Context) error {
		_, lookupErr = mw.Secret(ctx, "t/missing")
		v, err := mw.Secret(ctx, "t/s0")
		if err == nil && v != canary {
			err = errors.New("t/s0: wrong value")
		}
		return err
	},
		mw.WithParameters(params...),
		mw.WithSecrets("t/s0", "t/s1", "t/s2"),
		mw.WithSecret("t/missing", mw.Optional()),
		mw.WithSecret("t/s0", mw.VersionStage("AWSPREVIOUS"), mw.Alias("s0-previous")),
		mw.WithParametersByPath("/t/tree"),
	)
	if err := invoke(h, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if !errors.Is(lookupErr, mw.ErrNotFound) {
		t.Errorf("t/missing: %v, want ErrNotFound", lookupErr)
	}

	spans := w.fetchSpans()
	type want struct {
		batches []int64 // batch sizes of the op's spans, sorted
		status  int64   // the last HTTP status of each
	}
	for op, wt := range map[string]want{
		"GetParameters":       {[]int64{2, 10}, 200},
		"BatchGetSecretValue": {[]int64{4}, 200},
		"GetSecretValue":      {[]int64{1}, 200},
		"GetParametersByPath": {[]int64{1}, 200},
	} {
		var sizes []int64
		for _, s := range spans[op] {
			sizes = append(sizes, attr(s, "mw.fetch.batch_size").AsInt64())
			if got := attr(s, "mw.source").AsString(); got != "awssdk" {
				t.Errorf("%s: mw.source %q, want awssdk", op, got)
			}
			if got := attr(s, "http.response.status_code").AsInt64(); got != wt.status {
				t.Errorf("%s: http.response.status_code %d, want %d", op, got, wt.status)
			}
			if n := attr(s, "mw.fetch.batch_size").AsInt64(); n > 1 && int64(len(attr(s, "mw.fetch.items").AsStringSlice())) != n {
				t.Errorf("%s: mw.fetch.items %v, want %d items", op, attr(s, "mw.fetch.items").AsStringSlice(), n)
			}
		}
		slices.Sort(sizes)
		if !slices.Equal(sizes, wt.batches) {
			t.Errorf("%s: spans of batch sizes %v, want %v", op, sizes, wt.batches)
		}
	}
	if len(w.fetchSpans()) != 4 {
		t.Errorf("mw.fetch spans of operations %v, want 4 operations", len(w.fetchSpans()))
	}

	// The throttled call: three attempts, two retry events; the proxy saw
	// exactly the attempts the spans count.
	var sum int64
	for _, ss := range spans {
		for _, s := range ss {
			sum += attr(s, "mw.fetch.attempts").AsInt64()
			if attr(s, "mw.fetch.batch_size").AsInt64() != 10 {
				if n := attr(s, "mw.fetch.attempts").AsInt64(); n != 1 || len(s.Events()) != 0 {
					t.Errorf("%s: %d attempts, %d events; want 1, none", attr(s, "mw.fetch.operation").AsString(), n, len(s.Events()))
				}
				continue
			}
			if n := attr(s, "mw.fetch.attempts").AsInt64(); n != 3 || attr(s, "mw.fetch.retries").AsInt64() != 2 {
				t.Errorf("throttled call: %d attempts, %d retries; want 3, 2", n, attr(s, "mw.fetch.retries").AsInt64())
			}
			var attempts []int64
			for _, e := range s.Events() {
				if e.Name != "mw.fetch.retry" || value(e.Attributes, "error.type").AsString() != "throttled" ||
					value(e.Attributes, "http.response.status_code").AsInt64() != 400 ||
					len(value(e.Attributes, "mw.fetch.items").AsStringSlice()) != 10 {
					t.Errorf("event %s %v, want mw.fetch.retry, throttled, 400, for the 10 items", e.Name, e.Attributes)
				}
				attempts = append(attempts, value(e.Attributes, "mw.fetch.attempt").AsInt64())
			}
			if !slices.Equal(attempts, []int64{1, 2}) {
				t.Errorf("retry events for attempts %v, want [1 2]", attempts)
			}
		}
	}
	if got := w.b.Calls("GetParameters"); got != 4 {
		t.Errorf("the proxy saw %d GetParameters, want 4: two calls, one of them tried three times", got)
	}
	if got := w.b.Requests(); got != sum {
		t.Errorf("the proxy saw %d requests; the spans count %d attempts", got, sum)
	}

	// Metrics: every fetch is the SDK source's; ten items retried twice.
	for _, c := range []struct {
		name  string
		match []string
		want  int64
	}{
		{"mw.fetch.duration", []string{"mw.source=awssdk"}, 12 + 4 + 1 + 1},
		{"mw.fetch.retries", []string{"mw.source=awssdk", "error.type=throttled"}, 20},
		{"mw.fetch.errors", []string{"mw.source=awssdk", "error.type=not_found", "mw.item.name=t/missing"}, 1},
		{"mw.fetch.errors", nil, 1},
	} {
		if got := w.count(c.name, c.match...); got != c.want {
			t.Errorf("%s%v = %d, want %d", c.name, c.match, got, c.want)
		}
	}
	if n := w.noCanary(lookupErr); n < 100 {
		t.Errorf("searched %d strings for the canary: too few to mean anything", n)
	}
}

// TestFailuresOverTheSDKSource: per-item failures inside a successful
// answer, refusals of a whole call, a throttle until the deadline and a
// stale serve, in spans and metrics; and the canary in none of them.
func TestFailuresOverTheSDKSource(t *testing.T) {
	w := newWorld(t)
	for _, n := range []string{"/f/a", "/f/denied", "/f/stale"} {
		w.b.PutParameter(n, "SecureString", canary)
	}
	for _, id := range []string{"f/cmk", "f/denied", "f/s"} {
		w.b.PutSecret(id, canary)
	}
	w.b.Deny("/f/denied")
	w.b.Deny("f/denied")
	w.b.DenyDecrypt("f/cmk")

	// Every secret of the batch refused inside one HTTP 200 answer.
	errSecrets := invoke(w.wrap(func(context.Context) error { return nil },
		mw.WithSecrets("f/cmk", "f/denied", "f/missing")), 10*time.Second)
	var pe *mw.PrefetchError
	if !errors.As(errSecrets, &pe) || len(pe.Failed) != 3 {
		t.Fatalf("%v, want 3 failed secrets", errSecrets)
	}
	spans := w.fetchSpans()["BatchGetSecretValue"]
	if len(spans) != 1 {
		t.Fatalf("%d BatchGetSecretValue spans, want 1", len(spans))
	}
	s := spans[0]
	if s.Status().Code != codes.Error || !strings.Contains(s.Status().Description, "3 of 3 items failed") {
		t.Errorf("span status %v %q, want Error naming the 3 failed items", s.Status().Code, s.Status().Description)
	}
	if got := attr(s, "http.response.status_code").AsInt64(); got != 200 {
		t.Errorf("http.response.status_code = %d, want 200: the answer came, with the items refused inside it", got)
	}
	for _, c := range []string{"kms_decrypt", "access_denied", "not_found"} {
		if got := w.count("mw.fetch.errors", "mw.source=awssdk", "error.type="+c); got != 1 {
			t.Errorf("mw.fetch.errors{error.type=%s} = %d, want 1", c, got)
		}
	}

	// A whole GetParameters refused; a throttle until the deadline.
	w.b.Fail("GetParametersByPath", "", moto.Throttling())
	errParams := invoke(w.wrap(func(context.Context) error { return nil },
		mw.WithParameters("/f/a", "/f/denied"), mw.WithParametersByPath("/f")), 1500*time.Millisecond)
	if !errors.As(errParams, &pe) || len(pe.Failed) != 3 {
		t.Fatalf("%v, want 3 failed items", errParams)
	}
	if got, want := w.count("mw.fetch.retries", "error.type=throttled", "mw.item.kind=parameters_by_path"), w.b.Calls("GetParametersByPath")-1; got != want || got < 1 {
		t.Errorf("mw.fetch.retries of the path = %d; the proxy saw %d GetParametersByPath, so want %d", got, want+1, want)
	}

	// A stale serve: every refresh refused.
	w.b.Reset()
	stale := w.wrap(func(ctx context.Context) error {
		_, err := mw.Parameter(ctx, "/f/stale")
		return err
	}, mw.WithTTL(0), mw.WithParameters("/f/stale"))
	if err := invoke(stale, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	w.b.Fail("", "", moto.AccessDenied("ssm:GetParameters"))
	if err := invoke(stale, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if got := w.count("mw.cache.lookups", "mw.cache.outcome=stale", "mw.item.name=/f/stale"); got != 1 {
		t.Errorf("stale lookups = %d, want 1", got)
	}
	if n := w.noCanary(errSecrets, errParams); n < 100 {
		t.Errorf("searched %d strings for the canary: too few to mean anything", n)
	}
}

// TestRetryEventsNameItemsAsTheSpanDoes: in a batch, the mw.fetch.retry
// event lists the retried items as the span's mw.fetch.items lists them
// (kind:alias for an item declared with an alias), so that a retried item
// can be found among the call's.
func TestRetryEventsNameItemsAsTheSpanDoes(t *testing.T) {
	w := newWorld(t)
	w.b.PutParameter("/r/a", "String", "a1")
	w.b.PutParameter("/r/a", "String", "a2")
	w.b.PutParameter("/r/b", "String", "b")
	w.b.Fail("GetParameters", "", moto.Fault{Status: 400, Code: "ThrottlingException", Message: "Rate exceeded", Times: 1})
	h := w.wrap(func(context.Context) error { return nil },
		mw.WithParameter("/r/a", mw.ParameterVersion(1), mw.Alias("a-v1")),
		mw.WithParameters("/r/b"),
	)
	if err := invoke(h, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	spans := w.fetchSpans()["GetParameters"]
	if len(spans) != 1 || len(spans[0].Events()) != 1 {
		t.Fatalf("%d GetParameters spans, want 1 with one retry event", len(spans))
	}
	items := attr(spans[0], "mw.fetch.items").AsStringSlice()
	retried := value(spans[0].Events()[0].Attributes, "mw.fetch.items").AsStringSlice()
	slices.Sort(items)
	slices.Sort(retried)
	if !slices.Equal(items, retried) {
		t.Errorf("the span lists the items %q, its retry event %q", items, retried)
	}
}
