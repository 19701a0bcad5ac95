// Command init-exit fails its INIT as a misconfigured function does: when
// ORDERS_TABLE is not set, it says so and exits before it starts taking
// invokes. Lambda (and AWS's Runtime Interface Emulator, more quietly)
// then answers the invoke with an error of its own; the function's last
// words are its only clue. With ORDERS_TABLE set, it answers with it.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
)

func main() {
	table := os.Getenv("ORDERS_TABLE")
	if table == "" {
		fmt.Fprintln(os.Stderr, "init-exit: ORDERS_TABLE is not set: the function cannot start")
		os.Exit(3)
	}
	lambda.Start(func(context.Context, struct{}) (string, error) { return table, nil })
}
