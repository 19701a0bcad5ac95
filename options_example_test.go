package mw_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"time"

	"github.com/lambda-mw/mw"
	"github.com/lambda-mw/mw/mwtest"
)

// Values are served from memory for the TTL, five minutes by default; an
// invoke after it fetches again. WithTTL(0) fetches on every invoke.
func ExampleWithTTL() {
	ext := mwtest.New(mwtest.Managed)
	ext.PutParameter("/app/flags", "String", "beta")
	srv := httptest.NewServer(ext)
	defer srv.Close()

	for _, ttl := range []time.Duration{time.Minute, 0} {
		h := mw.Wrap(func(ctx context.Context, _ struct{}) (string, error) {
			return mw.Parameter(ctx, "/app/flags")
		}, append(ext.Options(srv.URL), mw.WithParameters("/app/flags"), mw.WithTTL(ttl))...)
		ext.Reset()
		for range 3 {
			_, _ = h(context.Background(), struct{}{})
		}
		fmt.Printf("WithTTL(%v): %d requests in 3 invokes\n", ttl, ext.Requests())
	}
	// Output:
	// WithTTL(1m0s): 1 requests in 3 invokes
	// WithTTL(0s): 3 requests in 3 invokes
}

// In Lambda the extension listens on localhost, at the port in
// PARAMETERS_SECRETS_EXTENSION_HTTP_PORT, and needs no endpoint; next to
// the Secrets Manager Agent on ECS, EKS or EC2, it is WithEndpoint (or
// MW_ENDPOINT). The endpoint must be on loopback: the session token goes
// with every request.
func ExampleWithEndpoint() {
	ext := mwtest.New(mwtest.Managed)
	ext.SetToken("session-token")
	ext.PutSecret("prod/db", "hunter2")
	srv := httptest.NewServer(ext)
	defer srv.Close()

	h := mw.Wrap(func(ctx context.Context, _ struct{}) (int, error) {
		pw, err := mw.Secret(ctx, "prod/db")
		return len(pw), err
	}, mw.WithEndpoint(srv.URL), mw.WithToken("session-token"), mw.WithSecrets("prod/db"), mw.WithoutEnvironment())

	fmt.Println(h(context.Background(), struct{}{}))
	// Output: 7 <nil>
}

// A fixed token, rather than AWS_SESSION_TOKEN (or, for the agent,
// AWS_TOKEN) read on each fetch. A wrong one is said as such, with its fix.
func ExampleWithToken() {
	ext := mwtest.New(mwtest.Managed)
	ext.SetToken("the-right-token")
	ext.PutSecret("prod/db", "hunter2")
	srv := httptest.NewServer(ext)
	defer srv.Close()

	for _, tok := range []string{"the-right-token", "a-wrong-token"} {
		h := mw.Wrap(func(ctx context.Context, _ struct{}) (int, error) {
			pw, err := mw.Secret(ctx, "prod/db")
			return len(pw), err
		}, mw.WithEndpoint(srv.URL), mw.WithToken(tok), mw.WithSecrets("prod/db"), mw.WithoutEnvironment())
		_, err := h(context.Background(), struct{}{})
		if fe, ok := errors.AsType[*mw.FetchError](err); ok {
			fmt.Println(tok+":", fe.Class, fe.Status)
		} else {
			fmt.Println(tok+":", err)
		}
	}
	// Output:
	// the-right-token: <nil>
	// a-wrong-token: bad_token 401
}

// WithoutEnvironment makes the Wrap read none of the MW_* variables: what
// the code declares is all it fetches, whatever the shell or the function's
// configuration says. mwtest's Options include it, so that a handler's
// unit test does not depend on the developer's shell.
func ExampleWithoutEnvironment() {
	ext := mwtest.New(mwtest.Managed)
	ext.PutSecret("prod/db", "hunter2")
	srv := httptest.NewServer(ext)
	defer srv.Close()

	h := mw.Wrap(func(ctx context.Context, _ struct{}) (int, error) {
		pw, err := mw.Secret(ctx, "prod/db")
		return len(pw), err
	}, mw.WithoutEnvironment(), mw.WithEndpoint(srv.URL), mw.WithToken(mwtest.DefaultToken), mw.WithSecrets("prod/db"))

	fmt.Println(h(context.Background(), struct{}{}))
	// Output: 7 <nil>
}

// An endpoint off loopback is refused, since the session token goes with
// every request, unless WithRemoteEndpoint allows it: for an agent you run
// on a host you trust, over https.
func ExampleWithRemoteEndpoint() {
	handler := func(ctx context.Context, _ struct{}) (string, error) { return mw.Secret(ctx, "prod/db") }

	func() {
		defer func() { fmt.Println(recover()) }()
		mw.Wrap(handler, mw.WithEndpoint("https://agent.internal.example:2773"), mw.WithSecrets("prod/db"), mw.WithoutEnvironment())
	}()

	mw.Wrap(handler, mw.WithEndpoint("https://agent.internal.example:2773"), mw.WithRemoteEndpoint(), mw.WithSecrets("prod/db"), mw.WithoutEnvironment())
	fmt.Println("allowed")
	// Output:
	// mw: WithEndpoint("https://agent.internal.example:2773"): agent.internal.example is not a loopback host, and every request carries the session token: the extension and the agent listen on localhost; to send the token to another host on purpose, allow it with WithRemoteEndpoint (WithoutEnvironment ignores MW_ALLOW_REMOTE_ENDPOINT)
	// allowed
}

// The managed extension answers 400 while it starts, just as it does for a
// missing item. Within the startup window mw takes a 400 for "not ready"
// and polls until the extension serves; with no window it fails at once.
func ExampleWithStartupWindow() {
	for _, window := range []time.Duration{0, mw.DefaultStartupWindow} {
		ext := mwtest.New(mwtest.Managed)
		ext.PutSecret("prod/db", "hunter2")
		ext.NotReadyFor(3) // the next 3 requests get the startup 400
		srv := httptest.NewServer(ext)

		h := mw.Wrap(func(ctx context.Context, _ struct{}) (int, error) {
			pw, err := mw.Secret(ctx, "prod/db")
			return len(pw), err
		}, append(ext.Options(srv.URL), mw.WithSecrets("prod/db"), mw.WithStartupWindow(window))...)

		n, err := h(context.Background(), struct{}{})
		if fe, ok := errors.AsType[*mw.FetchError](err); ok {
			fmt.Printf("window %v: failed, %s after %d attempt(s)\n", window, fe.Class, fe.Attempts)
		} else {
			fmt.Printf("window %v: %d bytes after %d requests\n", window, n, ext.Requests())
		}
		srv.Close()
	}
	// Output:
	// window 0s: failed, rejected after 1 attempt(s)
	// window 2s: 7 bytes after 4 requests
}

// A hung extension costs at most the fetch timeout, and never more than
// the invoke's deadline allows.
func ExampleWithFetchTimeout() {
	ext := mwtest.New(mwtest.Managed)
	ext.PutSecret("prod/db", "hunter2")
	ext.SetHang(true) // every request waits, unanswered
	srv := httptest.NewServer(ext)
	defer srv.Close()
	defer ext.Close() // first: releases the hung requests

	h := mw.Wrap(func(ctx context.Context, _ struct{}) (string, error) {
		return "the handler ran", nil
	}, append(ext.Options(srv.URL), mw.WithSecrets("prod/db"), mw.WithFetchTimeout(100*time.Millisecond))...)

	start := time.Now()
	_, err := h(context.Background(), struct{}{})
	fe, _ := errors.AsType[*mw.FetchError](err)
	fmt.Println(fe.Class, time.Since(start) < time.Second)
	// Output: timeout true
}

// countingTransport counts the requests that go through it: a stand-in for
// an instrumented transport.
type countingTransport struct{ n atomic.Int64 }

func (t *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	t.n.Add(1)
	return http.DefaultTransport.RoundTrip(r)
}

// Any client works, for example one whose transport is instrumented. mw
// never follows a redirect with it.
func ExampleWithHTTPClient() {
	ext := mwtest.New(mwtest.Managed)
	ext.PutParameter("/app/flags", "String", "beta")
	srv := httptest.NewServer(ext)
	defer srv.Close()

	tr := &countingTransport{}
	h := mw.Wrap(func(ctx context.Context, _ struct{}) (string, error) {
		return mw.Parameter(ctx, "/app/flags")
	}, append(ext.Options(srv.URL), mw.WithParameters("/app/flags"),
		mw.WithHTTPClient(&http.Client{Transport: tr, Timeout: 5 * time.Second}))...)

	for range 3 {
		_, _ = h(context.Background(), struct{}{})
	}
	fmt.Println("requests through the client:", tr.n.Load())
	// Output: requests through the client: 1
}

// When a refresh fails, the last good value is served up to the stale
// bound past its TTL (an hour by default); WithMaxStale(0) never serves a
// stale value: the invoke fails instead. Here the TTL is zero, so each
// invoke refreshes, and the second refresh is denied.
func ExampleWithMaxStale() {
	for _, maxStale := range []time.Duration{mw.DefaultMaxStale, 0} {
		ext := mwtest.New(mwtest.Agent)
		ext.PutSecret("prod/db", "hunter2")
		srv := httptest.NewServer(ext)

		h := mw.Wrap(func(ctx context.Context, _ struct{}) (int, error) {
			pw, err := mw.Secret(ctx, "prod/db")
			return len(pw), err
		}, append(ext.Options(srv.URL), mw.WithSecrets("prod/db"), mw.WithTTL(0), mw.WithMaxStale(maxStale))...)

		_, _ = h(context.Background(), struct{}{})
		ext.Deny("prod/db")
		n, err := h(context.Background(), struct{}{})
		fe, _ := errors.AsType[*mw.FetchError](err)
		fmt.Printf("WithMaxStale(%v): %d bytes, %v\n", maxStale, n, fe != nil)
		srv.Close()
	}
	// Output:
	// WithMaxStale(1h0m0s): 7 bytes, false
	// WithMaxStale(0s): 0 bytes, true
}

// An invoke within the refresh-ahead window of an item's expiry serves the
// value it has, and refreshes the item beside the handler: no invoke waits
// for it. Here the window is the whole TTL, so every invoke refreshes.
func ExampleWithRefreshAhead() {
	ext := mwtest.New(mwtest.Managed)
	ext.PutSecret("prod/db", "v1")
	srv := httptest.NewServer(ext)
	defer srv.Close()

	h := mw.Wrap(func(ctx context.Context, _ struct{}) (string, error) {
		return mw.Secret(ctx, "prod/db")
	}, append(ext.Options(srv.URL), mw.WithSecrets("prod/db"), mw.WithTTL(time.Hour), mw.WithRefreshAhead(time.Hour))...)

	fmt.Println(h(context.Background(), struct{}{})) // fetched before the handler
	ext.PutSecret("prod/db", "v2")
	fmt.Println(h(context.Background(), struct{}{})) // v1 at once; v2 fetched beside the handler
	fmt.Println(h(context.Background(), struct{}{}))
	// Output:
	// v1 <nil>
	// v1 <nil>
	// v2 <nil>
}

// Next to the Secrets Manager Agent (on ECS, EKS or EC2, or as a layer),
// RefreshSecret asks the agent to bypass its cache (refreshNow=true). These
// are the options mwtest's Options gives for its agent dialect.
func ExampleWithSecretsManagerAgent() {
	ext := mwtest.New(mwtest.Agent)
	ext.SetToken("agent-token")
	ext.PutSecret("prod/db", "hunter2")
	srv := httptest.NewServer(ext)
	defer srv.Close()

	h := mw.Wrap(func(ctx context.Context, _ struct{}) (string, error) {
		return mw.RefreshSecret(ctx, "prod/db")
	}, mw.WithEndpoint(srv.URL), mw.WithSecretsManagerAgent(), mw.WithToken("agent-token"), mw.WithSecrets("prod/db"), mw.WithoutEnvironment())

	_, err := h(context.Background(), struct{}{})
	fmt.Println(err, "requests with refreshNow=true:", ext.Stats().RefreshNow)
	// Output: <nil> requests with refreshNow=true: 1
}
