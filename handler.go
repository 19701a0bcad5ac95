package mw

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-lambda-go/lambda"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/lambda-mw/mw/internal/resolved"
)

// WrapHandler is Wrap at the bytes level: it returns a lambda.Handler that
// invokes h with every declared parameter and secret already fetched, as
// Wrap does for a typed handler. It composes with other lambda.Handler
// middleware, such as otellambda from opentelemetry-go-contrib, which
// should be outermost so that mw's spans are children of its invocation
// span and are flushed at the end of each invoke:
//
//	h := lambda.NewHandler(handler) // handler options go here: NewHandlerWithOptions
//	lambda.Start(otellambda.WrapHandler(
//		mw.WrapHandler(h, mw.WithSecrets("prod/db"), mw.WithTracerProvider(tp)),
//		otellambda.WithTracerProvider(tp), otellambda.WithFlusher(tp)))
//
// Give lambda.NewHandlerWithOptions the options that shape h's JSON:
// lambda.StartWithOptions drops its options when given the handler that
// lambda.NewHandler returns, though not when given the one WrapHandler
// returns.
func WrapHandler(h lambda.Handler, opts ...Option) lambda.Handler {
	if h == nil {
		return nilHandler{}
	}
	return &wrappedHandler{w: newWrapper(opts), h: h}
}

type wrappedHandler struct {
	w *wrapper
	h lambda.Handler
}

// Invoke resolves the declared items, then invokes the wrapped handler.
func (x *wrappedHandler) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	return invoke(x.w, ctx, func(ctx context.Context) ([]byte, error) { return x.h.Invoke(ctx, payload) })
}

type nilHandler struct{}

func (nilHandler) Invoke(context.Context, []byte) ([]byte, error) {
	return nil, errors.New("mw: WrapHandler was given a nil handler")
}

// invoke is one invoke of a handler made by Wrap or WrapHandler: it makes
// the values ready, then runs h with them in its context, in the mw.handler
// span when spans can be recorded.
func invoke[Out any](w *wrapper, ctx context.Context, h func(context.Context) (Out, error)) (Out, error) {
	bg, err := w.resolve(ctx)
	if bg != nil {
		// Refreshes ahead of expiry end within this invoke, before
		// Lambda may freeze the process.
		defer bg.wait()
	}
	if err != nil {
		var zero Out
		return zero, err
	}
	ctx = resolved.NewContext(ctx, &w.cache.holder)
	if !w.tracing.enabled() {
		return h(ctx)
	}
	return traceHandler(ctx, w.tracing.tracer, h)
}

// traceHandler runs h in the mw.handler span, a sibling of mw.resolve, so
// that the handler's own spans nest under it and its failure is on record:
// otellambda does not set an error status.
func traceHandler[Out any](ctx context.Context, t trace.Tracer, h func(context.Context) (Out, error)) (out Out, err error) {
	ctx, span := t.Start(ctx, spanHandler)
	returned := false
	defer func() { endHandler(span, err, !returned) }()
	out, err = h(ctx)
	returned = true
	return out, err
}

// endHandler ends the mw.handler span. Its status never holds the error's
// message, which may quote a value: only the error's type or mw's class.
// A panic goes on unrecovered, to the runtime that reports it.
func endHandler(span trace.Span, err error, panicked bool) {
	if span.IsRecording() {
		switch {
		case panicked:
			span.SetAttributes(attrErrorType.String("panic"))
			span.SetStatus(codes.Error, "handler panicked")
		case err != nil:
			span.SetAttributes(attrErrorType.String(errorType(err)))
			span.SetStatus(codes.Error, fmt.Sprintf("handler returned an error of type %T", err))
		}
	}
	span.End()
}

// errorType is the error.type of an error a handler returned: mw's class
// when it wraps a *FetchError, else its Go type.
func errorType(err error) string {
	if fe, ok := errors.AsType[*FetchError](err); ok {
		return string(fe.Class)
	}
	return fmt.Sprintf("%T", err)
}
