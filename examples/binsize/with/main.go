// Command with is ../without wrapped by mw: scripts/binsize.sh compares the
// size of the two bootstraps, which differ only in the call to mw.Wrap.
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/lambda-mw/mw"
)

// Event is the function's input.
type Event struct {
	Name string `json:"name"`
}

func handler(_ context.Context, ev Event) (string, error) {
	return "hello " + ev.Name, nil
}

func main() {
	lambda.Start(mw.Wrap(handler, mw.WithSecrets("x")))
}
