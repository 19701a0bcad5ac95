package mw_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/lambda-mw/mw"
	"github.com/lambda-mw/mw/mwtest"
)

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
