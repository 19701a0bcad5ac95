// Command cloudext reads its items through AWS Systems Manager Cloud
// Extensions, as a function with the Cloud Extensions runtime as its layer
// does: a secret, a parameter, a feature flag profile and a JSON profile,
// all through mw's cloudext source (mw.WithSource(cloudext.New(cfg))),
// which calls the runtime on http://localhost:5333 and signs every request
// with the function's own credentials (config.LoadDefaultConfig). mw.Wrap
// fetches all four on the first invoke, and waits for the runtime while it
// answers 503 PROFILE_LOADING or EXTENSION_LOADING.
//
// It returns the values themselves: they are the test values of
// testdata/values.json, and the e2e script compares them. A real function
// would never return a secret.
package main

import (
	"context"
	"log"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/config"

	"github.com/lambda-mw/mw"
	"github.com/lambda-mw/mw/cloudext"
)

// Out is the invoke response.
type Out struct {
	Secret    string   `json:"secret"`
	Parameter string   `json:"parameter"`
	Checkout  bool     `json:"checkout"`
	Limit     float64  `json:"limit"`
	Regions   []string `json:"regions"`
	Batch     int      `json:"batch"`
	PID       int      `json:"pid"`
}

// Settings is the JSON configuration profile.
type Settings struct {
	Batch int `json:"batch"`
}

func handler(ctx context.Context, _ struct{}) (Out, error) {
	secret, err := mw.Secret(ctx, "prod/db")
	if err != nil {
		return Out{}, err
	}
	param, err := mw.Parameter(ctx, "/app/flags")
	if err != nil {
		return Out{}, err
	}
	checkout, err := mw.FeatureFlag(ctx, "flags", "new-checkout")
	if err != nil {
		return Out{}, err
	}
	s, err := mw.AppConfigJSON[Settings](ctx, "settings")
	if err != nil {
		return Out{}, err
	}
	limit, _ := checkout.Attributes["limit"].(float64)
	regions, _ := checkout.Attributes["regions"].([]string)
	return Out{Secret: secret, Parameter: param, Checkout: checkout.Enabled, Limit: limit, Regions: regions,
		Batch: s.Batch, PID: os.Getpid()}, nil
}

func main() {
	cfg, err := config.LoadDefaultConfig(context.Background()) // the function's credentials and Region; no I/O
	if err != nil {
		log.Fatal(err)
	}
	lambda.Start(mw.Wrap(handler,
		mw.WithSource(cloudext.New(cfg)),
		mw.WithSecrets("prod/db"),
		mw.WithParameters("/app/flags"),
		mw.WithAppConfig("mw-e2e", "prod", "flags"),
		mw.WithAppConfig("mw-e2e", "prod", "settings"),
	))
}
