// Command tracing is a Lambda function with the full OpenTelemetry setup
// around mw: an OTLP/HTTP exporter for traces and metrics, a resource from
// the Lambda resource detector, otellambda outermost making the invocation
// span and flushing at the end of each invoke, and mw inside it, so that
// mw.resolve, mw.fetch and mw.handler are children of the invocation span.
//
// The exporters read the standard environment: OTEL_EXPORTER_OTLP_ENDPOINT
// (for example http://localhost:4318, an OpenTelemetry Collector layer),
// OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES. Build it as a bootstrap:
//
//	GOOS=linux GOARCH=arm64 CGO_ENABLED=0 go build -tags lambda.norpc -o bootstrap ./examples/tracing
package main

import (
	"context"
	"errors"
	"log"

	"github.com/aws/aws-lambda-go/lambda"
	lambdadetector "go.opentelemetry.io/contrib/detectors/aws/lambda"
	"go.opentelemetry.io/contrib/instrumentation/github.com/aws/aws-lambda-go/otellambda"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetrichttp"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/lambda-mw/mw"
)

// Event and Response are the function's input and output.
type Event struct {
	Name string `json:"name"`
}

type Response struct {
	Greeting string `json:"greeting"`
}

// handler reads the values mw fetched before it ran. Its own spans, started
// from ctx, nest under mw.handler.
func handler(ctx context.Context, e Event) (Response, error) {
	greeting, err := mw.Parameter(ctx, "/app/greeting")
	if err != nil {
		return Response{}, err
	}
	if _, err := mw.Secret(ctx, "prod/db"); err != nil {
		return Response{}, err
	}
	return Response{Greeting: greeting + ", " + e.Name}, nil
}

func main() {
	ctx := context.Background()
	tp, mp, err := setup(ctx)
	if err != nil {
		log.Fatal(err)
	}
	lambda.Start(newHandler(tp, mp, otellambda.WithFlusher(flushers{tp, mp})))
}

// setup makes the tracer and meter providers, exporting over OTLP/HTTP,
// with the function described by the Lambda resource detector. Both are
// also installed as the global providers, for other libraries.
func setup(ctx context.Context) (*sdktrace.TracerProvider, *sdkmetric.MeterProvider, error) {
	res, err := resource.New(ctx,
		resource.WithDetectors(lambdadetector.NewResourceDetector()),
		resource.WithFromEnv(), // OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES
		resource.WithTelemetrySDK())
	if err != nil {
		return nil, nil, err
	}
	spans, err := otlptracehttp.New(ctx)
	if err != nil {
		return nil, nil, err
	}
	metrics, err := otlpmetrichttp.New(ctx)
	if err != nil {
		return nil, nil, err
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(spans), sdktrace.WithResource(res))
	// The periodic reader's interval hardly matters: the flusher exports
	// at the end of every invoke, before Lambda may freeze the process.
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewPeriodicReader(metrics)), sdkmetric.WithResource(res))
	otel.SetTracerProvider(tp)
	otel.SetMeterProvider(mp)
	return tp, mp, nil
}

// newHandler composes the function: otellambda outermost, then mw, then the
// handler. lambda.NewHandler turns the typed handler into a lambda.Handler
// (give lambda.NewHandlerWithOptions any JSON options: lambda.Start ignores
// options for it).
func newHandler(tp *sdktrace.TracerProvider, mp *sdkmetric.MeterProvider, more ...otellambda.Option) lambda.Handler {
	inner := mw.WrapHandler(lambda.NewHandler(handler),
		mw.WithParameters("/app/greeting"),
		mw.WithSecrets("prod/db"),
		mw.WithTracerProvider(tp),
		mw.WithMeterProvider(mp))
	return otellambda.WrapHandler(inner, append([]otellambda.Option{otellambda.WithTracerProvider(tp)}, more...)...)
}

// flushers flushes traces and metrics at the end of each invoke, for
// otellambda.WithFlusher.
type flushers []interface{ ForceFlush(context.Context) error }

func (fs flushers) ForceFlush(ctx context.Context) error {
	var errs []error
	for _, f := range fs {
		errs = append(errs, f.ForceFlush(ctx))
	}
	return errors.Join(errs...)
}
