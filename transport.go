package mw

import (
	"context"
	"fmt"
	"os"

	"github.com/lambda-mw/mw/internal/loopback"
)

// failureHints are what a source says to check when a request failed, by
// the class of the failure.
type failureHints struct {
	unavailable string // nothing (usable) answered: is the server there?
	notHTTP     string // something answered, not in HTTP: is it the server?
	tls         string // the TLS handshake failed: the scheme, the certificate
}

// runtimeAPIEnv is set by Lambda (and by AWS's emulator of it, RIE) for
// every function's process: without it, no extension of the function can
// be serving.
const runtimeAPIEnv = "AWS_LAMBDA_RUNTIME_API"

// outsideLambda is what to add to the hint of an extension that did not
// answer at its default port: outside Lambda, as in a unit test, nothing
// serves there.
func outsideLambda() string {
	if os.Getenv(runtimeAPIEnv) != "" {
		return ""
	}
	return " Outside Lambda (" + runtimeAPIEnv + " is not set), as in a unit test, no extension runs: " +
		"give mw.Wrap an mwtest fake's Options, or run the function under mw-local"
}

// localEndpoint is http://localhost at the port the variable env names,
// read now, or def when it is unset; what names the server in the hint.
func localEndpoint(env, def, what string) (string, error) {
	u, err := loopback.Localhost(env, def)
	if err != nil {
		return "", &SourceError{Class: ClassConfig, Err: err,
			Hint: fmt.Sprintf("set %s to %s port, a number from 1 to 65535 (%s by default), or unset it", env, what, def)}
	}
	return u, nil
}

// requestFailed is the error of a request that got no usable answer. The
// context's own end is returned as it is, for mw to classify.
func requestFailed(ctx context.Context, err error, h failureHints) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	f := loopback.Describe(err)
	switch f.Kind {
	case loopback.Unavailable:
		return &SourceError{Class: ClassUnavailable, Retry: true, Err: f, Hint: h.unavailable}
	case loopback.NotHTTP:
		return &SourceError{Class: ClassMalformed, Err: f, Hint: h.notHTTP}
	}
	return &SourceError{Class: ClassConfig, Err: f, Hint: h.tls}
}
