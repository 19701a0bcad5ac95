package mw_test

import (
	"context"
	"fmt"
	"net/http/httptest"

	"github.com/lambda-mw/mw"
	"github.com/lambda-mw/mw/mwtest"
)

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
