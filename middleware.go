package mw

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/lambda-mw/mw/internal/resolved"
	"github.com/lambda-mw/mw/internal/telemetry"
)

// Wrap returns a handler that runs h with every declared parameter and
// secret already fetched, for use with lambda.Start.
//
// Wrap itself does no I/O: the extension serves only during invokes, so
// fetching starts with the first invoke. That invoke fetches every declared
// item concurrently, through the AWS Parameters and Secrets Lambda Extension
// or the source given by WithSource, retrying while the extension starts,
// and never past the invoke's deadline. Later invokes read the values from
// memory until their TTL passes; an invoke that starts after that
// refreshes the expired items first.
//
// If a declared item cannot be fetched, and it is neither optional nor has
// a last good value within WithMaxStale, h does not run and the invoke
// returns a *PrefetchError naming each failed item and its likely fix.
// Nothing is cached from a failure: the next invoke tries again.
//
// Inside h, read the values with Secret and Parameter, the typed accessors
// such as SecretJSON, or the handles WithSecret and WithParameter return,
// passing h's ctx. The returned handler is safe for concurrent invokes, as
// Lambda Managed Instances make them; each call of Wrap has a cache of its
// own.
//
// Items come from opts and from the environment (MW_SECRETS,
// MW_PARAMETERS; see the package documentation), merged. Wrap panics with
// a *DeclarationError on a mistake in code: a nil handler, an empty name, one alias or name
// declared for two different items, one item declared with different
// options, a name that is the ARN of another kind of item, an item no
// source can serve, a malformed WithEndpoint, or a duration option given a
// negative duration or one below a millisecond. Any test that builds the
// handler finds it. A mistake in the environment is an operator's: every
// invoke returns a *DeclarationError quoting the bad entry, and the
// handler does not run.
//
// Wrap takes the handler shape func(context.Context, In) (Out, error); for
// the other shapes lambda.Start accepts, use WrapEvent, WrapResult and
// WrapFunc, and WrapHandler for a lambda.Handler.
func Wrap[In, Out any](h func(context.Context, In) (Out, error), opts ...Option) func(context.Context, In) (Out, error) {
	w := newWrapper(checkHandler(h == nil, "Wrap", opts))
	return func(ctx context.Context, in In) (Out, error) {
		return invoke(w, ctx, func(ctx context.Context) (Out, error) { return h(ctx, in) })
	}
}

// WrapEvent is Wrap for a handler that consumes an event and returns only
// an error, the usual shape for SQS, SNS, S3 and EventBridge:
//
//	func handler(ctx context.Context, e events.S3Event) error
func WrapEvent[In any](h func(context.Context, In) error, opts ...Option) func(context.Context, In) error {
	w := newWrapper(checkHandler(h == nil, "WrapEvent", opts))
	return func(ctx context.Context, in In) error {
		_, err := invoke(w, ctx, func(ctx context.Context) (struct{}, error) { return struct{}{}, h(ctx, in) })
		return err
	}
}

// WrapResult is Wrap for a handler that takes no event and returns a
// result.
func WrapResult[Out any](h func(context.Context) (Out, error), opts ...Option) func(context.Context) (Out, error) {
	w := newWrapper(checkHandler(h == nil, "WrapResult", opts))
	return func(ctx context.Context) (Out, error) { return invoke(w, ctx, h) }
}

// WrapFunc is Wrap for a handler that takes no event and returns only an
// error, such as a scheduled job.
func WrapFunc(h func(context.Context) error, opts ...Option) func(context.Context) error {
	w := newWrapper(checkHandler(h == nil, "WrapFunc", opts))
	return func(ctx context.Context) error {
		_, err := invoke(w, ctx, func(ctx context.Context) (struct{}, error) { return struct{}{}, h(ctx) })
		return err
	}
}

// WrapHandler is Wrap at the bytes level: it returns a lambda.Handler that
// invokes h with every declared item already fetched, as Wrap does for a
// typed handler. It composes with other lambda.Handler middleware, such as
// otellambda from opentelemetry-go-contrib, which should be outermost so
// that mw's spans are children of its invocation span and are flushed at
// the end of each invoke:
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
	return &wrappedHandler{w: newWrapper(checkHandler(h == nil, "WrapHandler", opts)), h: h}
}

// checkHandler panics on a nil handler, a mistake in code like the others
// Wrap panics on.
func checkHandler(isNil bool, wrap string, opts []Option) []Option {
	if isNil {
		panic(&DeclarationError{msg: wrap + " was given a nil handler"})
	}
	return opts
}

type wrappedHandler struct {
	w *wrapper
	h lambda.Handler
}

var _ lambda.Handler = (*wrappedHandler)(nil)

// Invoke resolves the declared items, then invokes the wrapped handler.
func (x *wrappedHandler) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	return invoke(x.w, ctx, func(ctx context.Context) ([]byte, error) { return x.h.Invoke(ctx, payload) })
}

// errNilContext is what a wrapped handler returns when invoked with a nil
// context, which aws-lambda-go never passes.
var errNilContext = errors.New("mw: the wrapped handler was invoked with a nil context")

// invoke is one invoke of a handler made by Wrap or its kin: it makes the
// values ready, then runs h with them in its context, in the mw.handler
// span when spans can be recorded.
func invoke[Out any](w *wrapper, ctx context.Context, h func(context.Context) (Out, error)) (Out, error) {
	var zero Out
	if ctx == nil {
		return zero, errNilContext
	}
	bg, tracing, err := w.resolve(ctx)
	if bg != nil {
		// Refreshes ahead of expiry end within this invoke, before Lambda
		// may freeze the process.
		defer bg.wait()
	}
	if err != nil {
		return zero, err
	}
	ctx = resolved.NewContext(ctx, w.cache.Holder())
	if !tracing {
		return h(ctx)
	}
	return telemetry.Handle(ctx, w.tel, h, errorType)
}

// errorType is the error.type of an error a handler returned: mw's class
// when it wraps a *FetchError, else its Go type.
func errorType(err error) string {
	if fe, ok := errors.AsType[*FetchError](err); ok {
		return string(fe.Class)
	}
	return fmt.Sprintf("%T", err)
}
