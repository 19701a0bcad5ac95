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

func TestDeclarationMistakesInCodePanicAtWrap(t *testing.T) {
	arn := mwtest.SecretARN("prod/db")
	for _, tc := range []struct {
		name string
		opts []mw.Option
		want string
	}{
		{"same alias for two secrets", []mw.Option{mw.WithSecret(arn, mw.Alias("db")), mw.WithSecret("other", mw.Alias("db"))},
			`secret alias "db" is declared twice: for "` + arn + `" and for "other"`},
		{"same alias for two versions", []mw.Option{mw.WithSecret("s", mw.Alias("db")), mw.WithSecret("s", mw.Alias("db"), mw.VersionStage("AWSPREVIOUS"))},
			`secret alias "db" is declared twice`},
		{"one name at two versions", []mw.Option{mw.WithSecrets("s"), mw.WithSecret("s", mw.VersionStage("AWSPREVIOUS"))},
			`secret "s" is declared twice, at different versions (AWSCURRENT and stage AWSPREVIOUS): give one of them an Alias`},
		{"one parameter at two versions", []mw.Option{mw.WithParameter("/p", mw.ParameterVersion(1)), mw.WithParameter("/p", mw.Label("live"))},
			`(version 1 and label live)`},
		{"different options", []mw.Option{mw.WithSecrets("s"), mw.WithSecret("s", mw.Optional())}, `secret "s" is declared twice, with different options`},
		{"same item under two refs, different options", []mw.Option{mw.WithSecret("s", mw.Alias("a")), mw.WithSecret("s", mw.Alias("b"), mw.TTL(time.Second))},
			`are the same secret, declared with different options`},
		{"empty name", []mw.Option{mw.WithSecrets("")}, "an empty secret name"},
		{"empty name with alias", []mw.Option{mw.WithParameter("", mw.Alias("p"))}, `parameter alias "p" is declared with an empty name`},
		{"version and label", []mw.Option{mw.WithParameter("/p", mw.ParameterVersion(2), mw.Label("x"))}, "ParameterVersion and Label are exclusive"},
		{"bad endpoint", []mw.Option{mw.WithEndpoint("localhost:2773")}, `WithEndpoint("localhost:2773")`},
		{"role that is not a role ARN", []mw.Option{mw.WithSecret("s", mw.RoleARN("arn:aws:iam::123456789012:user/bob"))},
			`RoleARN("arn:aws:iam::123456789012:user/bob") is not the ARN of an IAM role`},
		{"role through the managed extension", []mw.Option{mw.WithSecret("s", mw.RoleARN("arn:aws:iam::123456789012:role/reader"))},
			`the Parameters and Secrets extension reads with the function's own role and cannot take on another`},
		{"role through the AppConfig extension", []mw.Option{mw.WithAppConfig("a", "e", "p", mw.RoleARN("arn:aws:iam::123456789012:role/reader"))},
			`AWS_APPCONFIG_EXTENSION_ROLE_ARN`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := mustPanic(t, func() { mw.Wrap(echo, tc.opts...) })
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("panic %q\nwant it to contain %q", err, tc.want)
			}
		})
	}
}

func TestTheSameDeclarationTwiceIsOneItem(t *testing.T) {
	w := newWorld(t, mwtest.Managed)
	w.ext.PutSecret("s", "v")
	h := mw.Wrap(echo, w.opts(mw.WithSecrets("s", "s"), mw.WithSecret("s"), mw.WithSecret("s", mw.Alias("a")), mw.WithSecret("s", mw.Alias("a")))...)
	got, err := h(invokeCtx(t, 5*time.Second), []string{"secret:s", "secret:a"})
	if err != nil || got["secret:s"] != "v" || got["secret:a"] != "v" {
		t.Fatalf("got %v, %v", got, err)
	}
	if n := w.ext.Fetches("s"); n != 1 {
		t.Errorf("%d fetches, want 1: one thing under two names is fetched once", n)
	}
}

// Every option that changes what is fetched is part of the item's identity:
// two versions of one secret are two cache entries, never one (the bug
// Powertools for TypeScript shipped).
func TestVersionsAreCachedApart(t *testing.T) {
	for _, d := range []mwtest.Dialect{mwtest.Managed, mwtest.Agent} {
		t.Run(d.String(), func(t *testing.T) {
			w := newWorld(t, d)
			v1 := w.ext.PutSecret("prod/db", "old-pw")
			w.ext.PutSecret("prod/db", "new-pw") // v2 is AWSCURRENT, v1 AWSPREVIOUS
			h := mw.Wrap(echo, w.opts(
				mw.WithSecrets("prod/db"),
				mw.WithSecret("prod/db", mw.VersionStage("AWSPREVIOUS"), mw.Alias("db-previous")),
				mw.WithSecret("prod/db", mw.VersionID(v1), mw.Alias("db-v1")),
			)...)
			keys := []string{"secret:prod/db", "secret:db-previous", "secret:db-v1"}
			for i := range 3 { // cold, then warm from the cache
				got, err := h(invokeCtx(t, 5*time.Second), keys)
				if err != nil {
					t.Fatal(err)
				}
				if got["secret:prod/db"] != "new-pw" || got["secret:db-previous"] != "old-pw" || got["secret:db-v1"] != "old-pw" {
					t.Fatalf("invoke %d: got %v", i, got)
				}
			}
			if n := w.ext.Fetches("prod/db"); n != 3 {
				t.Errorf("%d fetches, want 3: one per version, then none", n)
			}
		})
	}
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
