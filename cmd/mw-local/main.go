// Command mw-local runs your Lambda function on this machine under AWS's
// Lambda Runtime Interface Emulator (RIE), with mw's emulator serving its
// parameters, secrets and AppConfig profiles from a values file, and sends
// it invokes, one at a time. It needs no root and no container. In a module
// that has it as a tool (docs/running-locally.md says how):
//
//	go tool mw-local -values values.json ./cmd/orders
//
// and in this repository:
//
//	go -C cmd run ./mw-local -values mw-extension/testdata/values.json ../e2e/functions/wrapped
//
// The function is a main package (a directory, or an import path), which
// mw-local builds for linux on this machine's architecture with
// CGO_ENABLED=0 and -tags lambda.norpc, as the provided.al2023 runtime runs
// it; or a bootstrap already built so. RIE runs it as its child, with the
// environment Lambda would give it (not this shell's) and the variables
// that point mw at the emulator, which listens on loopback ports.
//
// The emulated Parameters and Secrets extension answers its generic 400
// until the function receives its first invoke, as the real one does while
// the function initialises: code that reads a secret during INIT meets the
// problem mw solves. mw-local prints each response on standard output, and
// exits 1 when the function failed: an error returned, or an INIT that
// failed, which RIE itself reports only with an empty answer.
//
// Run mw-local -h for the flags, the dialects and the environment.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
