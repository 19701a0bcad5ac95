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

// The tests of the item options and handles (items.go): Alias, versions
// and labels, TTL, Optional and Default, options typed by kind, and the
// zero handle.

// An Alias reads an item declared by a long ARN by a short name, and only
// by it.
func TestAliasReadsALongARNByAShortName(t *testing.T) {
	w := newWorld(t, mwtest.Managed)
	w.ext.PutSecret("prod/db", "pw")
	arn := mwtest.SecretARN("prod/db")
	h := mw.Wrap(echo, w.opts(mw.WithSecret(arn, mw.Alias("db")))...)

	got, err := h(invokeCtx(t, 5*time.Second), []string{"secret:db"})
	if err != nil || got["secret:db"] != "pw" {
		t.Fatalf("got %v, %v", got, err)
	}
	// Declared with an alias, the item is read by the alias only.
	if _, err := h(invokeCtx(t, 5*time.Second), []string{"secret:" + arn}); !errors.Is(err, mw.ErrNotDeclared) {
		t.Errorf("reading by ARN: %v, want ErrNotDeclared", err)
	}
	if n := w.ext.Fetches(arn); n != 1 {
		t.Errorf("%d fetches of the ARN, want 1", n)
	}
	// (The spans name the ARN and the alias: ../test.)
}

func TestParameterVersionsAndLabels(t *testing.T) {
	w := newWorld(t, mwtest.Managed)
	w.ext.PutParameter("/app/flags", "String", "v1")
	w.ext.PutParameter("/app/flags", "String", "v2")
	w.ext.PutParameter("/app/flags", "String", "v3")
	w.ext.LabelParameter("/app/flags", 2, "live")
	h := mw.Wrap(echo, w.opts(
		mw.WithParameters("/app/flags"),
		mw.WithParameter("/app/flags", mw.ParameterVersion(1), mw.Alias("first")),
		mw.WithParameter("/app/flags", mw.Label("live"), mw.Alias("live")),
		mw.WithParameters("/app/flags:1"), // Parameter Store's own selector syntax
	)...)
	got, err := h(invokeCtx(t, 5*time.Second), []string{"parameter:/app/flags", "parameter:first", "parameter:live", "parameter:/app/flags:1"})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"parameter:/app/flags": "v3", "parameter:first": "v1", "parameter:live": "v2", "parameter:/app/flags:1": "v1"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("got %v, want %v", got, want)
	}
	// (mw.item.version on the spans: ../test.)
}

// The zero value of a handle declares nothing and reads nothing, as its
// documentation says: given to Wrap, it is no declaration, not a panic.
func TestAZeroHandleDeclaresNothing(t *testing.T) {
	w := newWorld(t, mwtest.Managed)
	w.ext.PutSecret("s", "v")
	var zs mw.SecretHandle
	var zp mw.ParameterHandle
	var h func(context.Context, []string) (map[string]string, error)
	if r := recovered(func() { h = mw.Wrap(echo, w.opts(mw.WithSecrets("s"), zs, zp)...) }); r != nil {
		t.Fatalf("Wrap panicked on zero handles: %v", r)
	}
	got, err := h(invokeCtx(t, 5*time.Second), []string{"secret:s"})
	if err != nil || got["secret:s"] != "v" {
		t.Fatalf("%v, %v", got, err)
	}
}

func TestPerItemTTLOverridesTheDefault(t *testing.T) {
	w := newWorld(t, mwtest.Managed)
	w.ext.PutSecret("short", "s1")
	w.ext.PutSecret("long", "l1")
	clk := newClock()
	h := mw.Wrap(echo, w.opts(mw.WithSecret("short", mw.TTL(10*time.Second)), mw.WithSecrets("long"), mw.WithTTL(time.Minute), withClock(clk))...)
	keys := []string{"secret:short", "secret:long"}
	if _, err := h(invokeCtx(t, 5*time.Second), keys); err != nil {
		t.Fatal(err)
	}
	w.ext.PutSecret("short", "s2")
	w.ext.PutSecret("long", "l2")
	clk.Advance(15 * time.Second)
	got, err := h(invokeCtx(t, 5*time.Second), keys)
	if err != nil {
		t.Fatal(err)
	}
	if got["secret:short"] != "s2" || got["secret:long"] != "l1" {
		t.Errorf("after 15 s: %v; want short refreshed (s2), long cached (l1)", got)
	}
	if w.ext.Fetches("short") != 2 || w.ext.Fetches("long") != 1 {
		t.Errorf("fetches short=%d long=%d; want 2, 1", w.ext.Fetches("short"), w.ext.Fetches("long"))
	}
}

func TestOptionalItems(t *testing.T) {
	for _, d := range dialects {
		t.Run(d.String(), func(t *testing.T) {
			w := newWorld(t, d)
			w.ext.PutSecret("present", "p")
			h := mw.Wrap(func(ctx context.Context, _ int) ([]string, error) {
				a, errA := mw.Secret(ctx, "missing")
				b, errB := mw.Secret(ctx, "defaulted")
				c, errC := mw.Secret(ctx, "present")
				var le *mw.LookupError
				var fe *mw.FetchError
				if !errors.Is(errA, mw.ErrNotFound) || !errors.As(errA, &le) || !errors.As(errA, &fe) || le.Name != "missing" {
					return nil, fmt.Errorf("optional without default: %q, %v", a, errA)
				}
				return []string{b, c, fe.Name}, errors.Join(errB, errC)
			}, w.opts(mw.WithSecret("missing", mw.Optional()), mw.WithSecret("defaulted", mw.Default("fallback")), mw.WithSecrets("present"), mw.WithStartupWindow(0))...)
			got, err := h(invokeCtx(t, 5*time.Second), 0)
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(got) != "[fallback p missing]" {
				t.Errorf("got %v", got)
			}
			// (mw.optional.absent_items on the span: ../test.)
		})
	}
}

// Item options of one kind do not fit another: mw.WithSecret(id,
// mw.ParameterVersion(3)) does not compile.
func TestItemOptionsAreTypedByKind(t *testing.T) {
	for name, o := range map[string]any{"ParameterVersion": mw.ParameterVersion(1), "Label": mw.Label("l")} {
		if _, ok := o.(mw.SecretOption); ok {
			t.Errorf("%s is a SecretOption", name)
		}
	}
	for name, o := range map[string]any{"VersionID": mw.VersionID("v"), "VersionStage": mw.VersionStage("s")} {
		if _, ok := o.(mw.ParameterOption); ok {
			t.Errorf("%s is a ParameterOption", name)
		}
	}
}

// WithAppConfig's handle reads its profile, its flags and its JSON with no
// name to repeat, and prints no configuration.
func TestAnAppConfigHandleReadsItsProfile(t *testing.T) {
	w := newAppWorld(t, false)
	w.ext.PutFeatureFlags("orders", "prod", "flags", map[string]mwtest.Flag{"beta": {Enabled: true}})
	flags := mw.WithAppConfig("orders", "prod", "flags", mw.Default(`{"beta":{"enabled":false}}`))
	h := mw.Wrap(func(ctx context.Context, _ struct{}) (string, error) {
		raw, err := flags.Value(ctx)
		if err != nil {
			return "", err
		}
		f, err := flags.Flag(ctx, "beta")
		if err != nil {
			return "", err
		}
		m, err := mw.JSON[map[string]map[string]bool](ctx, flags)
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("%t %t %t", len(raw) > 0, f.Enabled, m["beta"]["enabled"]), nil
	}, w.opts(flags)...)
	if got, err := h(invokeCtx(t, 5*time.Second), struct{}{}); err != nil || got != "true true true" {
		t.Fatalf("got %q, %v", got, err)
	}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x"} {
		if s := fmt.Sprintf(verb, flags); strings.Contains(s, "enabled") || !strings.Contains(s, "flags") {
			t.Errorf("%s prints %q", verb, s)
		}
	}
}
