package mw_test

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"strings"
	"sync/atomic"

	"github.com/lambda-mw/mw"
	"github.com/lambda-mw/mw/mwtest"
)

// memorySource is a Source of your own: here, parameters and secrets held
// in maps, where yours would call a configuration service. It serves
// parameters, secrets, and paths (the parameters under one); mw does the
// rest: the cache, one fetch that concurrent invokes share, retries, spans
// and metrics.
type memorySource struct {
	parameters map[string]string
	secrets    map[string]string
	calls      atomic.Int32 // mw calls Fetch concurrently
}

// Name names the source on spans, metrics and errors.
func (s *memorySource) Name() string { return "memory" }

// Plan says how each declared item is fetched: the items of one Op are
// fetched together, up to Batch in one call. Kinds it does not serve
// (AppConfig profiles) are ErrNotServed, so that another source may.
func (s *memorySource) Plan(it mw.Item) (mw.Plan, error) {
	switch it.Kind {
	case mw.KindParameter, mw.KindSecret:
		return mw.Plan{Op: "Get", Batch: 10}, nil
	case mw.KindParametersByPath:
		return mw.Plan{Op: "List", Batch: 1}, nil
	}
	return mw.Plan{}, mw.ErrNotServed
}

// Fetch returns one Result per item, a value or a *SourceError that says
// how mw treats the failure and what the fix is.
func (s *memorySource) Fetch(_ context.Context, op string, items []mw.Item) []mw.Result {
	s.calls.Add(1)
	out := make([]mw.Result, len(items))
	for i, it := range items {
		var (
			v  string
			ok bool
		)
		switch it.Kind {
		case mw.KindParametersByPath:
			out[i].Values = map[string]string{}
			for name, v := range s.parameters {
				if strings.HasPrefix(name, strings.TrimSuffix(it.Name, "/")+"/") {
					out[i].Values[name] = v
				}
			}
			continue
		case mw.KindParameter:
			v, ok = s.parameters[it.Name]
		case mw.KindSecret:
			v, ok = s.secrets[it.Name]
		}
		if !ok {
			out[i].Err = &mw.SourceError{Class: mw.ClassNotFound, Hint: "check the name: the store has no " + it.Kind.String() + " by that name"}
			continue
		}
		out[i].Value = v
	}
	return out
}

// A Source of your own, for every item it serves: WithSource. The
// parameters and secrets a Wrap declares are fetched through it, in one
// call per Op, and an item it lacks fails the invoke with the fix the
// source gave.
func ExampleSource() {
	src := &memorySource{
		parameters: map[string]string{"/app/flags": "beta"},
		secrets:    map[string]string{"prod/db": "hunter2"},
	}
	handler := func(ctx context.Context, _ struct{}) (string, error) {
		pw, err := mw.Secret(ctx, "prod/db")
		if err != nil {
			return "", err
		}
		flags, err := mw.Parameter(ctx, "/app/flags")
		return fmt.Sprintf("password of %d bytes, flags %s", len(pw), flags), err
	}

	h := mw.Wrap(handler, mw.WithoutEnvironment(), mw.WithSource(src), mw.WithSecrets("prod/db"), mw.WithParameters("/app/flags"))
	fmt.Println(h(context.Background(), struct{}{}))
	fmt.Println("calls to the source:", src.calls.Load())

	h = mw.Wrap(handler, mw.WithoutEnvironment(), mw.WithSource(src), mw.WithSecrets("prod/db", "prod/typo"))
	_, err := h(context.Background(), struct{}{})
	fe, _ := errors.AsType[*mw.FetchError](err)
	fmt.Println(fe.Source, fe.Name, fe.Class, fe.Hint())
	// Output:
	// password of 7 bytes, flags beta <nil>
	// calls to the source: 1
	// memory prod/typo not_found check the name: the store has no secret by that name
}

// A source for some kinds only: here the parameters under a path, which
// the extension cannot list, come from the source, and the secret from the
// extension, as before.
func ExampleWithSource() {
	ext := mwtest.New(mwtest.Managed)
	ext.PutSecret("prod/db", "hunter2")
	srv := httptest.NewServer(ext)
	defer srv.Close()
	src := &memorySource{parameters: map[string]string{"/app/prod/region": "eu-west-1"}}

	h := mw.Wrap(func(ctx context.Context, _ struct{}) (string, error) {
		pw, err := mw.Secret(ctx, "prod/db")
		if err != nil {
			return "", err
		}
		region, err := mw.Parameter(ctx, "/app/prod/region")
		return fmt.Sprintf("password of %d bytes, region %s", len(pw), region), err
	}, append(ext.Options(srv.URL), mw.WithSource(src, mw.KindParametersByPath),
		mw.WithSecrets("prod/db"), mw.WithParametersByPath("/app/prod"))...)

	fmt.Println(h(context.Background(), struct{}{}))
	fmt.Println("requests to the extension:", ext.Requests(), "calls to the source:", src.calls.Load())
	// Output:
	// password of 7 bytes, region eu-west-1 <nil>
	// requests to the extension: 1 calls to the source: 1
}

// One item through a source of its own, the others as before.
func ExampleFrom() {
	ext := mwtest.New(mwtest.Managed)
	ext.PutSecret("prod/db", "hunter2")
	srv := httptest.NewServer(ext)
	defer srv.Close()
	vault := &memorySource{secrets: map[string]string{"partner/api-key": "k-123"}}

	h := mw.Wrap(func(ctx context.Context, _ struct{}) (string, error) {
		pw, err := mw.Secret(ctx, "prod/db")
		if err != nil {
			return "", err
		}
		key, err := mw.Secret(ctx, "partner/api-key")
		return fmt.Sprintf("password of %d bytes, key of %d bytes", len(pw), len(key)), err
	}, append(ext.Options(srv.URL), mw.WithSecrets("prod/db"), mw.WithSecret("partner/api-key", mw.From(vault)))...)

	fmt.Println(h(context.Background(), struct{}{}))
	fmt.Println("fetched by the extension: prod/db", ext.Fetches("prod/db"), "partner/api-key", ext.Fetches("partner/api-key"))
	// Output:
	// password of 7 bytes, key of 5 bytes <nil>
	// fetched by the extension: prod/db 1 partner/api-key 0
}

// Every parameter under a path, recursively, read by its full name or all
// at once. A source that can list a path serves it, such as the AWS SDK
// source (package awssdk), or one of your own; the extension cannot.
func ExampleWithParametersByPath() {
	src := &memorySource{parameters: map[string]string{
		"/app/prod/db/host": "db.internal",
		"/app/prod/db/port": "5432",
		"/app/test/db/host": "db.test",
	}}
	h := mw.Wrap(func(ctx context.Context, _ struct{}) (string, error) {
		all, err := mw.ParametersByPath(ctx, "/app/prod")
		if err != nil {
			return "", err
		}
		host, err := mw.Parameter(ctx, "/app/prod/db/host")
		return fmt.Sprintf("%d parameters; host %s", len(all), host), err
	}, mw.WithoutEnvironment(), mw.WithSource(src), mw.WithParametersByPath("/app/prod"))

	fmt.Println(h(context.Background(), struct{}{}))
	// Output: 2 parameters; host db.internal <nil>
}
