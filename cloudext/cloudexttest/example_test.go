package cloudexttest_test

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"time"

	"github.com/lambda-mw/mw"
	"github.com/lambda-mw/mw/cloudext/cloudexttest"
)

// A wrapped handler tested against the fake runtime, as a user's test
// would (there, Start serves it and closes it when the test ends).
func Example() {
	f := cloudexttest.New(cloudexttest.Settings{})
	srv := httptest.NewServer(f)
	defer srv.Close()
	f.PutSecret("prod/db", "example-only")

	h := mw.Wrap(func(ctx context.Context, _ struct{}) (string, error) {
		return mw.Secret(ctx, "prod/db")
	}, mw.WithSource(f.NewSource(srv.URL)), mw.WithSecrets("prod/db"), mw.WithoutEnvironment())
	fmt.Println(h(context.Background(), struct{}{}))
	// Output: example-only <nil>
}

// A cold start that meets the runtime while it loads: 503 PROFILE_LOADING,
// then EXTENSION_LOADING, then the values.
func ExampleServer_SetLoadingWindow() {
	f := cloudexttest.New(cloudexttest.Settings{})
	srv := httptest.NewServer(f)
	defer srv.Close()
	f.PutParameter("/app/url", cloudexttest.TypeString, "https://example.com")
	f.SetLoadingWindow(30*time.Millisecond, 20*time.Millisecond)

	h := mw.Wrap(func(ctx context.Context, _ struct{}) (string, error) {
		return mw.Parameter(ctx, "/app/url")
	}, mw.WithSource(f.NewSource(srv.URL)), mw.WithParameters("/app/url"), mw.WithoutEnvironment())
	out, err := h(context.Background(), struct{}{})
	readyAt, _ := f.ReadyAt()
	fmt.Println(out, err, f.Stats().NotReady > 0, !time.Now().Before(readyAt))
	// Output: https://example.com <nil> true true
}

// Every documented error can be injected, for the next requests that name
// an item.
func ExampleServer_Inject() {
	f := cloudexttest.New(cloudexttest.Settings{})
	srv := httptest.NewServer(f)
	defer srv.Close()
	f.PutSecret("prod/db", "example-only")
	f.Inject("prod/db", cloudexttest.ProfileNotFound, 1)

	src := f.NewSource(srv.URL)
	res := src.Fetch(context.Background(), "GET /secretsmanager/get", []mw.Item{{Kind: mw.KindSecret, Name: "prod/db"}})
	se, _ := errors.AsType[*mw.SourceError](res[0].Err)
	fmt.Println(se.Status, se.Code, se.Class, se.Retry)
	res = src.Fetch(context.Background(), "GET /secretsmanager/get", []mw.Item{{Kind: mw.KindSecret, Name: "prod/db"}})
	fmt.Println(res[0].Value)
	// Output:
	// 502 BadGatewayException config false
	// example-only
}

// A multi-variant flag, evaluated against each request's context.
func ExampleServer_PutFlags() {
	f := cloudexttest.New(cloudexttest.Settings{})
	srv := httptest.NewServer(f)
	defer srv.Close()
	f.PutFlags("shop", "prod", "flags", map[string]cloudexttest.Flag{"beta": {
		Variants: []cloudexttest.Variant{
			{Name: "on", Enabled: true, When: map[string]string{"tier": "gold"}},
			{Name: "off"},
		},
		DefaultVariant: "off",
	}})
	src := f.NewSource(srv.URL)
	it := mw.Item{Kind: mw.KindAppConfig, Application: "shop", Environment: "prod", Name: "flags"}
	gold, _ := src.EvaluateFlag(context.Background(), it, "beta", map[string]string{"tier": "gold"})
	other, _ := src.EvaluateFlag(context.Background(), it, "beta", nil)
	fmt.Println(gold.Variant, gold.Enabled, other.Variant, other.Enabled)
	// Output: on true off false
}

// A profile whose authentication is the extension key: a request signed
// with the function's IAM credentials is refused.
func ExampleServer_SetAuth() {
	f := cloudexttest.New(cloudexttest.Settings{})
	srv := httptest.NewServer(f)
	defer srv.Close()
	f.PutParameter("/app/url", cloudexttest.TypeString, "https://example.com")
	iam := f.NewSource(srv.URL) // runtime credentials
	f.SetAuth(cloudexttest.Auth{Mode: cloudexttest.AuthExtensionKey})

	res := iam.Fetch(context.Background(), "AmazonSSM.GetParameters", []mw.Item{{Kind: mw.KindParameter, Name: "/app/url"}})
	se, _ := errors.AsType[*mw.SourceError](res[0].Err)
	fmt.Println(se.Status, se.Code, se.Class)
	res = f.NewSource(srv.URL).Fetch(context.Background(), "AmazonSSM.GetParameters", []mw.Item{{Kind: mw.KindParameter, Name: "/app/url"}})
	fmt.Println(res[0].Value)
	// Output:
	// 400 AccessDeniedException bad_token
	// https://example.com
}
