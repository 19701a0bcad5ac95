package mw_test

import (
	"context"
	"fmt"
	"net/http/httptest"

	metricnoop "go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"

	"github.com/lambda-mw/mw"
	"github.com/lambda-mw/mw/mwtest"
)

// tp is any trace.TracerProvider: in main, the OTel SDK's, with otellambda
// around mw (examples/tracing sets both up). mw's spans are under the
// instrumentation scope ScopeName, at Version. noop's provider records
// nothing, and the handler still runs in the trace of the invoke, such as
// the one otellambda starts.
func ExampleWithTracerProvider() {
	ext := mwtest.New(mwtest.Managed)
	ext.PutSecret("prod/db", "hunter2")
	srv := httptest.NewServer(ext)
	defer srv.Close()

	h := mw.Wrap(func(ctx context.Context, _ struct{}) (string, error) {
		return trace.SpanContextFromContext(ctx).TraceID().String(), nil
	}, append(ext.Options(srv.URL), mw.WithSecrets("prod/db"), mw.WithTracerProvider(tracenoop.NewTracerProvider()))...)

	traceID, _ := trace.TraceIDFromHex("4bf92f3577b34da6a3ce929d0e0e4736")
	spanID, _ := trace.SpanIDFromHex("00f067aa0ba902b7")
	invoke := trace.ContextWithSpanContext(context.Background(), trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: traceID, SpanID: spanID, TraceFlags: trace.FlagsSampled,
	}))
	fmt.Println(h(invoke, struct{}{}))
	fmt.Println("mw's spans and metrics are under the scope", mw.ScopeName)
	// Output:
	// 4bf92f3577b34da6a3ce929d0e0e4736 <nil>
	// mw's spans and metrics are under the scope github.com/lambda-mw/mw
}

// mp is any metric.MeterProvider: in main, the OTel SDK's, with a reader
// or an exporter; TELEMETRY.md lists what mw records, under the
// instrumentation scope ScopeName. noop's provider turns mw's metrics off.
func ExampleWithMeterProvider() {
	ext := mwtest.New(mwtest.Managed)
	ext.PutSecret("prod/db", "hunter2")
	srv := httptest.NewServer(ext)
	defer srv.Close()

	h := mw.Wrap(func(ctx context.Context, _ struct{}) (bool, error) { return true, nil },
		append(ext.Options(srv.URL), mw.WithSecrets("prod/db"), mw.WithMeterProvider(metricnoop.NewMeterProvider()))...)
	for range 3 {
		_, _ = h(context.Background(), struct{}{}) // a miss, then two hits
	}
	fmt.Println("requests to the extension:", ext.Requests())
	// Output: requests to the extension: 1
}
