package cloudext_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lambda-mw/mw"
	"github.com/lambda-mw/mw/cloudext/cloudexttest"
)

// mw.EvaluateFlag in a wrapped handler whose profile Cloud Extensions
// serves: one GetFlag a call, the variant the context matched.
func TestWrappedEvaluateFlag(t *testing.T) {
	f, srv := cloudexttest.Start(t, cloudexttest.Settings{})
	f.PutFlags("shop", "prod", "flags", map[string]cloudexttest.Flag{
		"checkout": {
			Variants: []cloudexttest.Variant{
				{Name: "uk", Enabled: true, When: map[string]string{"country": "UK"}, Attributes: map[string]any{"limit": 100.0, "note": canary + "attr"}},
				{Name: "off", Enabled: false},
			},
			DefaultVariant: "off",
		},
	})
	type result struct {
		cached, evaluated mw.Flag
	}
	var once sync.Once
	var fail func()
	h := mw.Wrap(func(ctx context.Context, evalCtx map[string]string) (result, error) {
		if fail != nil {
			once.Do(fail)
		}
		var r result
		var err error
		if r.cached, err = mw.FeatureFlag(ctx, "flags", "checkout"); err != nil {
			return r, err
		}
		r.evaluated, err = mw.EvaluateFlag(ctx, "flags", "checkout", evalCtx)
		return r, err
	}, mw.WithoutEnvironment(), mw.WithSource(f.NewSource(srv.URL)), mw.WithAppConfig("shop", "prod", "flags"))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	for _, tc := range []struct {
		evalCtx map[string]string
		variant string
		enabled bool
	}{
		{map[string]string{"country": "UK", "userId": canary + "ctx"}, "uk", true},
		{map[string]string{"country": "FR"}, "off", false},
		{nil, "off", false},
	} {
		r, err := h(ctx, tc.evalCtx)
		if err != nil || r.evaluated.Variant != tc.variant || r.evaluated.Enabled != tc.enabled {
			t.Errorf("%v: %+v, %v; want %s", tc.evalCtx, r.evaluated, err, tc.variant)
		}
		// FeatureFlag reads the profile as GetConfiguration rendered it,
		// with no context: the default variant, from memory.
		if r.cached.Variant != "off" || r.cached.Enabled {
			t.Errorf("FeatureFlag: %+v; want the default variant", r.cached)
		}
	}
	if st := f.Stats(); st.Operations["GetConfiguration"] != 1 || st.Operations["GetFlag"] != 3 {
		t.Errorf("operations %v; want one GetConfiguration and a GetFlag per evaluation", st.Operations)
	}

	// A flag the profile lacks.
	unknown := mw.Wrap(func(ctx context.Context, evalCtx map[string]string) (mw.Flag, error) {
		return mw.EvaluateFlag(ctx, "flags", "nope", evalCtx)
	}, mw.WithoutEnvironment(), mw.WithSource(f.NewSource(srv.URL)), mw.WithAppConfig("shop", "prod", "flags"))
	_, err := unknown(ctx, map[string]string{"userId": canary + "ctx"})
	var le *mw.LookupError
	if !errors.As(err, &le) || !errors.Is(err, mw.ErrUnknownFlag) || le.Name != "flags" || !strings.Contains(err.Error(), `"nope"`) {
		t.Errorf("an unknown flag: %v; want a *LookupError wrapping mw.ErrUnknownFlag", err)
	}
	noSecrets(t, err)

	// AppConfig refusing the extension's role, after the profile was
	// fetched: a *FetchError with the fix.
	fail = func() { f.DenyConfiguration("shop", "prod", "flags") }
	_, err = h(ctx, map[string]string{"country": "UK", "userId": canary + "ctx"})
	var fe *mw.FetchError
	if !errors.As(err, &fe) || fe.Class != mw.ClassAccessDenied || fe.Source != "cloudext" || fe.Name != "shop/prod/flags" {
		t.Errorf("denied: %v (%+v); want an access_denied *FetchError", err, fe)
	}
	noSecrets(t, err)
}
