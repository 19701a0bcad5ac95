// Command sdk is ../with with mw's AWS SDK source (package
// github.com/lambda-mw/mw/awssdk) in place of the extension:
// scripts/binsize.sh compares the size of the three bootstraps.
package main

import (
	"context"
	"log"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/config"

	"github.com/lambda-mw/mw"
	"github.com/lambda-mw/mw/awssdk"
)

// Event is the function's input.
type Event struct {
	Name string `json:"name"`
}

func handler(_ context.Context, ev Event) (string, error) {
	return "hello " + ev.Name, nil
}

func main() {
	cfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	lambda.Start(mw.Wrap(handler, mw.WithSource(awssdk.New(cfg)), mw.WithSecrets("x")))
}
