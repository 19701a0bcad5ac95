// Command mw-extension is a local stand-in for the AWS Parameters and
// Secrets Lambda Extension (and for the aws-secretsmanager-agent, the AWS
// AppConfig Agent Lambda extension with -dialect appconfig, and the AWS
// Systems Manager Cloud Extensions runtime with -dialect cloudext). It
// serves the values of a JSON file over the extension's HTTP protocol,
// using the same fakes as package mwtest and package cloudexttest, and can
// inject the extension's faults.
//
// Run it alone for local development:
//
//	AWS_SESSION_TOKEN=local mw-extension -values cmd/mw-extension/testdata/values.json
//
// or put it in /opt/extensions, where Lambda (or the Lambda Runtime
// Interface Emulator) starts it as an external extension: when
// AWS_LAMBDA_RUNTIME_API is set it registers with the Extensions API,
// answers the managed extension's generic 400 until its first INVOKE event,
// as the real one does during INIT, and exits on SHUTDOWN. Started that way
// it gets no arguments: every flag can be set by an environment variable.
// To run it as the AppConfig extension beside another copy (both see the
// same environment), put in /opt/extensions a script that starts it with
// -dialect appconfig under a name of its own:
//
//	#!/bin/bash
//	exec -a mw-appconfig /opt/mw/mw-extension -dialect appconfig
//
// The same goes for the Cloud Extensions runtime (-dialect cloudext, port
// 5333), which checks each request's SigV4 signature against the
// function's credentials (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
// AWS_SESSION_TOKEN), and answers 503 PROFILE_LOADING until its first
// INVOKE event (-ready-at register: once registered).
//
// Run mw-extension -h for the flags and the values-file format.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"syscall"

	"github.com/lambda-mw/mw/cmd/internal/fakeext"
)

const (
	portEnv           = "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT"
	tokenEnv          = "AWS_SESSION_TOKEN"
	runtimeAPIEnv     = "AWS_LAMBDA_RUNTIME_API"
	maxConcurrencyEnv = "AWS_LAMBDA_MAX_CONCURRENCY"
	defaultPort       = 2773

	// The AppConfig extension's port, in the appconfig dialect.
	appConfigPortEnv     = "AWS_APPCONFIG_EXTENSION_HTTP_PORT"
	appConfigDefaultPort = 2772

	// The cloudext dialect's port (AWS documents no variable for the
	// runtime's: it "owns the port"), and the function's credentials,
	// which Lambda gives the runtime too.
	cloudExtPortEnv = "MW_EXT_CLOUDEXT_PORT"
	accessKeyEnv    = "AWS_ACCESS_KEY_ID"
	secretKeyEnv    = "AWS_SECRET_ACCESS_KEY"
)

// The cloudext dialect's authentications, as the Cloud Extensions API
// names a profile's.
const (
	authRuntime = "runtimeCredentials"
	authKey     = "extensionKey"
	authNone    = "none"
)

func main() {
	name := filepath.Base(os.Args[0])
	cfg, err := parseFlags(name, os.Args[1:], os.Getenv, os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		os.Exit(2)
	}
	logger := log.New(os.Stderr, "["+name+"] ", 0)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	code := run(ctx, name, cfg, os.Getenv(runtimeAPIEnv), os.Getenv(maxConcurrencyEnv), logger)
	logger.Printf("exit %d", code)
	os.Exit(code)
}

// run serves until ctx is done or, in Lambda mode, SHUTDOWN. It returns the
// exit code.
// runtimeAPI and maxConcurrency are $AWS_LAMBDA_RUNTIME_API and
// $AWS_LAMBDA_MAX_CONCURRENCY.
func run(ctx context.Context, name string, cfg config, runtimeAPI, maxConcurrency string, logger *log.Logger) int {
	lambdaMode := cfg.lambda == "on" || (cfg.lambda == "auto" && runtimeAPI != "")
	if lambdaMode && runtimeAPI == "" {
		logger.Printf("-lambda=on needs $%s", runtimeAPIEnv)
		return 2
	}
	ext, err := newFake(cfg, logger)
	if err != nil {
		logger.Printf("values: %v", err)
		return 2
	}
	em := &emulator{name: name, cfg: cfg, logger: logger, ext: ext}
	if lambdaMode || cfg.notReadyFor > 0 {
		ext.SetReady(false)
	}
	lnErr := em.listen()
	if !lambdaMode {
		return em.standalone(ctx, lnErr)
	}
	return em.lambda(ctx, newExtClient(runtimeAPI, &http.Client{}), maxConcurrency != "", lnErr)
}

// emulator is the fake extension being served, and what serves it.
type emulator struct {
	name      string
	cfg       config
	logger    *log.Logger
	ext       fakeext.Fake
	srv       *fakeext.Server // nil until it listens
	readyOnce sync.Once
}

// standalone serves until ctx is done.
func (em *emulator) standalone(ctx context.Context, lnErr error) int {
	if lnErr != nil {
		em.logger.Printf("listen: %v", lnErr)
		return 1
	}
	em.ready("standalone")
	<-ctx.Done()
	em.shutdown("signal")
	return 0
}
