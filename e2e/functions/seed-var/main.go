// Command seed-var is the seed's failure in Go: a package-level variable
// calls the extension, which runs during INIT and gets the 400. The handler
// returns what that call got.
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/lambda-mw/mw/e2e/internal/naive"
)

// flags is fetched while the package initialises: during Lambda's INIT.
var flags = naive.GetParameter("init", "/app/flags")

func handler(context.Context, struct{}) (naive.Result, error) {
	return flags, nil
}

func main() {
	lambda.Start(handler)
}
