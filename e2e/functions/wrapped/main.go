// Command wrapped is the seed function done with mw: it declares a secret
// and a parameter, and mw.Wrap fetches them on the first invoke.
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
	Secret    string `json:"secret"`
	Parameter string `json:"parameter"`
	PID       int    `json:"pid"` // the process, so the script can tell LMI invokes share one
}

func handler(ctx context.Context, _ struct{}) (Out, error) {
	s, err := mw.Secret(ctx, "prod/db")
	if err != nil {
		return Out{}, err
	}
	p, err := mw.Parameter(ctx, "/app/flags")
	if err != nil {
		return Out{}, err
	}
	return Out{Secret: s, Parameter: p, PID: os.Getpid()}, nil
}

func main() {
	lambda.Start(mw.Wrap(handler, mw.WithSecrets("prod/db"), mw.WithParameters("/app/flags")))
}
