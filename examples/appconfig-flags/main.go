// Command appconfig-flags reads AWS AppConfig through mw: a feature flag of
// a feature-flag profile (AWS.AppConfig.FeatureFlags) and a JSON
// configuration profile, both fetched through the AWS AppConfig Agent Lambda
// extension on the first invoke, like parameters and secrets. Warm invokes
// read them from memory.
//
// Deploy it with the template.yaml next to this file (see README.md). The
// names below must be those of the template's AppConfig application,
// environment and profiles, whose ARNs its policy grants: a test in package
// examples checks that they are.
package main

import (
	"context"
	"time"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/lambda-mw/mw"
)

const (
	application = "mw-example-appconfig"
	environment = "prod"
	// flagsProfile is an AWS.AppConfig.FeatureFlags profile with the flag
	// "new-checkout" (attributes "max-items", a number, and "message").
	flagsProfile = "flags"
	// settingsProfile is a freeform JSON profile.
	settingsProfile = "settings"
)

// Settings is the JSON of the settings profile.
type Settings struct {
	BatchSize int    `json:"batchSize"`
	Currency  string `json:"currency"`
}

// Event is the function's input: a basket.
type Event struct {
	Items int `json:"items"`
}

// Response says which checkout the basket gets, and how it is processed.
type Response struct {
	Checkout string `json:"checkout"` // "new" or "classic"
	Message  string `json:"message,omitempty"`
	Batches  int    `json:"batches"`
	Currency string `json:"currency"`
}

func handler(ctx context.Context, e Event) (Response, error) {
	flag, err := mw.FeatureFlag(ctx, flagsProfile, "new-checkout") // fetched before the handler ran
	if err != nil {
		return Response{}, err
	}
	s, err := mw.AppConfigJSON[Settings](ctx, settingsProfile)
	if err != nil {
		return Response{}, err
	}
	out := Response{Checkout: "classic", Currency: s.Currency, Batches: batches(e.Items, s.BatchSize)}
	// The flag's attributes are there only while it is enabled.
	if maxItems, _ := flag.Attributes["max-items"].(float64); flag.Enabled && float64(e.Items) <= maxItems {
		out.Checkout = "new"
		out.Message, _ = flag.Attributes["message"].(string)
	}
	return out, nil
}

// batches is how many batches of size hold n items.
func batches(n, size int) int {
	if size < 1 {
		size = 1
	}
	return (n + size - 1) / size
}

func main() {
	lambda.Start(mw.Wrap(handler,
		// The extension polls AppConfig every 45 s
		// (AWS_APPCONFIG_EXTENSION_POLL_INTERVAL_SECONDS); a TTL as short
		// makes a flag's change reach warm invokes within about 90 s. A call
		// to the local extension costs no AppConfig API call.
		mw.WithAppConfig(application, environment, flagsProfile, mw.TTL(45*time.Second)),
		mw.WithAppConfig(application, environment, settingsProfile),
	))
}
