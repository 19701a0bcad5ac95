package mw_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/lambda-mw/mw"
	"github.com/lambda-mw/mw/mwtest"
)

// Every handler shape lambda.Start takes with a context wraps without
// losing its types, and runs through aws-lambda-go as Lambda runs it.
func TestEveryHandlerShapeRunsThroughAwsLambdaGo(t *testing.T) {
	ext, srv := mwtest.Start(t, mwtest.Managed)
	ext.PutSecret("s", "v")
	opts := append(ext.Options(srv.URL), mw.WithSecrets("s"))
	var got []string
	note := func(ctx context.Context, what string) error {
		v, err := mw.Secret(ctx, "s")
		got = append(got, what+"="+v)
		return err
	}
	sqs := mw.WrapEvent(func(ctx context.Context, e events.SQSEvent) error {
		return note(ctx, "sqs:"+e.Records[0].MessageId)
	}, opts...)
	batch := mw.Wrap(func(ctx context.Context, e events.SQSEvent) (events.SQSEventResponse, error) {
		return events.SQSEventResponse{BatchItemFailures: []events.SQSBatchItemFailure{{ItemIdentifier: e.Records[0].MessageId}}}, note(ctx, "batch")
	}, opts...)
	result := mw.WrapResult(func(ctx context.Context) (int, error) { return 7, note(ctx, "result") }, opts...)
	job := mw.WrapFunc(func(ctx context.Context) error { return note(ctx, "func") }, opts...)
	for _, c := range []struct {
		h           any
		in, wantOut string
	}{
		{sqs, `{"Records":[{"messageId":"m1"}]}`, "null"},
		{batch, `{"Records":[{"messageId":"m2"}]}`, `{"batchItemFailures":[{"itemIdentifier":"m2"}]}`},
		{result, `{}`, "7"},
		{job, `{}`, "null"},
	} {
		out, err := lambda.NewHandler(c.h).Invoke(invokeCtx(t, 5*time.Second), []byte(c.in))
		if err != nil || string(out) != c.wantOut {
			t.Errorf("%T: %s, %v; want %s", c.h, out, err, c.wantOut)
		}
	}
	if want := "sqs:m1=v batch=v result=v func=v"; strings.Join(got, " ") != want {
		t.Errorf("the handlers saw %v; want %s", got, want)
	}
	// A failure to fetch fails the invoke before the handler, in every shape.
	bad := append(ext.Options(srv.URL), mw.WithSecrets("missing"), mw.WithStartupWindow(0))
	for _, h := range []any{
		mw.WrapEvent(func(context.Context, events.S3Event) error { t.Error("ran"); return nil }, bad...),
		mw.WrapResult(func(context.Context) (int, error) { t.Error("ran"); return 0, nil }, bad...),
		mw.WrapFunc(func(context.Context) error { t.Error("ran"); return nil }, bad...),
	} {
		if _, err := lambda.NewHandler(h).Invoke(invokeCtx(t, 5*time.Second), []byte(`{}`)); err == nil || !strings.Contains(err.Error(), `secret "missing"`) {
			t.Errorf("%T: %v", h, err)
		}
	}
}

// A handler's unit test is hermetic: with the fake's options, it reads no
// AWS_SESSION_TOKEN and none of the developer's MW_* variables.
func TestTheFakesOptionsIgnoreTheShell(t *testing.T) {
	t.Setenv("MW_SECRETS", "=bad entry")
	t.Setenv("MW_ENDPOINT", "http://192.0.2.1:1")
	t.Setenv("AWS_SESSION_TOKEN", "not the fake's")
	for _, d := range dialects {
		ext, srv := mwtest.Start(t, d)
		ext.SetToken("the fake's own")
		ext.PutSecret("s", "v")
		h := mw.Wrap(echo, append(ext.Options(srv.URL), mw.WithSecrets("s"))...)
		if got, err := h(invokeCtx(t, 5*time.Second), []string{"secret:s"}); err != nil || got["secret:s"] != "v" {
			t.Errorf("%s: %v, %v", d, got, err)
		}
	}
}

// Tests built on the fake's options run in parallel.
func TestTheFakesOptionsInParallel(t *testing.T) {
	for i := range 8 {
		t.Run(string(rune('a'+i)), func(t *testing.T) {
			t.Parallel()
			ext, srv := mwtest.Start(t, mwtest.Managed)
			ext.PutSecret("s", string(rune('a'+i)))
			h := mw.Wrap(echo, append(ext.Options(srv.URL), mw.WithSecrets("s"))...)
			if got, err := h(invokeCtx(t, 5*time.Second), []string{"secret:s"}); err != nil || got["secret:s"] != string(rune('a'+i)) {
				t.Errorf("%v, %v", got, err)
			}
		})
	}
}

// mwtest.Values acts out what a handler meets besides values: an optional
// item that could not be fetched, a value served stale, a path's
// parameters; and mw.Stale tells a stale value from a fresh one in a real
// invoke too.
func TestValuesActOutMissingAndStaleItems(t *testing.T) {
	fe := &mw.FetchError{Kind: mw.KindSecret, Name: "arn:aws:secretsmanager:us-east-1:1:secret:beta-AbCdEf", Alias: "beta", Class: mw.ClassNotFound}
	var noCtx context.Context // nil: NewContext takes it as Background
	ctx := mwtest.NewContext(noCtx, mwtest.Values{
		Secrets:          map[string]string{"prod/db": "pw"},
		ParametersByPath: map[string]map[string]string{"/app": {"/app/a": "1", "/app/b/c": "2"}},
		Missing:          []*mw.FetchError{fe},
		Stale:            map[string]time.Duration{"secret:prod/db": time.Minute},
	})
	_, err := mw.Secret(ctx, "beta")
	var got *mw.FetchError
	if !errors.Is(err, mw.ErrNotFound) || !errors.As(err, &got) || got != fe {
		t.Errorf("missing: %v", err)
	}
	if d, stale := mw.Stale(ctx, mw.KindSecret, "prod/db"); !stale || d != time.Minute {
		t.Errorf("stale: %v %v", d, stale)
	}
	if v, err := mw.Parameter(ctx, "/app/b/c"); err != nil || v != "2" {
		t.Errorf("found under the path: %q, %v", v, err)
	}
	if m, err := mw.ParametersByPath(ctx, "/app"); err != nil || len(m) != 2 {
		t.Errorf("ParametersByPath: %v, %v", m, err)
	}

	// The same states in a real invoke: fresh, then served stale.
	w := newWorld(t, mwtest.Managed)
	w.ext.PutSecret("s", "v")
	c := newClock()
	var stale []bool
	h := mw.Wrap(func(ctx context.Context, _ int) (string, error) {
		_, s := mw.Stale(ctx, mw.KindSecret, "s")
		stale = append(stale, s)
		return mw.Secret(ctx, "s")
	}, w.opts(mw.WithSecrets("s"), mw.WithTTL(time.Minute), withClock(c))...)
	if _, err := h(invokeCtx(t, 5*time.Second), 0); err != nil {
		t.Fatal(err)
	}
	w.ext.Deny("s")
	c.Advance(2 * time.Minute)
	if v, err := h(invokeCtx(t, 5*time.Second), 0); err != nil || v != "v" {
		t.Fatalf("stale serve: %q, %v", v, err)
	}
	if len(stale) != 2 || stale[0] || !stale[1] {
		t.Errorf("stale: %v; want fresh, then stale", stale)
	}
}

// A mistake in mwtest.Values that would make a test test another path is
// said at once: a Stale key that names no item, a Missing entry with no
// Kind.
func TestValuesRefuseWhatTheyCannotActOut(t *testing.T) {
	for name, v := range map[string]mwtest.Values{
		"stale key without its kind": {Secrets: map[string]string{"prod/db": "pw"}, Stale: map[string]time.Duration{"prod/db": time.Minute}},
		"stale key of no item":       {Secrets: map[string]string{"prod/db": "pw"}, Stale: map[string]time.Duration{"secret:prod/dbb": time.Minute}},
		"missing with no kind":       {Missing: []*mw.FetchError{{Name: "/app/beta"}}},
	} {
		if r := recovered(func() { mwtest.NewContext(context.Background(), v) }); r == nil {
			t.Errorf("%s: no panic", name)
		}
	}
}

// A source that has answered nothing since the first invoke, with the
// startup window past (a missing layer), fails at once on later invokes,
// instead of retrying to the deadline on every one; once it has answered,
// a refused connection is retried again.
func TestNothingEverAnsweringFailsAtOnceAfterTheStartupWindow(t *testing.T) {
	hc, dials := refusingDialer(1 << 30)
	c := newClock()
	h := mw.Wrap(echo, mw.WithSecrets("s"), mw.WithHTTPClient(hc), mw.WithEndpoint("http://127.0.0.1:9"), withClock(c))
	if _, err := h(invokeCtx(t, 300*time.Millisecond), nil); asFetchError(t, err).Attempts < 2 {
		t.Fatalf("within the startup window: %v; want retries", err)
	}
	c.Advance(time.Minute) // past the startup window (and the item's retry time)
	before := dials.Load()
	_, err := h(invokeCtx(t, 5*time.Second), nil)
	if fe := asFetchError(t, err); fe.Class != mw.ClassUnavailable || fe.Attempts != 1 || dials.Load()-before != 1 {
		t.Errorf("after the window: %d dials, %v; want unavailable at once", dials.Load()-before, err)
	}
}

// A unit test of a missing item, with the fake's options and nothing else,
// fails at once, leading with the likely fix: the fake serves from the
// start, as an extension does by a function's first invoke, so its 400 is
// taken at its word, not polled through mw's startup window.
func TestAMissingItemFailsAtOnceWithTheFakesOptions(t *testing.T) {
	ext, srv := mwtest.Start(t, mwtest.Managed)
	ext.PutSecret("prod/db", "pw")
	h := mw.Wrap(echo, append(ext.Options(srv.URL), mw.WithSecrets("prod/dbb"))...)
	_, err := h(invokeCtx(t, 5*time.Second), nil)
	fe := asFetchError(t, err)
	if fe.Attempts != 1 || fe.Class != mw.ClassRejected || !strings.HasPrefix(fe.Hint(), "not found or not allowed") {
		t.Errorf("%d attempts, class %s, hint %q; want one attempt, rejected, leading with not found", fe.Attempts, fe.Class, fe.Hint())
	}
	// A test that acts out the extension's start keeps mw's window.
	ext.NotReadyFor(2)
	h = mw.Wrap(echo, append(ext.Options(srv.URL), mw.WithSecrets("prod/db"))...)
	if got, err := h(invokeCtx(t, 5*time.Second), []string{"secret:prod/db"}); err != nil || got["secret:prod/db"] != "pw" {
		t.Errorf("through the start: %v, %v", got, err)
	}
}
