package mw_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/lambda-mw/mw"
	"github.com/lambda-mw/mw/mwtest"
)

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
