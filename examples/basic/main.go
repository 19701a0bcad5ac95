// Command basic is the smallest deployable function that uses mw: one SSM
// parameter and one Secrets Manager secret, declared in main and fetched
// through the AWS Parameters and Secrets Lambda Extension on the first
// invoke. Warm invokes read them from memory.
//
// Deploy it with the template.yaml next to this file (see README.md). The
// names below must match the ARNs the template's policy grants: a test in
// package examples checks that they do.
package main

import (
	"context"
	"strings"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/lambda-mw/mw"
)

const (
	// greetingParameter is a String parameter, such as "hello".
	greetingParameter = "/mw-examples/basic/greeting"
	// apiKeySecret is a secret string, such as an API key.
	apiKeySecret = "mw-examples/basic/api-key"
)

// Event is the function's input.
type Event struct {
	Name string `json:"name"`
}

// Response is the function's output. It never carries the secret: only
// whether one was there and a masked form of it.
type Response struct {
	Message string `json:"message"`
	APIKey  string `json:"api_key"` // masked: "****" and the last 4 characters
}

func handler(ctx context.Context, e Event) (Response, error) {
	greeting, err := mw.Parameter(ctx, greetingParameter) // fetched before the handler ran
	if err != nil {
		return Response{}, err
	}
	key, err := mw.Secret(ctx, apiKeySecret)
	if err != nil {
		return Response{}, err
	}
	name := e.Name
	if name == "" {
		name = "world"
	}
	// A real function would call its API with key here.
	return Response{Message: greeting + ", " + name, APIKey: mask(key)}, nil
}

// mask shows at most the last 4 characters of s, and none of a short s.
func mask(s string) string {
	if len(s) < 12 {
		return strings.Repeat("*", len(s))
	}
	return "****" + s[len(s)-4:]
}

func main() {
	lambda.Start(mw.Wrap(handler,
		mw.WithParameters(greetingParameter),
		mw.WithSecrets(apiKeySecret),
	))
}
