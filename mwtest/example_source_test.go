package mwtest_test

import (
	"context"
	"fmt"
	"maps"
	"net/http/httptest"
	"slices"
	"time"

	"github.com/lambda-mw/mw"
	"github.com/lambda-mw/mw/mwtest"
)

// A function that reads its secret through the Parameters and Secrets
// extension and a parameter tree through a source of its own (such as the
// AWS SDK source) has a test with no AWS: the fake serves the secret over
// HTTP, and its Source serves the tree from the same store. In a test,
// mwtest.Start(t, mwtest.Managed) makes the fake and its server, and
// closes both when the test ends.
func ExampleExtension_Source() {
	ext := mwtest.New(mwtest.Managed)
	srv := httptest.NewServer(ext)
	defer srv.Close()
	defer ext.Close()

	ext.PutSecret("prod/db", "s3cr3t")
	ext.PutParameter("/app/prod/url", mwtest.TypeString, "https://example.com")
	ext.PutParameter("/app/prod/limits/max", mwtest.TypeString, "5")
	ext.PutParameter("/app/staging/url", mwtest.TypeString, "https://staging.example.com")

	handler := func(ctx context.Context, _ struct{}) (string, error) {
		pw, err := mw.Secret(ctx, "prod/db")
		if err != nil {
			return "", err
		}
		tree, err := mw.ParametersByPath(ctx, "/app/prod")
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("%d-byte password, parameters %v", len(pw), slices.Sorted(maps.Keys(tree))), nil
	}
	h := mw.Wrap(handler, append(ext.Options(srv.URL),
		mw.WithSecrets("prod/db"),                                   // over HTTP, as from the extension
		mw.WithParametersByPath("/app/prod", mw.From(ext.Source())), // from the fake's store
	)...)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := h(ctx, struct{}{})
	fmt.Println(out, err)
	fmt.Println("HTTP requests:", ext.Requests(), "fetches of the tree:", ext.Fetches("/app/prod"))
	// Output:
	// 6-byte password, parameters [/app/prod/limits/max /app/prod/url] <nil>
	// HTTP requests: 1 fetches of the tree: 1
}

// A secret shared by another account, read as a role of that account
// through the Secrets Manager Agent, beside the function's own.
func ExampleExtension_PutRoleSecret() {
	const reader = "arn:aws:iam::111122223333:role/shared-secret-reader"
	ext := mwtest.New(mwtest.Agent)
	srv := httptest.NewServer(ext)
	defer srv.Close()
	defer ext.Close()

	ext.PutSecret("prod/db", "own")
	ext.PutRoleSecret(reader, "partner-key", "theirs")

	handler := func(ctx context.Context, _ struct{}) (string, error) {
		own, err := mw.Secret(ctx, "prod/db")
		if err != nil {
			return "", err
		}
		theirs, err := mw.Secret(ctx, "partner-key")
		return own + " " + theirs, err
	}
	h := mw.Wrap(handler, append(ext.Options(srv.URL),
		mw.WithSecrets("prod/db"),
		mw.WithSecret("partner-key", mw.RoleARN(reader)),
	)...)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := h(ctx, struct{}{})
	fmt.Println(out, err)
	fmt.Println("read as a role:", ext.Stats().WithRole)
	// Output:
	// own theirs <nil>
	// read as a role: 1
}
