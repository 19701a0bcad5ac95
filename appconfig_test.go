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

// The tests of the AppConfig accessors (appconfig.go): AppConfig,
// AppConfigJSON and FeatureFlag. The AppConfig Agent source's own tests
// are in appconfig_agent_test.go.

func TestFeatureFlags(t *testing.T) {
	flags := `{"new-checkout":{"enabled":true,"limit":5,"label":"New","beta":true,"regions":["eu","us"],"steps":[1,2.5],"mixed":[1,"a"],"_variant":"Wide"},` +
		`"dark-mode":{"enabled":false},"odd":{"enabled":true,"obj":{"a":[1]}}}`
	ctx := mwtest.NewContext(context.Background(), mwtest.Values{AppConfig: map[string]string{"flags": flags, "settings": `{"batch":1}`, "yaml": "a: 1\n"}})

	f, err := mw.FeatureFlag(ctx, "flags", "new-checkout")
	if err != nil || !f.Enabled || f.Variant != "Wide" {
		t.Fatalf("new-checkout: %+v, %v", f, err)
	}
	want := map[string]any{"limit": 5.0, "label": "New", "beta": true, "regions": []string{"eu", "us"}, "steps": []float64{1, 2.5}, "mixed": []any{1.0, "a"}}
	if fmt.Sprint(f.Attributes) != fmt.Sprint(want) {
		t.Errorf("attributes %#v, want %#v", f.Attributes, want)
	}
	if _, ok := f.Attributes["regions"].([]string); !ok {
		t.Errorf("regions is %T, want []string", f.Attributes["regions"])
	}
	// Each call gets its own copy.
	f.Attributes["limit"] = 0
	f.Attributes["regions"].([]string)[0] = "xx"
	f.Attributes["mixed"].([]any)[0] = "xx"
	g, _ := mw.FeatureFlag(ctx, "flags", "new-checkout")
	if g.Attributes["limit"] != 5.0 || g.Attributes["regions"].([]string)[0] != "eu" || g.Attributes["mixed"].([]any)[0] != 1.0 {
		t.Errorf("a caller's change reached another caller: %#v", g.Attributes)
	}
	o, _ := mw.FeatureFlag(ctx, "flags", "odd")
	o.Attributes["obj"].(map[string]any)["a"].([]any)[0] = "xx"
	if o2, _ := mw.FeatureFlag(ctx, "flags", "odd"); fmt.Sprint(o2.Attributes) != "map[obj:map[a:[1]]]" {
		t.Errorf("nested attribute shared: %v", o2.Attributes)
	}

	if d, err := mw.FeatureFlag(ctx, "flags", "dark-mode"); err != nil || d.Enabled || d.Attributes != nil || d.Variant != "" {
		t.Errorf("dark-mode: %+v, %v", d, err)
	}

	_, err = mw.FeatureFlag(ctx, "flags", "nope")
	var le *mw.LookupError
	if !errors.Is(err, mw.ErrUnknownFlag) || !errors.As(err, &le) || le.Kind != mw.KindAppConfig || le.Name != "flags" ||
		err.Error() != `mw: appconfig "flags": no such feature flag in the profile: "nope"` {
		t.Errorf("unknown flag: %v", err)
	}
	for profile, msg := range map[string]string{
		"settings": `a flag is not a JSON object`,
		"yaml":     "invalid JSON at byte",
	} {
		_, err := mw.FeatureFlag(ctx, profile, "x")
		if !errors.Is(err, mw.ErrDecode) || !strings.Contains(err.Error(), msg) || !strings.Contains(err.Error(), profile) {
			t.Errorf("%s: %v", profile, err)
		}
	}
	_, err = mw.FeatureFlag(ctx, "undeclared", "x")
	if !errors.Is(err, mw.ErrNotDeclared) || !strings.Contains(err.Error(), `not in this test's values: add it to the mwtest.Values`) {
		t.Errorf("undeclared: %v", err)
	}
}

// Malformed feature flags are a decode error that holds nothing of the
// configuration, not even a flag's key.
func TestFeatureFlagDecodeErrorsHoldNoCanary(t *testing.T) {
	for _, raw := range []string{
		`[` + `"` + canary + `"]`,
		`{"` + canary + `":{"enabled":"` + canary + `"}}`,
		`{"` + canary + `":1}`,
		`{"` + canary + `":{"enabled":true,"_variant":["` + canary + `"]}}`,
		`{"` + canary,
		`"` + canary + `"`,
	} {
		ctx := mwtest.NewContext(context.Background(), mwtest.Values{AppConfig: map[string]string{"flags": raw}})
		_, err := mw.FeatureFlag(ctx, "flags", "f")
		if !errors.Is(err, mw.ErrDecode) || strings.Contains(err.Error(), canary) || strings.Contains(fmt.Sprintf("%+v %#v", err, err), canary) {
			t.Errorf("%s: %v", raw, err)
		}
		_, err = mw.AppConfigJSON[settings](ctx, "flags") // may succeed: unknown keys are ignored
		if err != nil && strings.Contains(err.Error(), canary) {
			t.Errorf("AppConfigJSON %s: %v", raw, err)
		}
	}
}

// AppConfig returns a new slice per call; AppConfigJSON decodes as the
// other typed accessors do; a Default is served and decoded like a fetched
// value.
func TestAppConfigAccessors(t *testing.T) {
	w := newAppWorld(t, false)
	w.ext.PutConfiguration("a", "e", "settings", "", []byte(`{"batch":7}`))
	h := mw.Wrap(func(ctx context.Context, _ struct{}) (string, error) {
		b1, _ := mw.AppConfig(ctx, "settings")
		b1[0] = 'X'
		b2, _ := mw.AppConfig(ctx, "settings")
		s, err := mw.AppConfigJSON[settings](ctx, "cfg")
		if err != nil {
			return "", err
		}
		f, err := mw.FeatureFlag(ctx, "flags", "on")
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("%s %d %t", b2, s.Batch, f.Enabled), nil
	}, w.opts(
		mw.WithAppConfig("a", "e", "settings"),
		mw.WithAppConfig("a", "e", "settings", mw.Alias("cfg")),
		mw.WithAppConfig("a", "e", "flags", mw.Default(`{"on":{"enabled":true}}`)),
	)...)
	out, err := h(invokeCtx(t, 5*time.Second), struct{}{})
	if want := `{"batch":7} 7 true`; err != nil || out != want {
		t.Errorf("got %q, %v; want %q", out, err, want)
	}
	if st := w.ext.Stats(); st.Served["a/e/settings"] != 1 {
		t.Errorf("one profile under two refs was fetched %d times", st.Served["a/e/settings"])
	}
}

// A profile is named as handlers read it, by its profile name, in errors;
// read by its application/environment/profile, which errors also show, it
// says to pass the profile's name.
func TestAProfileIsNamedAsHandlersReadIt(t *testing.T) {
	w := newAppWorld(t, false)
	w.ext.PutFeatureFlags("orders", "prod", "flags", map[string]mwtest.Flag{"x": {Enabled: true}})
	h := mw.Wrap(func(ctx context.Context, _ struct{}) (string, error) {
		_, err := mw.FeatureFlag(ctx, "orders/prod/flags", "x")
		return "", err
	}, w.opts(mw.WithAppConfig("orders", "prod", "flags"))...)
	_, err := h(invokeCtx(t, 5*time.Second), struct{}{})
	if !errors.Is(err, mw.ErrNotDeclared) || !strings.Contains(err.Error(), `read by "flags": read it by that name`) {
		t.Errorf("read by application/environment/profile: %v", err)
	}

	_, err = mw.Wrap(echo, w.opts(mw.WithAppConfig("orders", "prod", "missing"))...)(invokeCtx(t, 5*time.Second), nil)
	if fe := asFetchError(t, err); !strings.Contains(fe.Error(), `appconfig "missing" (orders/prod/missing)`) {
		t.Errorf("FetchError %q; want it to name the profile as handlers read it", fe)
	}
}
