package mw_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/lambda-mw/mw"
	"github.com/lambda-mw/mw/mwtest"
)

// The tests of Wrap and its shapes (middleware.go): no I/O before the
// first invoke, nothing shared between Wraps, the handler's own error and
// panic, misuse, and every shape as aws-lambda-go runs it.

// Wrap does no I/O: the first invoke fetches.
func TestWrapDoesNoIOBeforeFirstInvoke(t *testing.T) {
	w := newWorld(t, mwtest.Managed)
	w.ext.PutSecret("prod/db", "pw")
	h := mw.Wrap(echo, w.opts(mw.WithSecrets("prod/db"))...)
	if n := w.ext.Requests(); n != 0 {
		t.Fatalf("Wrap made %d requests; want none before the first invoke", n)
	}
	if _, err := h(invokeCtx(t, 5*time.Second), []string{"secret:prod/db"}); err != nil {
		t.Fatal(err)
	}
	if n := w.ext.Fetches("prod/db"); n != 1 {
		t.Fatalf("first invoke made %d fetches of prod/db; want 1", n)
	}
}

// Two Wraps of the same declarations share no cache and no values.
func TestTwoWrapsShareNothing(t *testing.T) {
	w := newWorld(t, mwtest.Managed)
	w.ext.PutSecret("s", "v")
	a := mw.Wrap(echo, w.opts(mw.WithSecrets("s"))...)
	b := mw.Wrap(echo, w.opts(mw.WithSecrets("s"))...)
	for range 3 {
		for _, h := range []func(context.Context, []string) (map[string]string, error){a, b} {
			if _, err := h(invokeCtx(t, 5*time.Second), nil); err != nil {
				t.Fatal(err)
			}
		}
	}
	if n := w.ext.Fetches("s"); n != 2 {
		t.Fatalf("%d fetches; want one per Wrap", n)
	}
	// A Wrap sees only what it declared.
	c := mw.Wrap(echo, w.opts(mw.WithParameters())...)
	if _, err := c(invokeCtx(t, 5*time.Second), []string{"secret:s"}); !errors.Is(err, mw.ErrNotDeclared) {
		t.Errorf("undeclared secret in another Wrap: %v; want ErrNotDeclared", err)
	}
}

// Misuse is an error, never a panic.
func TestMisuseIsAnErrorNamingTheItem(t *testing.T) {
	//lint:ignore SA1012 a nil context is the misuse under test
	if _, err := mw.Secret(nil, "prod/db"); !errors.Is(err, mw.ErrNoValues) || !strings.Contains(err.Error(), `"prod/db"`) { //nolint:staticcheck
		t.Errorf("nil ctx: %v", err)
	}
	_, err := mw.Parameter(context.Background(), "/app/flags")
	var le *mw.LookupError
	if !errors.As(err, &le) || le.Kind != mw.KindParameter || le.Name != "/app/flags" || !errors.Is(err, mw.ErrNoValues) {
		t.Errorf("outside an invoke: %v", err)
	}
	w := newWorld(t, mwtest.Managed)
	w.ext.PutSecret("s", "v")
	h := mw.Wrap(echo, w.opts(mw.WithSecrets("s"))...)
	_, err = h(invokeCtx(t, 5*time.Second), []string{"parameter:s"}) // declared as a secret, read as a parameter
	if !errors.Is(err, mw.ErrNotDeclared) || !strings.Contains(err.Error(), `secret "s" was: read it with mw.Secret`) {
		t.Errorf("declared as a secret, read as a parameter: %v", err)
	}
	_, err = h(invokeCtx(t, 5*time.Second), []string{"parameter:never"})
	if !errors.Is(err, mw.ErrNotDeclared) || !strings.Contains(err.Error(), `mw.WithParameters("never")`) {
		t.Errorf("undeclared: %v", err)
	}
	// A nil handler is a mistake in code, like the other declarations
	// Wrap refuses: it panics at once, in any test that builds it.
	for name, build := range map[string]func(){
		"Wrap":        func() { mw.Wrap[int, int](nil) },
		"WrapEvent":   func() { mw.WrapEvent[int](nil) },
		"WrapResult":  func() { mw.WrapResult[int](nil) },
		"WrapFunc":    func() { mw.WrapFunc(nil) },
		"WrapHandler": func() { mw.WrapHandler(nil) },
	} {
		if err := mustPanic(t, build); !strings.Contains(err.Error(), name+" was given a nil handler") {
			t.Errorf("%s(nil): %v", name, err)
		}
	}
	// A nil context is not an invoke's: an error, not a panic.
	var noCtx context.Context // nil, on purpose
	if _, err := h(noCtx, []string{"secret:s"}); err == nil || !strings.Contains(err.Error(), "nil context") {
		t.Errorf("nil context: %v", err)
	}
}

// A handler wrapped twice, as by a shared middleware stack that declares
// items of its own, reads the items of both Wraps, and refreshes each
// through the Wrap that declares it; a name neither declares is still
// ErrNotDeclared.
func TestNestedWrapsReadTheItemsOfBoth(t *testing.T) {
	w := newWorld(t, mwtest.Managed)
	w.ext.PutSecret("outer", "o1")
	w.ext.PutSecret("inner", "i1")
	inner := mw.Wrap(func(ctx context.Context, _ int) ([]string, error) {
		o, err := mw.Secret(ctx, "outer")
		if err != nil {
			return nil, err
		}
		i, err := mw.Secret(ctx, "inner")
		if err != nil {
			return nil, err
		}
		w.ext.PutSecret("outer", "o2")
		r, err := mw.RefreshSecret(ctx, "outer")
		if err != nil {
			return nil, err
		}
		again, err := mw.Secret(ctx, "outer")
		if err != nil {
			return nil, err
		}
		if _, err := mw.Secret(ctx, "neither"); !errors.Is(err, mw.ErrNotDeclared) {
			return nil, fmt.Errorf("an undeclared name: %v", err)
		}
		return []string{o, i, r, again}, nil
	}, w.opts(mw.WithSecrets("inner"))...)
	outer := mw.Wrap(inner, w.opts(mw.WithSecrets("outer"))...)
	got, err := outer(invokeCtx(t, 5*time.Second), 0)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"o1", "i1", "o2", "o2"}; !slices.Equal(got, want) {
		t.Errorf("got %q; want %q", got, want)
	}
	// A unit test's context (mwtest.NewContext) around a wrapped handler.
	ctx := mwtest.NewContext(invokeCtx(t, 5*time.Second), mwtest.Values{Secrets: map[string]string{"outer": "from-test"}})
	inner2 := mw.Wrap(func(ctx context.Context, _ int) (string, error) { return mw.Secret(ctx, "outer") }, w.opts(mw.WithSecrets("inner"))...)
	if v, err := inner2(ctx, 0); err != nil || v != "from-test" {
		t.Errorf("inside a test's context: %q, %v", v, err)
	}
}

// A parameter the outer Wrap declares, under a path the inner Wrap lists
// without it (another account's tree, or one listed as a role), is
// refreshed by RefreshParameter through the outer Wrap, which declares
// it, and the refresh returns its new value.
func TestNestedRefreshParameterUnderAnotherWrapsPath(t *testing.T) {
	w := newWorld(t, mwtest.Managed)
	w.ext.PutParameter("/app/x", mwtest.TypeString, "old")
	other := mwtest.New(mwtest.Managed)
	t.Cleanup(other.Close)
	other.PutParameter("/app/y", mwtest.TypeString, "y")
	inner := mw.Wrap(func(ctx context.Context, _ int) (string, error) {
		if v, err := mw.Parameter(ctx, "/app/x"); err != nil || v != "old" {
			t.Errorf("before: %q, %v", v, err)
		}
		w.ext.PutParameter("/app/x", mwtest.TypeString, "new")
		return mw.RefreshParameter(ctx, "/app/x")
	}, w.opts(mw.WithoutEnvironment(), mw.WithParametersByPath("/app", mw.From(other.Source())))...)
	outer := mw.Wrap(inner, w.opts(mw.WithoutEnvironment(), mw.WithParameters("/app/x"))...)
	got, err := outer(invokeCtx(t, 5*time.Second), 0)
	if err != nil || got != "new" {
		t.Errorf("RefreshParameter: %q, %v; want the new value", got, err)
	}
}

// The handler's error is the invoke's, whatever its kind. (What the
// mw.handler span says of it is tested in ../test.)
func TestHandlerErrorIsTheInvokes(t *testing.T) {
	w := newWorld(t, mwtest.Managed)
	w.ext.PutSecret("s", canary)
	fail := errors.New("db said no to password " + canary)
	cases := []struct {
		name string
		h    func(context.Context, string) (string, error)
		want func(error) bool
	}{
		{"ok", func(context.Context, string) (string, error) { return "ok", nil }, func(err error) bool { return err == nil }},
		{"wrapped", func(context.Context, string) (string, error) { return "", fmt.Errorf("handler: %w", fail) },
			func(err error) bool { return errors.Is(err, fail) }},
		{"mw error", func(ctx context.Context, _ string) (string, error) {
			return "", &mw.FetchError{Kind: mw.KindSecret, Name: "s", Class: mw.ClassAccessDenied}
		}, func(err error) bool {
			fe, ok := errors.AsType[*mw.FetchError](err)
			return ok && fe.Class == mw.ClassAccessDenied
		}},
		{"lookup", func(ctx context.Context, _ string) (string, error) { return mw.Secret(ctx, "undeclared") },
			func(err error) bool { return errors.Is(err, mw.ErrNotDeclared) }},
	}
	for _, c := range cases {
		_, err := mw.Wrap(c.h, w.opts(mw.WithSecrets("s"))...)(invokeCtx(t, 5*time.Second), "")
		if !c.want(err) {
			t.Errorf("%s: err = %v", c.name, err)
		}
	}
}

// The handler's panic goes on up, as it would without mw.
func TestHandlerPanicPanicsOn(t *testing.T) {
	w := newWorld(t, mwtest.Managed)
	w.ext.PutSecret("s", "v")
	h := mw.Wrap(func(context.Context, string) (string, error) { panic("boom " + canary) }, w.opts(mw.WithSecrets("s"))...)
	defer func() {
		if r := recover(); r == nil || !strings.HasPrefix(fmt.Sprint(r), "boom") {
			t.Errorf("recovered %v; want the handler's panic", r)
		}
	}()
	_, _ = h(invokeCtx(t, 5*time.Second), "")
}

// WrapHandler, for a lambda.Handler, fetches and fails as Wrap does.
func TestWrapHandlerBehavesLikeWrap(t *testing.T) {
	w := newWorld(t, mwtest.Managed)
	w.ext.PutSecret("s", "v")
	h := mw.WrapHandler(lambda.NewHandler(echo), w.opts(mw.WithSecrets("s"))...)
	for range 2 {
		out, err := h.Invoke(invokeCtx(t, 5*time.Second), []byte(`["secret:s"]`))
		if err != nil || string(out) != `{"secret:s":"v"}` {
			t.Fatalf("%s, %v", out, err)
		}
	}
	if n := w.ext.Fetches("s"); n != 1 {
		t.Errorf("%d fetches; want 1", n)
	}
	// A failure to fetch is the invoke's error, and the handler does not run.
	ran := false
	h = mw.WrapHandler(lambda.NewHandler(func() error { ran = true; return nil }), w.opts(mw.WithSecrets("missing"), mw.WithStartupWindow(0))...)
	if _, err := h.Invoke(invokeCtx(t, 5*time.Second), []byte(`{}`)); !errors.As(err, new(*mw.PrefetchError)) || ran {
		t.Errorf("err = %v, ran = %v; want a *PrefetchError and no run", err, ran)
	}
	if err := mustPanic(t, func() { mw.WrapHandler(nil) }); !strings.Contains(err.Error(), "nil handler") {
		t.Errorf("nil handler: %v", err)
	}
}

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
