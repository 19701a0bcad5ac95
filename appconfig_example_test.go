package mw_test

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"

	"github.com/lambda-mw/mw"
	"github.com/lambda-mw/mw/mwtest"
)

// A feature-flag profile, declared by application, environment and
// profile, fetched through the AWS AppConfig Agent Lambda extension before
// the first invoke's handler runs, and served from memory after. The
// handle WithAppConfig returns declares it and reads it; FeatureFlag reads
// it by the profile's name too. In Lambda the extension layer listens on
// localhost:2772; here mwtest's fake of it answers instead.
func ExampleWithAppConfig() {
	ext := mwtest.New(mwtest.AppConfig)
	ext.PutFeatureFlags("orders", "prod", "flags", map[string]mwtest.Flag{
		"new-checkout": {Enabled: true, Attributes: map[string]any{"limit": 5}},
	})
	srv := httptest.NewServer(ext)
	defer srv.Close()

	flags := mw.WithAppConfig("orders", "prod", "flags") // var flags = ..., at package level
	h := mw.Wrap(func(ctx context.Context, _ struct{}) (string, error) {
		f, err := flags.Flag(ctx, "new-checkout")
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("new checkout: %t, limit %v", f.Enabled, f.Attributes["limit"]), nil
	}, append(ext.Options(srv.URL), flags)...)

	for range 3 {
		fmt.Println(h(context.Background(), struct{}{}))
	}
	fmt.Println("requests to the extension:", ext.Requests())
	// Output:
	// new checkout: true, limit 5 <nil>
	// new checkout: true, limit 5 <nil>
	// new checkout: true, limit 5 <nil>
	// requests to the extension: 1
}

// The configuration as deployed, whatever its content type: a new slice on
// each call, the caller's to keep.
func ExampleAppConfig() {
	ext := mwtest.New(mwtest.AppConfig)
	ext.PutConfiguration("orders", "prod", "settings", "application/json", []byte(`{"batch":25,"retries":3}`))
	srv := httptest.NewServer(ext)
	defer srv.Close()

	h := mw.Wrap(func(ctx context.Context, _ struct{}) (string, error) {
		b, err := mw.AppConfig(ctx, "settings")
		return string(b), err
	}, append(ext.Options(srv.URL), mw.WithAppConfig("orders", "prod", "settings"))...)

	fmt.Println(h(context.Background(), struct{}{}))
	// Output: {"batch":25,"retries":3} <nil>
}

// A JSON configuration decoded into a struct, as SecretJSON decodes a
// secret.
func ExampleAppConfigJSON() {
	ext := mwtest.New(mwtest.AppConfig)
	ext.PutConfiguration("orders", "prod", "settings", "application/json", []byte(`{"batch":25,"retries":3}`))
	srv := httptest.NewServer(ext)
	defer srv.Close()

	type Settings struct {
		Batch   int `json:"batch"`
		Retries int `json:"retries"`
	}
	h := mw.Wrap(func(ctx context.Context, _ struct{}) (string, error) {
		s, err := mw.AppConfigJSON[Settings](ctx, "settings")
		return fmt.Sprintf("%+v", s), err
	}, append(ext.Options(srv.URL), mw.WithAppConfig("orders", "prod", "settings"))...)

	fmt.Println(h(context.Background(), struct{}{}))
	// Output: {Batch:25 Retries:3} <nil>
}

// A flag, its attributes, and a flag the profile does not hold. A handler
// unit test needs no extension: mwtest.NewContext carries the profile as
// the extension serves it.
func ExampleFeatureFlag() {
	ctx := mwtest.NewContext(context.Background(), mwtest.Values{AppConfig: map[string]string{
		"flags": `{"new-checkout":{"enabled":true,"limit":5,"regions":["eu-west-1"]},"dark-mode":{"enabled":false}}`,
	}})
	f, err := mw.FeatureFlag(ctx, "flags", "new-checkout")
	fmt.Println(f.Enabled, f.Attributes["limit"], f.Attributes["regions"], err)

	f, err = mw.FeatureFlag(ctx, "flags", "dark-mode")
	fmt.Println(f.Enabled, f.Attributes, err)

	_, err = mw.FeatureFlag(ctx, "flags", "dark-mdoe")
	fmt.Println(errors.Is(err, mw.ErrUnknownFlag), err)
	// Output:
	// true 5 [eu-west-1] <nil>
	// false map[] <nil>
	// true mw: appconfig "flags": no such feature flag in the profile: "dark-mdoe"
}

// A Flag's attributes are typed as AppConfig types them.
func ExampleFlag() {
	ctx := mwtest.NewContext(context.Background(), mwtest.Values{AppConfig: map[string]string{
		"flags": `{"banner":{"enabled":true,"_variant":"Blue","text":"Hello","width":640,"wide":true,"sizes":[1,2]}}`,
	}})
	f, _ := mw.FeatureFlag(ctx, "flags", "banner")
	fmt.Println(f.Variant)
	for _, k := range []string{"text", "width", "wide", "sizes"} {
		fmt.Printf("%s: %T\n", k, f.Attributes[k])
	}
	// Output:
	// Blue
	// text: string
	// width: float64
	// wide: bool
	// sizes: []float64
}

// In Lambda, the extension listens on localhost at
// AWS_APPCONFIG_EXTENSION_HTTP_PORT (2772 by default), which mw reads on
// each fetch; an endpoint is for tests and for the agent run elsewhere. A
// profile that is not deployed fails the invoke, naming what to check.
func ExampleWithAppConfigEndpoint() {
	ext := mwtest.New(mwtest.AppConfig)
	ext.PutFeatureFlags("orders", "prod", "flags", map[string]mwtest.Flag{"new-checkout": {Enabled: true}})
	srv := httptest.NewServer(ext)
	defer srv.Close()

	h := mw.Wrap(func(ctx context.Context, _ struct{}) (string, error) {
		return "the handler ran", nil
	}, mw.WithAppConfigEndpoint(srv.URL), mw.WithoutEnvironment(), mw.WithAppConfig("orders", "test", "flags"))

	_, err := h(context.Background(), struct{}{})
	if fe, ok := errors.AsType[*mw.FetchError](err); ok {
		fmt.Println(fe.Source, fe.Class, fe.Status)
		fmt.Println(fe.Hint())
	}
	// Output:
	// appconfig not_found 404
	// AppConfig has no configuration profile "flags" deployed to environment "test" of application "orders" in this account and region: check the names (or IDs) given to WithAppConfig, that a deployment of the profile to the environment has started, and the region (AWS_APPCONFIG_EXTENSION_SERVICE_REGION, when set; a role in AWS_APPCONFIG_EXTENSION_ROLE_ARN reads its own account)
}

// A multi-variant flag evaluated against each caller's context: one local
// request to the AWS AppConfig Agent Lambda extension per call, where
// FeatureFlag answers from memory with the default variant. Here the
// extension is mwtest's fake; its variants' When stands in for AppConfig's
// rules.
func ExampleEvaluateFlag() {
	ext := mwtest.New(mwtest.AppConfig)
	srv := httptest.NewServer(ext)
	defer srv.Close()
	ext.PutFeatureFlags("shop", "prod", "flags", map[string]mwtest.Flag{
		"checkout": {
			Variants: []mwtest.Variant{
				{Name: "uk-gold", Enabled: true, Attributes: map[string]any{"limit": 500}, When: map[string]string{"country": "UK", "tier": "gold"}},
				{Name: "uk", Enabled: true, Attributes: map[string]any{"limit": 100}, When: map[string]string{"country": "UK"}},
				{Name: "off"},
			},
			DefaultVariant: "off",
		},
	})

	type customer struct{ Country, Tier string }
	h := mw.Wrap(func(ctx context.Context, c customer) (string, error) {
		f, err := mw.EvaluateFlag(ctx, "flags", "checkout", map[string]string{"country": c.Country, "tier": c.Tier})
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("%s: %t, limit %v", f.Variant, f.Enabled, f.Attributes["limit"]), nil
	}, mw.WithAppConfig("shop", "prod", "flags"), mw.WithAppConfigEndpoint(srv.URL))

	for _, c := range []customer{{"UK", "gold"}, {"UK", "silver"}, {"FR", "gold"}} {
		fmt.Println(h(context.Background(), c))
	}
	fmt.Println("requests to the extension:", ext.Requests())
	// Output:
	// uk-gold: true, limit 500 <nil>
	// uk: true, limit 100 <nil>
	// off: false, limit <nil> <nil>
	// requests to the extension: 4
}

// ErrNotEvaluable: a profile read through a source that cannot evaluate a
// flag against a context, here mwtest's Source. FeatureFlag still reads
// the flag as fetched.
func ExampleEvaluateFlag_errNotEvaluable() {
	ext := mwtest.New(mwtest.AppConfig)
	ext.PutFeatureFlags("shop", "prod", "flags", map[string]mwtest.Flag{"checkout": {Enabled: true}})

	h := mw.Wrap(func(ctx context.Context, _ struct{}) (bool, error) {
		_, err := mw.EvaluateFlag(ctx, "flags", "checkout", map[string]string{"tier": "gold"})
		fmt.Println(errors.Is(err, mw.ErrNotEvaluable))
		fmt.Println(err)
		f, err := mw.FeatureFlag(ctx, "flags", "checkout")
		return f.Enabled, err
	}, mw.WithoutEnvironment(), mw.WithAppConfig("shop", "prod", "flags", mw.From(ext.Source())))

	fmt.Println(h(context.Background(), struct{}{}))
	// Output:
	// true
	// mw: appconfig "flags": the profile's source cannot evaluate a flag against a context: the mwtest source does not; read the profile through the AWS AppConfig Agent or Cloud Extensions
	// true <nil>
}

// tierFlags is a Source of your own for feature-flag profiles that is also
// a FlagEvaluator: its one flag, "checkout", is on for callers of the gold
// tier.
type tierFlags struct{}

func (tierFlags) Name() string { return "tiers" }

func (tierFlags) Plan(it mw.Item) (mw.Plan, error) {
	if it.Kind != mw.KindAppConfig {
		return mw.Plan{}, mw.ErrNotServed
	}
	return mw.Plan{Op: "GetFlags", Batch: 1}, nil
}

// Fetch serves each profile as fetched with no context: its default variant.
func (tierFlags) Fetch(_ context.Context, _ string, items []mw.Item) []mw.Result {
	out := make([]mw.Result, len(items))
	for i := range out {
		out[i].Value = `{"checkout":{"enabled":false,"_variant":"off"}}`
	}
	return out
}

// EvaluateFlag chooses the flag's variant by the caller's tier.
func (tierFlags) EvaluateFlag(_ context.Context, _ mw.Item, flag string, evalCtx map[string]string) (mw.Flag, error) {
	if flag != "checkout" {
		return mw.Flag{}, mw.ErrUnknownFlag
	}
	if evalCtx["tier"] == "gold" {
		return mw.Flag{Enabled: true, Variant: "gold", Attributes: map[string]any{"limit": 500.0}}, nil
	}
	return mw.Flag{Variant: "off"}, nil
}

// A source of your own that evaluates flags: EvaluateFlag asks it on each
// call, with the caller's context.
func ExampleFlagEvaluator() {
	h := mw.Wrap(func(ctx context.Context, tier string) (string, error) {
		f, err := mw.EvaluateFlag(ctx, "flags", "checkout", map[string]string{"tier": tier})
		return fmt.Sprintf("%s: %t, limit %v", f.Variant, f.Enabled, f.Attributes["limit"]), err
	}, mw.WithoutEnvironment(), mw.WithAppConfig("shop", "prod", "flags", mw.From(tierFlags{})))

	fmt.Println(h(context.Background(), "gold"))
	fmt.Println(h(context.Background(), "silver"))
	// Output:
	// gold: true, limit 500 <nil>
	// off: false, limit <nil> <nil>
}
