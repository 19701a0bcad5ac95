package mw_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/lambda-mw/mw"
	"github.com/lambda-mw/mw/mwtest"
)

// The tests of the errors (errors.go): what a failed invoke's error names,
// and nil errors.

// A failed invoke's *PrefetchError names every item that failed, and only
// those, with the fix for the answer received; the handler does not run.
func TestFailureNamesEveryFailedItemAndSkipsTheHandler(t *testing.T) {
	w := newWorld(t, mwtest.Managed)
	w.ext.PutSecret("ok", "v")
	w.ext.PutParameter("/ok", "String", "p")
	ran := false
	h := mw.Wrap(func(ctx context.Context, _ int) (int, error) { ran = true; return 1, nil },
		w.opts(mw.WithSecrets("ok", "gone"), mw.WithParameters("/ok", "/gone"), mw.WithStartupWindow(0))...)
	out, err := h(invokeCtx(t, 5*time.Second), 0)
	if ran || out != 0 {
		t.Fatal("the handler ran although items failed")
	}
	var pe *mw.PrefetchError
	if !errors.As(err, &pe) {
		t.Fatalf("error %T is not a *PrefetchError", err)
	}
	if pe.Declared != 4 || len(pe.Failed) != 2 {
		t.Fatalf("%d of %d failed; want 2 of 4", len(pe.Failed), pe.Declared)
	}
	if pe.Failed[0].Kind != mw.KindSecret || pe.Failed[0].Name != "gone" || pe.Failed[1].Kind != mw.KindParameter || pe.Failed[1].Name != "/gone" {
		t.Errorf("failed = %v, %v", pe.Failed[0], pe.Failed[1])
	}
	msg := err.Error()
	// The extension served "ok" and "/ok": its 400s for the others mean
	// missing or forbidden, not "not ready" (nor a call during INIT).
	for _, s := range []string{`secret "gone"`, `parameter "/gone"`, "ssm:GetParameter", "secretsmanager:GetSecretValue", "not found or not allowed", "HTTP 400"} {
		if !strings.Contains(msg, s) {
			t.Errorf("error lacks %q:\n%s", s, msg)
		}
	}
	for _, s := range []string{`"ok"`, `"/ok"`} {
		if strings.Contains(msg, s) {
			t.Errorf("error names %s, which did not fail", s)
		}
	}
	fe := asFetchError(t, err)
	if fe.Status != 400 || fe.Err == nil || fe.Kind == 0 || fe.Name == "" {
		t.Errorf("FetchError lacks its fields: %+v", fe)
	}
}

// A *FetchError names the item by its alias, its name and the version it
// asked for.
func TestAMissingVersionNamesTheVersion(t *testing.T) {
	w := newWorld(t, mwtest.Agent)
	w.ext.PutSecret("prod/db", "pw")
	h := mw.Wrap(echo, w.opts(mw.WithSecret("prod/db", mw.VersionStage("AWSPENDING"), mw.Alias("pending")))...)
	_, err := h(invokeCtx(t, 5*time.Second), nil)
	var fe *mw.FetchError
	if !errors.As(err, &fe) || fe.Alias != "pending" || fe.Version != "stage AWSPENDING" || fe.Class != mw.ClassNotFound {
		t.Fatalf("got %#v", err)
	}
	if want := `secret "pending" (prod/db, stage AWSPENDING): not found`; !strings.Contains(err.Error(), want) {
		t.Errorf("error %q\nwant it to contain %q", err, want)
	}
}

// Nil inputs give errors or documented zero values, never panics.
func TestNilInputsDoNotPanic(t *testing.T) {
	var fe *mw.FetchError
	var pe *mw.PrefetchError
	var le *mw.LookupError
	for _, s := range []string{fe.Error(), pe.Error(), le.Error(), fmt.Sprint(fe)} {
		if !strings.Contains(s, "nil") {
			t.Errorf("%q", s)
		}
	}
	if fe.Hint() != "" {
		t.Errorf("nil hint %q", fe.Hint())
	}
	if fe.Unwrap() != nil || pe.Unwrap() != nil || le.Unwrap() != nil {
		t.Error("a nil error unwraps to something")
	}
	var noCtx context.Context // nil, on purpose
	if _, err := mw.Secret(noCtx, "s"); !errors.Is(err, mw.ErrNoValues) {
		t.Errorf("Secret(nil): %v", err)
	}
}

// A read of a name that is not declared, or not in a test's values, points
// at the declared name it likely misspells, and says in a test that adding
// the name to the values does not declare it.
func TestAMisspelledReadNamesTheDeclaredItem(t *testing.T) {
	w := newWorld(t, mwtest.Managed)
	w.ext.PutSecret("orders/db", "v")
	w.ext.PutParameter("/orders/config/a", "String", "p")
	app := newAppWorld(t, false)
	app.ext.PutConfiguration("orders", "prod", "flags", "", []byte(`{}`))
	app.ext.PutConfiguration("orders", "prod", "settings", "", []byte(`{}`))
	read := map[string]func(ctx context.Context) error{}
	h := mw.Wrap(func(ctx context.Context, name string) (string, error) { return "", read[name](ctx) },
		w.opts(mw.WithSecrets("orders/db"), mw.WithParametersByPath("/orders/config"), mw.WithSource(w.ext.Source(), mw.KindParametersByPath),
			mw.WithAppConfig("orders", "prod", "flags"), mw.WithAppConfig("orders", "prod", "settings"), mw.WithAppConfigEndpoint(app.srv.URL))...)
	test := mwtest.NewContext(context.Background(), mwtest.Values{
		Secrets:   map[string]string{"orders/db": "v"},
		AppConfig: map[string]string{"flags": "{}"},
	})
	for _, c := range []struct {
		name string
		read func(ctx context.Context) error
		ctx  context.Context // nil: inside the wrapped handler
		want []string
	}{
		{"a typo", func(ctx context.Context) error { _, err := mw.Secret(ctx, "order/db"); return err }, nil,
			[]string{`secret "order/db" was not declared, but secret "orders/db" was: read it by that name, or add mw.WithSecrets("order/db")`}},
		{"a trailing slash", func(ctx context.Context) error { _, err := mw.ParametersByPath(ctx, "/orders/config/"); return err }, nil,
			[]string{`but parameters_by_path "/orders/config" was`}},
		{"nothing alike", func(ctx context.Context) error { _, err := mw.Secret(ctx, "payments/key"); return err }, nil,
			[]string{`secret "payments/key" was not declared: add mw.WithSecrets("payments/key") to mw.Wrap`}},
		{"a typo in a test", func(ctx context.Context) error { _, err := mw.Secret(ctx, "order/db"); return err }, test,
			[]string{`secret "order/db" is not in this test's values, but secret "orders/db" is: check the name the handler reads`, "fails as not declared"}},
		{"nothing alike in a test", func(ctx context.Context) error { _, err := mw.Secret(ctx, "payments/key"); return err }, test,
			[]string{"add it to the mwtest.Values", "check that the handler's mw.Wrap declares it"}},
		{"a profile by its application", func(ctx context.Context) error { _, err := mw.AppConfig(ctx, "orders"); return err }, nil,
			[]string{`appconfig "orders" names the application (or application/environment) of declared profiles, not a profile: read a profile by its own name: "flags", "settings"`}},
		{"a profile by its application and environment", func(ctx context.Context) error { _, err := mw.AppConfig(ctx, "orders/prod"); return err }, nil,
			[]string{`read a profile by its own name: "flags", "settings"`}},
		{"a profile by another environment", func(ctx context.Context) error { _, err := mw.AppConfig(ctx, "orders/dev"); return err }, nil,
			[]string{`appconfig "orders/dev" was not declared: add mw.WithAppConfig(application, environment, "orders/dev")`}},
		{"a profile by its full name in a test", func(ctx context.Context) error { _, err := mw.FeatureFlag(ctx, "orders/prod/flags", "x"); return err }, test,
			[]string{`appconfig "orders/prod/flags" is declared, and read by "flags": read it by that name`}},
	} {
		var err error
		if c.ctx == nil {
			read[c.name] = c.read
			_, err = h(invokeCtx(t, 5*time.Second), c.name)
		} else {
			err = c.read(c.ctx)
		}
		if !errors.Is(err, mw.ErrNotDeclared) {
			t.Errorf("%s: %v; want ErrNotDeclared", c.name, err)
			continue
		}
		for _, s := range c.want {
			if !strings.Contains(err.Error(), s) {
				t.Errorf("%s: %v\n\twant it to say %s", c.name, err, s)
			}
		}
	}
}
