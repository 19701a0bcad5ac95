package mw_test

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"

	"github.com/lambda-mw/mw"
	"github.com/lambda-mw/mw/mwtest"
)

// fakeAppConfig serves mw's fake of the AWS AppConfig Agent Lambda
// extension with a feature-flag profile and a JSON one, and returns its
// URL, for these examples. In Lambda the extension layer listens on
// localhost:2772 and no WithAppConfigEndpoint is needed.
func fakeAppConfig() (*mwtest.Extension, string, func()) {
	ext := mwtest.New(mwtest.AppConfig)
	ext.PutFeatureFlags("orders", "prod", "flags", map[string]mwtest.Flag{
		"new-checkout": {Enabled: true, Attributes: map[string]any{"limit": 5, "regions": []string{"eu-west-1"}}},
		"dark-mode":    {Enabled: false},
	})
	ext.PutConfiguration("orders", "prod", "settings", "application/json", []byte(`{"batch":25,"retries":3}`))
	srv := httptest.NewServer(ext)
	return ext, srv.URL, func() { ext.Close(); srv.Close() }
}

func ExampleWithAppConfig() {
	ext, url, stop := fakeAppConfig()
	defer stop()

	h := mw.Wrap(func(ctx context.Context, _ Event) (string, error) {
		f, err := mw.FeatureFlag(ctx, "flags", "new-checkout") // fetched before the handler ran
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("new checkout: %t, limit %v", f.Enabled, f.Attributes["limit"]), nil
	}, mw.WithAppConfig("orders", "prod", "flags"), mw.WithAppConfigEndpoint(url))

	for range 3 {
		fmt.Println(h(context.Background(), Event{}))
	}
	fmt.Println("requests to the extension:", ext.Requests())
	// Output:
	// new checkout: true, limit 5 <nil>
	// new checkout: true, limit 5 <nil>
	// new checkout: true, limit 5 <nil>
	// requests to the extension: 1
}

// The configuration as deployed, whatever its content type.
func ExampleAppConfig() {
	_, url, stop := fakeAppConfig()
	defer stop()

	h := mw.Wrap(func(ctx context.Context, _ Event) (string, error) {
		b, err := mw.AppConfig(ctx, "settings")
		return string(b), err
	}, mw.WithAppConfig("orders", "prod", "settings"), mw.WithAppConfigEndpoint(url))

	fmt.Println(h(context.Background(), Event{}))
	// Output: {"batch":25,"retries":3} <nil>
}

func ExampleAppConfigJSON() {
	_, url, stop := fakeAppConfig()
	defer stop()

	type Settings struct {
		Batch   int `json:"batch"`
		Retries int `json:"retries"`
	}
	h := mw.Wrap(func(ctx context.Context, _ Event) (string, error) {
		s, err := mw.AppConfigJSON[Settings](ctx, "settings")
		return fmt.Sprintf("%+v", s), err
	}, mw.WithAppConfig("orders", "prod", "settings"), mw.WithAppConfigEndpoint(url))

	fmt.Println(h(context.Background(), Event{}))
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
// each fetch; an endpoint is for tests and for the agent run elsewhere.
// A profile that is not deployed fails the invoke, naming what to check.
func ExampleWithAppConfigEndpoint() {
	_, url, stop := fakeAppConfig()
	defer stop()

	h := mw.Wrap(func(ctx context.Context, _ Event) (string, error) {
		return "the handler ran", nil
	}, mw.WithAppConfig("orders", "test", "flags"), mw.WithAppConfigEndpoint(url))

	_, err := h(context.Background(), Event{})
	var fe *mw.FetchError
	if errors.As(err, &fe) {
		fmt.Println(fe.Source, fe.Class, fe.Status)
		fmt.Println(fe.Hint())
	}
	// Output:
	// appconfig not_found 404
	// AppConfig has no configuration profile "flags" deployed to environment "test" of application "orders" in this account and region: check the names (or IDs) given to WithAppConfig, that a deployment of the profile to the environment has started, and the region (AWS_APPCONFIG_EXTENSION_SERVICE_REGION, when set; a role in AWS_APPCONFIG_EXTENSION_ROLE_ARN reads its own account)
}
