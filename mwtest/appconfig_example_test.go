package mwtest_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"

	"github.com/lambda-mw/mw/mwtest"
)

// A multi-variant flag, asked for as a function asks the AWS AppConfig
// Agent: ?flag= and the caller's context in Context headers. The first
// variant whose When the context matches is served, else the default one.
func ExampleVariant() {
	ext := mwtest.New(mwtest.AppConfig)
	srv := httptest.NewServer(ext)
	defer srv.Close()
	defer ext.Close()
	ext.PutFeatureFlags("shop", "prod", "flags", map[string]mwtest.Flag{
		"checkout": {
			Variants: []mwtest.Variant{
				{Name: "uk", Enabled: true, Attributes: map[string]any{"currency": "GBP"}, When: map[string]string{"country": "UK"}},
				{Name: "off"},
			},
			DefaultVariant: "off",
		},
	})

	for _, context := range [][]string{{"country=UK", "tier=gold"}, {"country=FR,tier=gold"}, nil} {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/applications/shop/environments/prod/configurations/flags?flag=checkout", nil)
		req.Header["Context"] = context
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			fmt.Println(err)
			return
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Println(resp.StatusCode, string(body))
	}
	// Output:
	// 200 {"_variant":"uk","currency":"GBP","enabled":true}
	// 200 {"_variant":"off","enabled":false}
	// 200 {"_variant":"off","enabled":false}
}
