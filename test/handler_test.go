package test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"go.opentelemetry.io/contrib/instrumentation/github.com/aws/aws-lambda-go/otellambda"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/lambda-mw/mw"
	"github.com/lambda-mw/mw/mwtest"
)

// flushCounter is otellambda's flusher: it flushes tp and records, at each
// flush, how many spans had ended.
type flushCounter struct {
	w       *world
	flushes []int
}

func (f *flushCounter) ForceFlush(ctx context.Context) error {
	f.flushes = append(f.flushes, len(f.w.rec.Ended()))
	return f.w.tp.ForceFlush(ctx)
}

func lambdaCtx(t *testing.T, requestID string) context.Context {
	return lambdacontext.NewContext(invokeCtx(t, 5*time.Second), &lambdacontext.LambdaContext{
		AwsRequestID:       requestID,
		InvokedFunctionArn: "arn:aws:lambda:eu-west-1:123456789012:function:fn",
	})
}

// mw composes inside otellambda at the bytes level: its spans are children
// of the invocation span, in its trace, and are flushed with it per invoke.
func TestComposesInsideOtellambda(t *testing.T) {
	t.Setenv("AWS_LAMBDA_FUNCTION_NAME", "fn")
	w := newWorld(t, mwtest.Managed)
	w.ext.PutSecret("prod/db", "pw")
	w.ext.PutParameter("/app/flags", "String", "on")
	w.ext.NotReadyFor(1)
	flusher := &flushCounter{w: w}
	h := otellambda.WrapHandler(
		mw.WrapHandler(lambda.NewHandler(echo), w.opts(mw.WithSecrets("prod/db"), mw.WithParameters("/app/flags"))...),
		otellambda.WithTracerProvider(w.tp), otellambda.WithFlusher(flusher))

	for i, want := range []int{5, 8} { // cold: invocation, resolve, 2 fetches, handler; warm: 3 more
		out, err := h.Invoke(lambdaCtx(t, fmt.Sprint("req-", i)), []byte(`["secret:prod/db","parameter:/app/flags"]`))
		if err != nil {
			t.Fatal(err)
		}
		var got map[string]string
		if err := json.Unmarshal(out, &got); err != nil || got["secret:prod/db"] != "pw" || got["parameter:/app/flags"] != "on" {
			t.Fatalf("invoke %d: %s, %v", i, out, err)
		}
		if len(flusher.flushes) != i+1 || flusher.flushes[i] != want {
			t.Fatalf("after invoke %d: flushes saw %v ended spans; want a flush per invoke with %d spans ended", i, flusher.flushes, want)
		}
	}

	var invocations []sdktrace.ReadOnlySpan
	byID := map[trace.SpanID]sdktrace.ReadOnlySpan{}
	for _, s := range w.rec.Ended() {
		byID[s.SpanContext().SpanID()] = s
		if s.InstrumentationScope().Name == otellambda.ScopeName {
			invocations = append(invocations, s)
		}
	}
	if len(invocations) != 2 {
		t.Fatalf("%d otellambda spans; want 2", len(invocations))
	}
	root := func(s sdktrace.ReadOnlySpan) (sdktrace.ReadOnlySpan, int) {
		depth := 0
		for s.Parent().IsValid() {
			s, depth = byID[s.Parent().SpanID()], depth+1
			if s == nil {
				return nil, depth
			}
		}
		return s, depth
	}
	seen := map[string]int{}
	for _, s := range w.rec.Ended() {
		if s.InstrumentationScope().Name != mw.ScopeName {
			continue
		}
		r, depth := root(s)
		if r == nil || r.InstrumentationScope().Name != otellambda.ScopeName || r.SpanContext().TraceID() != s.SpanContext().TraceID() {
			t.Errorf("%s does not descend from an otellambda invocation span in its trace", s.Name())
			continue
		}
		wantDepth := map[string]int{"mw.resolve": 1, "mw.handler": 1, "mw.fetch": 2}[s.Name()]
		if depth != wantDepth {
			t.Errorf("%s is %d levels under the invocation span; want %d", s.Name(), depth, wantDepth)
		}
		seen[s.Name()]++
	}
	if seen["mw.resolve"] != 2 || seen["mw.handler"] != 2 || seen["mw.fetch"] != 2 {
		t.Errorf("mw spans under otellambda: %v; want 2 resolve, 2 handler, 2 fetch", seen)
	}
}

// A handler's failure is on mw.handler, which otellambda leaves unset, by
// type and never by message. (That the error is the invoke's is tested in
// the library's module too.)
func TestHandlerFailureIsRecordedWithoutItsMessage(t *testing.T) {
	w := newWorld(t, mwtest.Managed)
	w.ext.PutSecret("s", canary)
	fail := errors.New("db said no to password " + canary)
	cases := []struct {
		name    string
		h       func(context.Context, string) (string, error)
		errType string
	}{
		{"ok", func(context.Context, string) (string, error) { return "ok", nil }, ""},
		{"wrapped", func(context.Context, string) (string, error) { return "", fmt.Errorf("handler: %w", fail) }, "*fmt.wrapError"},
		{"mw error", func(ctx context.Context, _ string) (string, error) {
			return "", &mw.FetchError{Kind: mw.KindSecret, Name: "s", Class: mw.ClassAccessDenied}
		}, "access_denied"},
		{"lookup", func(ctx context.Context, _ string) (string, error) { return mw.Secret(ctx, "undeclared") }, "*mw.LookupError"},
	}
	for _, c := range cases {
		w.rec.Reset()
		ctx, parent := w.tp.Tracer("test").Start(invokeCtx(t, 5*time.Second), "invoke")
		_, err := mw.Wrap(c.h, w.opts(mw.WithSecrets("s"))...)(ctx, "")
		parent.End()
		if (err != nil) != (c.errType != "") {
			t.Fatalf("%s: err = %v", c.name, err)
		}
		hs := w.spans("mw.handler")
		if len(hs) != 1 {
			t.Fatalf("%s: %d mw.handler spans", c.name, len(hs))
		}
		s, r := hs[0], w.spans("mw.resolve")[0]
		if s.Parent().SpanID() != parent.SpanContext().SpanID() || s.StartTime().Before(r.EndTime()) {
			t.Errorf("%s: mw.handler is not a sibling of mw.resolve, after it", c.name)
		}
		got := attr(s, "error.type").AsString()
		if got != c.errType {
			t.Errorf("%s: error.type = %q; want %q", c.name, got, c.errType)
		}
		if c.errType == "" {
			if s.Status().Code != codes.Unset {
				t.Errorf("%s: status %+v", c.name, s.Status())
			}
			continue
		}
		if s.Status().Code != codes.Error || !strings.HasPrefix(s.Status().Description, "handler returned an error of type ") ||
			strings.Contains(s.Status().Description, "said no") || len(s.Events()) != 0 {
			t.Errorf("%s: status %+v, events %v", c.name, s.Status(), s.Events())
		}
	}
}

// A handler's panic ends mw.handler, marked as a panic without its value,
// and goes on up.
func TestHandlerPanicEndsItsSpanAndPanicsOn(t *testing.T) {
	w := newWorld(t, mwtest.Managed)
	w.ext.PutSecret("s", "v")
	h := mw.Wrap(func(context.Context, string) (string, error) { panic("boom " + canary) }, w.opts(mw.WithSecrets("s"))...)
	func() {
		defer func() {
			if r := recover(); r == nil || !strings.HasPrefix(fmt.Sprint(r), "boom") {
				t.Errorf("recovered %v; want the handler's panic", r)
			}
		}()
		_, _ = h(invokeCtx(t, 5*time.Second), "")
	}()
	hs := w.spans("mw.handler")
	if len(hs) != 1 || attr(hs[0], "error.type").AsString() != "panic" || hs[0].Status().Code != codes.Error ||
		strings.Contains(hs[0].Status().Description, canary) {
		t.Fatalf("mw.handler after a panic: %v", hs)
	}
}
