package telemetry

import (
	"context"
	"fmt"

	"go.opentelemetry.io/otel/codes"
)

// Handle runs h in the mw.handler span, a sibling of mw.resolve, so that
// the handler's own spans nest under it and its failure is on record:
// otellambda does not set an error status. The span's status never holds
// the error's message, which may quote a value: only its type, as
// errorType names it. A panic goes on unrecovered, to the runtime that
// reports it.
func Handle[Out any](ctx context.Context, r *Recorder, h func(context.Context) (Out, error), errorType func(error) string) (out Out, err error) {
	ctx, span := r.tracer.Start(ctx, SpanHandler)
	returned := false
	defer func() {
		if span.IsRecording() {
			switch {
			case !returned:
				span.SetAttributes(AttrErrorType.String("panic"))
				span.SetStatus(codes.Error, "handler panicked")
			case err != nil:
				span.SetAttributes(AttrErrorType.String(errorType(err)))
				span.SetStatus(codes.Error, fmt.Sprintf("handler returned an error of type %T", err))
			}
		}
		span.End()
	}()
	out, err = h(ctx)
	returned = true
	return out, err
}
