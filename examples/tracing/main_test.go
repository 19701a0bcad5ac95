package main

import (
	"context"
	"net/url"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambdacontext"
	"go.opentelemetry.io/contrib/instrumentation/github.com/aws/aws-lambda-go/otellambda"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/lambda-mw/mw/mwtest"
)

// The composition of main, with in-memory exporters: mw's spans are
// children of otellambda's invocation span, and each invoke ends with a
// flush of both providers.
func TestComposition(t *testing.T) {
	ext, srv := mwtest.Start(t, mwtest.Managed)
	ext.PutParameter("/app/greeting", "String", "hello")
	ext.PutSecret("prod/db", "pw")
	u, _ := url.Parse(srv.URL)
	t.Setenv("PARAMETERS_SECRETS_EXTENSION_HTTP_PORT", u.Port())
	t.Setenv("AWS_SESSION_TOKEN", "t")
	t.Setenv("AWS_LAMBDA_FUNCTION_NAME", "greeter")
	ext.SetToken("t")

	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	flushes := 0
	h := newHandler(tp, mp, otellambda.WithFlusher(countFlush{flushers{tp, mp}, &flushes}))

	for i := range 2 {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		ctx = lambdacontext.NewContext(ctx, &lambdacontext.LambdaContext{AwsRequestID: "r", InvokedFunctionArn: "arn:aws:lambda:eu-west-1:123456789012:function:greeter"})
		out, err := h.Invoke(ctx, []byte(`{"name":"ana"}`))
		cancel()
		if err != nil || string(out) != `{"greeting":"hello, ana"}` {
			t.Fatalf("invoke %d: %s, %v", i, out, err)
		}
		if flushes != i+1 {
			t.Fatalf("%d flushes after %d invokes", flushes, i+1)
		}
	}
	parents := map[string]string{}
	names := map[[8]byte]string{}
	for _, s := range rec.Ended() {
		names[s.SpanContext().SpanID()] = s.Name()
	}
	for _, s := range rec.Ended() {
		parents[s.Name()] = names[s.Parent().SpanID()]
	}
	for child, parent := range map[string]string{"mw.resolve": "greeter", "mw.handler": "greeter", "mw.fetch": "mw.resolve"} {
		if parents[child] != parent {
			t.Errorf("%s is a child of %q; want %q", child, parents[child], parent)
		}
	}
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil || len(rm.ScopeMetrics) == 0 {
		t.Errorf("no metrics: %v", err)
	}
}

type countFlush struct {
	flushers
	n *int
}

func (c countFlush) ForceFlush(ctx context.Context) error {
	*c.n++
	return c.flushers.ForceFlush(ctx)
}
