package telemetry

import (
	"context"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
)

// A Call is one call to a source, as its mw.fetch span names it.
type Call struct {
	Source string
	Op     string
	Items  []int // the items' positions
	Forced bool
}

// A Fetch records one call to a source, retries included: the mw.fetch
// span.
type Fetch struct {
	r    *Recorder
	span trace.Span
	keys []string // the items' keys, by position in the call, for a call of more than one
}

// StartFetch starts the span of a call. It names the items: by the item's
// own attributes for a call of one, else by their keys.
func (r *Recorder) StartFetch(ctx context.Context, c Call) (context.Context, Fetch) {
	var attrs []attribute.KeyValue
	var keys []string
	if len(c.Items) == 1 {
		attrs = r.labels[c.Items[0]].attributes()
	} else {
		keys = r.keys(c.Items)
		attrs = []attribute.KeyValue{AttrKind.String(r.labels[c.Items[0]].Kind), AttrBatchItems.StringSlice(keys)}
	}
	attrs = append(attrs, AttrSource.String(c.Source), AttrOperation.String(c.Op),
		AttrBatchSize.Int(len(c.Items)), AttrForced.Bool(c.Forced))
	ctx, span := r.tracer.Start(ctx, SpanFetch, trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(attrs...))
	return ctx, Fetch{r: r, span: span, keys: keys}
}

// Retry marks failed attempt n of the items at positions in the call
// (all of them, for a call of one), made at at, to be tried again after
// delay, with the class and HTTP status of the first.
func (f Fetch) Retry(n int, positions []int, class string, status int, delay time.Duration, at time.Time) {
	if !f.span.IsRecording() {
		return
	}
	attrs := []attribute.KeyValue{AttrAttempt.Int(n), AttrErrorType.String(class), AttrDelay.Int64(delay.Milliseconds())}
	if status != 0 {
		attrs = append(attrs, AttrStatusCode.Int(status))
	}
	if f.keys != nil {
		keys := make([]string, len(positions))
		for j, k := range positions {
			keys[j] = f.keys[k]
		}
		attrs = append(attrs, AttrBatchItems.StringSlice(keys))
	}
	f.span.AddEvent(EventRetry, trace.WithAttributes(attrs...), trace.WithTimestamp(at))
}

// A Failure is one item of a call that failed: its class, a one-line
// description of the item (its subject), and the message of its error,
// which names the item and its fix, never a value.
type Failure struct {
	Class, Subject, Message string
}

// End records how the call ended: its attempts, the last HTTP status, and
// the items, of all, that failed.
func (f Fetch) End(attempts, status, of int, failed []Failure) {
	if f.span.IsRecording() {
		f.span.SetAttributes(AttrAttempts.Int(attempts), AttrRetries.Int(max(attempts-1, 0)))
		if status != 0 {
			f.span.SetAttributes(AttrStatusCode.Int(status))
		}
		switch {
		case len(failed) == 1 && of == 1:
			f.span.SetAttributes(AttrErrorType.String(failed[0].Class))
			f.span.SetStatus(codes.Error, failed[0].Message)
		case len(failed) > 0:
			f.span.SetAttributes(AttrErrorType.String(failed[0].Class))
			f.span.SetStatus(codes.Error, batchFailure(failed, of))
		}
	}
	f.span.End()
}

// batchFailure describes the failed items of a call in one line.
func batchFailure(failed []Failure, of int) string {
	parts := make([]string, len(failed))
	for i, fe := range failed {
		parts[i] = fe.Subject + " " + fe.Class
	}
	return "mw: " + strconv.Itoa(len(failed)) + " of " + strconv.Itoa(of) + " items failed: " + strings.Join(parts, "; ")
}

// Retried counts a failed attempt of item i, from source, that will be
// tried again.
func (r *Recorder) Retried(ctx context.Context, i int, source, class string) {
	if r.meter.enabled(ctx, retries) {
		r.meter.add(ctx, retries, 1, metric.WithAttributes(r.labels[i].attributes(AttrSource.String(source), AttrErrorType.String(class))...))
	}
}

// Fetched records one fetch of item i from source, for reason, retries
// included, which took took and failed with class, or succeeded ("").
func (r *Recorder) Fetched(ctx context.Context, i int, source, reason string, took time.Duration, class string) {
	src, why := AttrSource.String(source), AttrReason.String(reason)
	if r.meter.enabled(ctx, fetchDuration) {
		attrs := r.labels[i].attributes(src, why)
		if class != "" {
			attrs = append(attrs, AttrErrorType.String(class))
		}
		r.meter.record(ctx, fetchDuration, took.Seconds(), metric.WithAttributes(attrs...))
	}
	if class != "" && r.meter.enabled(ctx, fetchErrors) {
		r.meter.add(ctx, fetchErrors, 1, metric.WithAttributes(r.labels[i].attributes(src, AttrErrorType.String(class))...))
	}
	if reason != "initial" && r.meter.enabled(ctx, refreshes) {
		r.meter.add(ctx, refreshes, 1, metric.WithAttributes(r.labels[i].attributes(src, why)...))
	}
}

// An Evaluate records one evaluation of a flag against a caller's context:
// the mw.evaluate span. It names the profile and the source, never the
// flag's key, the context or the answer.
type Evaluate struct{ span trace.Span }

// StartEvaluate starts the evaluation of a flag of item i by source.
func (r *Recorder) StartEvaluate(ctx context.Context, i int, source string) (context.Context, Evaluate) {
	attrs := r.labels[i].attributes(AttrSource.String(source))
	ctx, span := r.tracer.Start(ctx, SpanEvaluate, trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(attrs...))
	return ctx, Evaluate{span: span}
}

// End ends the evaluation, which failed with class, or succeeded ("").
func (e Evaluate) End(class string) {
	if class != "" && e.span.IsRecording() {
		e.span.SetAttributes(AttrErrorType.String(class))
		e.span.SetStatus(codes.Error, "mw: the flag could not be evaluated")
	}
	e.span.End()
}
