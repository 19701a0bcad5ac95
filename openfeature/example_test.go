package openfeature_test

import (
	"context"
	"fmt"
	"net/http/httptest"

	"github.com/open-feature/go-sdk/openfeature"

	"github.com/lambda-mw/mw"
	"github.com/lambda-mw/mw/mwtest"
	mwof "github.com/lambda-mw/mw/openfeature"
)

// A handler reads its flags through OpenFeature's client, with its own ctx,
// which carries mw's values. In Lambda, the profile comes from the AWS
// AppConfig Agent Lambda extension; here, from mwtest's fake of it.
func ExampleNewProvider() {
	ext := mwtest.New(mwtest.AppConfig)
	srv := httptest.NewServer(ext)
	defer srv.Close()
	ext.PutFeatureFlags("shop", "prod", "flags", map[string]mwtest.Flag{
		"checkout": {
			Variants: []mwtest.Variant{
				{Name: "uk", Enabled: true, Attributes: map[string]any{"currency": "GBP"}, When: map[string]string{"country": "UK"}},
				{Name: "off"},
			},
			DefaultVariant: "off",
		},
	})

	if err := openfeature.SetProviderAndWait(mwof.NewProvider("flags")); err != nil {
		fmt.Println(err)
		return
	}
	client := openfeature.NewDefaultClient()

	handler := func(ctx context.Context, country string) (string, error) {
		// No attributes: read from memory, the default variant.
		fallback, err := client.BooleanValue(ctx, "checkout", false, openfeature.EvaluationContext{})
		if err != nil {
			return "", err
		}
		// Attributes: one local request, evaluated against them.
		evalCtx := openfeature.NewEvaluationContext("user-42", map[string]any{"country": country})
		on, err := client.BooleanValue(ctx, "checkout", false, evalCtx)
		if err != nil {
			return "", err
		}
		currency, _ := client.StringValue(ctx, "checkout.currency", "USD", evalCtx)
		return fmt.Sprintf("default %t, for %s: %t in %s", fallback, country, on, currency), nil
	}
	h := mw.Wrap(handler, append(ext.Options(srv.URL), mw.WithAppConfig("shop", "prod", "flags"))...)

	for _, country := range []string{"UK", "FR"} {
		out, err := h(context.Background(), country)
		fmt.Println(out, err)
	}
	// Output:
	// default false, for UK: true in GBP <nil>
	// default false, for FR: false in USD <nil>
}

// A key names a flag or one of its attributes; each type reads what it
// can.
func ExampleProvider_StringEvaluation() {
	ext := mwtest.New(mwtest.AppConfig)
	srv := httptest.NewServer(ext)
	defer srv.Close()
	ext.PutFeatureFlags("shop", "prod", "flags", map[string]mwtest.Flag{
		"banner": {Enabled: true, Attributes: map[string]any{"text": "Welcome", "width": 640}},
	})
	p := mwof.NewProvider("flags")
	h := mw.Wrap(func(ctx context.Context, _ struct{}) (struct{}, error) {
		none := openfeature.FlattenedContext{}
		fmt.Println(p.BooleanEvaluation(ctx, "banner", false, none).Value)
		fmt.Println(p.StringEvaluation(ctx, "banner.text", "", none).Value)
		fmt.Println(p.IntEvaluation(ctx, "banner.width", 0, none).Value)
		d := p.StringEvaluation(ctx, "banner", "none", none)
		fmt.Println(d.Value, d.Reason, d.Error())
		return struct{}{}, nil
	}, append(ext.Options(srv.URL), mw.WithAppConfig("shop", "prod", "flags"))...)
	_, _ = h(context.Background(), struct{}{})
	// Output:
	// true
	// Welcome
	// 640
	// none ERROR TYPE_MISMATCH: mw: flag "banner" has no variants, so no value as a string: read its state as a boolean, or one of its attributes as "banner.<attribute>"
}

// AppConfig's rules read the targeting key by the name WithTargetingKey
// gives it: here a rule on userId.
func ExampleWithTargetingKey() {
	ext := mwtest.New(mwtest.AppConfig)
	srv := httptest.NewServer(ext)
	defer srv.Close()
	ext.PutFeatureFlags("shop", "prod", "flags", map[string]mwtest.Flag{
		"beta": {
			Variants:       []mwtest.Variant{{Name: "tester", Enabled: true, When: map[string]string{"userId": "u-1"}}, {Name: "off"}},
			DefaultVariant: "off",
		},
	})
	p := mwof.NewProvider("flags", mwof.WithTargetingKey("userId"))
	h := mw.Wrap(func(ctx context.Context, user string) (string, error) {
		d := p.BooleanEvaluation(ctx, "beta", false, openfeature.FlattenedContext{openfeature.TargetingKey: user})
		return fmt.Sprintf("%s: %t (%s, %s)", user, d.Value, d.Variant, d.Reason), d.Error()
	}, append(ext.Options(srv.URL), mw.WithAppConfig("shop", "prod", "flags"))...)
	for _, user := range []string{"u-1", "u-2"} {
		out, err := h(context.Background(), user)
		fmt.Println(out, err)
	}
	// Output:
	// u-1: true (tester, TARGETING_MATCH) <nil>
	// u-2: false (off, DEFAULT) <nil>
}

// The flag's state, or a boolean attribute, as "flag.attribute". In a
// handler's unit test, mwtest.NewContext holds the profile.
func ExampleProvider_BooleanEvaluation() {
	ctx := mwtest.NewContext(context.Background(), mwtest.Values{AppConfig: map[string]string{
		"flags": `{"checkout":{"enabled":true,"express":false}}`,
	}})
	p := mwof.NewProvider("flags")
	none := openfeature.FlattenedContext{}
	fmt.Println(p.BooleanEvaluation(ctx, "checkout", false, none).Value)
	fmt.Println(p.BooleanEvaluation(ctx, "checkout.express", true, none).Value)
	// Output:
	// true
	// false
}

// A number attribute, as "flag.attribute".
func ExampleProvider_FloatEvaluation() {
	ctx := mwtest.NewContext(context.Background(), mwtest.Values{AppConfig: map[string]string{
		"flags": `{"checkout":{"enabled":true,"discount":0.15}}`,
	}})
	p := mwof.NewProvider("flags")
	d := p.FloatEvaluation(ctx, "checkout.discount", 0, openfeature.FlattenedContext{})
	fmt.Println(d.Value, d.Reason)
	// Output: 0.15 STATIC
}

// A number attribute that is a whole number; one that is not gives the
// default, and says why.
func ExampleProvider_IntEvaluation() {
	ctx := mwtest.NewContext(context.Background(), mwtest.Values{AppConfig: map[string]string{
		"flags": `{"checkout":{"enabled":true,"limit":5,"discount":0.15}}`,
	}})
	p := mwof.NewProvider("flags")
	none := openfeature.FlattenedContext{}
	fmt.Println(p.IntEvaluation(ctx, "checkout.limit", 0, none).Value)
	d := p.IntEvaluation(ctx, "checkout.discount", 0, none)
	fmt.Println(d.Value, d.Reason, d.Error())
	// Output:
	// 5
	// 0 ERROR TYPE_MISMATCH: mw: attribute "discount" of flag "checkout" is a number, not a whole number
}

// The flag's attributes as a map, or any one attribute.
func ExampleProvider_ObjectEvaluation() {
	ctx := mwtest.NewContext(context.Background(), mwtest.Values{AppConfig: map[string]string{
		"flags": `{"checkout":{"enabled":true,"limit":5,"regions":["eu-west-1","eu-west-2"]}}`,
	}})
	p := mwof.NewProvider("flags")
	none := openfeature.FlattenedContext{}
	fmt.Println(p.ObjectEvaluation(ctx, "checkout", nil, none).Value)
	fmt.Println(p.ObjectEvaluation(ctx, "checkout.regions", nil, none).Value)
	// Output:
	// map[limit:5 regions:[eu-west-1 eu-west-2]]
	// [eu-west-1 eu-west-2]
}

// The provider names itself Name, as OpenFeature's client reports it.
func ExampleProvider_Metadata() {
	p := mwof.NewProvider("flags")
	fmt.Println(p.Metadata().Name)
	// Output: mw
}

// The provider adds no hook of its own to OpenFeature's: a client's hooks
// are the application's.
func ExampleProvider_Hooks() {
	p := mwof.NewProvider("flags")
	fmt.Println(len(p.Hooks()))
	// Output: 0
}
