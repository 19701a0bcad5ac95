package mw_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/lambda-mw/mw"
)

func ExampleWithSecrets() {
	ext, url, stop := fakeExtension()
	defer stop()
	ext.PutSecret("prod/api-key", "k-123")

	h := mw.Wrap(func(ctx context.Context, _ Event) (string, error) {
		db, err := mw.Secret(ctx, "prod/db")
		if err != nil {
			return "", err
		}
		key, err := mw.Secret(ctx, "prod/api-key")
		return fmt.Sprintf("db password: %d bytes, api key: %d bytes", len(db), len(key)), err
	}, mw.WithSecrets("prod/db", "prod/api-key"), mw.WithEndpoint(url))

	fmt.Println(h(context.Background(), Event{}))
	// Output: db password: 7 bytes, api key: 5 bytes <nil>
}

func ExampleWithParameters() {
	_, url, stop := fakeExtension()
	defer stop()

	h := mw.Wrap(func(ctx context.Context, _ Event) (string, error) {
		return mw.Parameter(ctx, "/app/flags") // a StringList, comma-joined
	}, mw.WithParameters("/app/flags"), mw.WithEndpoint(url))

	fmt.Println(h(context.Background(), Event{}))
	// Output: beta,dark-mode <nil>
}

// The managed extension answers 400 while it starts, just as it does for a
// missing item. Within the startup window mw takes a 400 for "not ready"
// and retries; with no window it fails at once.
func ExampleWithStartupWindow() {
	for _, window := range []time.Duration{0, mw.DefaultStartupWindow} {
		ext, url, stop := fakeExtension()
		ext.NotReadyFor(3) // the next 3 requests get the startup 400
		h := mw.Wrap(func(ctx context.Context, _ Event) (int, error) {
			pw, err := mw.Secret(ctx, "prod/db")
			return len(pw), err
		}, mw.WithSecrets("prod/db"), mw.WithEndpoint(url), mw.WithStartupWindow(window))

		n, err := h(context.Background(), Event{})
		var fe *mw.FetchError
		if errors.As(err, &fe) {
			fmt.Printf("window %v: failed, %s after %d attempt(s)\n", window, fe.Class, fe.Attempts)
		} else {
			fmt.Printf("window %v: %d bytes after %d requests\n", window, n, ext.Requests())
		}
		stop()
	}
	// Output:
	// window 0s: failed, rejected after 1 attempt(s)
	// window 2s: 7 bytes after 4 requests
}

// A hung extension costs at most the fetch timeout (and never more than the
// invoke's deadline allows).
func ExampleWithFetchTimeout() {
	ext, url, stop := fakeExtension()
	defer stop()
	ext.SetHang(true)

	h := mw.Wrap(func(ctx context.Context, _ Event) (string, error) {
		return "the handler ran", nil
	}, mw.WithSecrets("prod/db"), mw.WithEndpoint(url), mw.WithFetchTimeout(100*time.Millisecond))

	start := time.Now()
	_, err := h(context.Background(), Event{})
	var fe *mw.FetchError
	fmt.Println(errors.As(err, &fe), fe.Class, time.Since(start) < time.Second)
	// Output: true timeout true
}

// countingTransport counts the requests that go through it.
type countingTransport struct{ n atomic.Int64 }

func (t *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	t.n.Add(1)
	return http.DefaultTransport.RoundTrip(r)
}

func ExampleWithHTTPClient() {
	_, url, stop := fakeExtension()
	defer stop()

	// Any client works, for example one whose transport is instrumented.
	tr := &countingTransport{}
	h := mw.Wrap(func(ctx context.Context, _ Event) (string, error) {
		return mw.Parameter(ctx, "/app/flags")
	}, mw.WithParameters("/app/flags"), mw.WithEndpoint(url),
		mw.WithHTTPClient(&http.Client{Transport: tr, Timeout: 5 * time.Second}))

	for i := 0; i < 3; i++ {
		_, _ = h(context.Background(), Event{})
	}
	fmt.Println("requests through the client:", tr.n.Load())
	// Output: requests through the client: 1
}
