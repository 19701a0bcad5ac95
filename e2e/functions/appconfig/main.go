// Command appconfig reads AWS AppConfig through mw: a feature flag and a
// JSON configuration, served by the AWS AppConfig Agent Lambda extension,
// beside a secret served by the Parameters and Secrets extension. mw.Wrap
// fetches all three on the first invoke.
//
// It returns the values themselves: they are the test values of
// testdata/values.json, and the e2e script compares them. A real function
// would never return a secret.
package main

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/lambda-mw/mw"
)

// Out is the invoke response.
type Out struct {
	Checkout bool     `json:"checkout"`
	Limit    float64  `json:"limit"`
	Regions  []string `json:"regions"`
	DarkMode bool     `json:"dark_mode"`
	Batch    int      `json:"batch"`
	Secret   string   `json:"secret"`
	PID      int      `json:"pid"`
}

// Settings is the JSON configuration profile.
type Settings struct {
	Batch int `json:"batch"`
}

func handler(ctx context.Context, _ struct{}) (Out, error) {
	checkout, err := mw.FeatureFlag(ctx, "flags", "new-checkout")
	if err != nil {
		return Out{}, err
	}
	dark, err := mw.FeatureFlag(ctx, "flags", "dark-mode")
	if err != nil {
		return Out{}, err
	}
	s, err := mw.AppConfigJSON[Settings](ctx, "settings")
	if err != nil {
		return Out{}, err
	}
	secret, err := mw.Secret(ctx, "prod/db")
	if err != nil {
		return Out{}, err
	}
	limit, _ := checkout.Attributes["limit"].(float64)
	regions, _ := checkout.Attributes["regions"].([]string)
	return Out{Checkout: checkout.Enabled, Limit: limit, Regions: regions, DarkMode: dark.Enabled,
		Batch: s.Batch, Secret: secret, PID: os.Getpid()}, nil
}

func main() {
	lambda.Start(mw.Wrap(handler,
		mw.WithAppConfig("mw-e2e", "prod", "flags"),
		mw.WithAppConfig("mw-e2e", "prod", "settings"),
		mw.WithSecrets("prod/db")))
}
