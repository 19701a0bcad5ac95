// Command without is the baseline of scripts/binsize.sh: a minimal Lambda
// bootstrap without mw. It differs from ../with only in the call to mw.Wrap.
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/lambda"
)

// Event is the function's input.
type Event struct {
	Name string `json:"name"`
}

func handler(_ context.Context, ev Event) (string, error) {
	return "hello " + ev.Name, nil
}

func main() {
	lambda.Start(handler)
}
