// Command seed-config is the seed's second failure: the extension call hides
// in an imported config package, so it runs during INIT and gets the 400.
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/lambda-mw/mw/e2e/functions/seed-config/config"
	"github.com/lambda-mw/mw/e2e/internal/naive"
)

func handler(context.Context, struct{}) (naive.Result, error) {
	return config.Flags, nil
}

func main() {
	lambda.Start(handler)
}
