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

// ErrNotServed: a source's Plan refuses a kind it does not serve, and the
// source mw would choose for it serves it instead. memorySource serves no
// AppConfig profile, which goes to the AWS AppConfig Agent, mw's default.
func ExampleSource_errNotServed() {
	ext := mwtest.New(mwtest.AppConfig)
	ext.PutConfiguration("orders", "prod", "settings", "application/json", []byte(`{"batch":25}`))
	srv := httptest.NewServer(ext)
	defer srv.Close()
	src := &memorySource{secrets: map[string]string{"prod/db": "hunter2"}}

	_, err := src.Plan(mw.Item{Kind: mw.KindAppConfig, Application: "orders", Environment: "prod", Name: "settings"})
	fmt.Println(errors.Is(err, mw.ErrNotServed))

	h := mw.Wrap(func(ctx context.Context, _ struct{}) (string, error) {
		b, err := mw.AppConfig(ctx, "settings")
		return string(b), err
	}, mw.WithoutEnvironment(), mw.WithSource(src), mw.WithAppConfigEndpoint(srv.URL),
		mw.WithSecrets("prod/db"), mw.WithAppConfig("orders", "prod", "settings"))
	fmt.Println(h(context.Background(), struct{}{}))
	fmt.Println("calls to the source:", src.calls.Load(), "requests to the agent:", ext.Requests())
	// Output:
	// true
	// {"batch":25} <nil>
	// calls to the source: 1 requests to the agent: 1
}

// The kinds of item, as spans, metrics and errors name them.
func ExampleKind() {
	for _, k := range []mw.Kind{mw.KindParameter, mw.KindSecret, mw.KindParametersByPath, mw.KindAppConfig} {
		fmt.Println(k)
	}
	// Output:
	// parameter
	// secret
	// parameters_by_path
	// appconfig
}

// An Item is what a Source is asked to fetch. It prints what it names and
// how it is pinned, never a value.
func ExampleItem() {
	fmt.Println(mw.Item{Kind: mw.KindSecret, Name: "prod/db", VersionStage: "AWSPREVIOUS"})
	fmt.Println(mw.Item{Kind: mw.KindParameter, Name: "/app/price", Label: "live"})
	fmt.Println(mw.Item{Kind: mw.KindAppConfig, Application: "orders", Environment: "prod", Name: "flags"})
	fmt.Println(mw.Item{Kind: mw.KindSecret, Name: "shared/db", RoleARN: "arn:aws:iam::123456789012:role/reader"})
	// Output:
	// secret "prod/db" (stage AWSPREVIOUS)
	// parameter "/app/price" (label live)
	// appconfig "orders/prod/flags"
	// secret "shared/db" as role arn:aws:iam::123456789012:role/reader
}

// What a source's Plan says of each item: the call that fetches it, and
// how many items one call takes. Here, memorySource's.
func ExamplePlan() {
	src := &memorySource{}
	for _, it := range []mw.Item{
		{Kind: mw.KindSecret, Name: "prod/db"},
		{Kind: mw.KindParametersByPath, Name: "/app/prod"},
	} {
		p, _ := src.Plan(it)
		fmt.Printf("%v: %s, up to %d a call\n", it, p.Op, p.Batch)
	}
	// Output:
	// secret "prod/db": Get, up to 10 a call
	// parameters_by_path "/app/prod": List, up to 1 a call
}

// A Result never prints its value, under any verb, alone or in a slice.
func ExampleResult() {
	r := mw.Result{Value: "hunter2", Type: "SecretString"}
	fmt.Println(r)
	fmt.Printf("%#v %q\n", r, []mw.Result{r})
	fmt.Println(mw.Result{Values: map[string]string{"/app/prod/db": "hunter2", "/app/prod/url": "https://example.com"}})
	fmt.Println(mw.Result{Err: &mw.SourceError{Class: mw.ClassNotFound, Code: "ResourceNotFoundException"}})
	// Output:
	// mw.Result{Value: (not shown)}
	// mw.Result{Value: (not shown)} [mw.Result{Value: (not shown)}]
	// mw.Result{Values: ["/app/prod/db" "/app/prod/url"] (not shown)}
	// mw.Result{Err: ResourceNotFoundException}
}

// A source's failure says how mw treats it: here a throttled answer, which
// mw tries again, within the invoke's deadline. The source is mwtest's
// store, read directly, whose next answer for prod/db is throttled.
func ExampleSourceError() {
	ext := mwtest.New(mwtest.Managed)
	ext.PutSecret("prod/db", "hunter2")
	ext.FailNext("prod/db", mwtest.FaultThrottle, 1)
	src := ext.Source()

	it := mw.Item{Kind: mw.KindSecret, Name: "prod/db"}
	p, _ := src.Plan(it)
	res := src.Fetch(context.Background(), p.Op, []mw.Item{it})
	if se, ok := errors.AsType[*mw.SourceError](res[0].Err); ok {
		fmt.Println(se.Class, se.Retry, se.Status, se.Code)
	}

	ext.FailNext("prod/db", mwtest.FaultThrottle, 1)
	before := ext.Fetches("prod/db")
	h := mw.Wrap(func(ctx context.Context, _ struct{}) (string, error) {
		pw, err := mw.Secret(ctx, "prod/db")
		return fmt.Sprintf("password of %d bytes", len(pw)), err
	}, mw.WithoutEnvironment(), mw.WithSecret("prod/db", mw.From(src)))
	fmt.Println(h(context.Background(), struct{}{}))
	fmt.Println("attempts through Wrap:", ext.Fetches("prod/db")-before)
	// Output:
	// throttled true 429 ThrottlingException
	// password of 7 bytes <nil>
	// attempts through Wrap: 2
}

// A failure's class is the one word to go by, in a handler as on a
// dashboard: here three optional secrets, which fail for three reasons.
func ExampleClass() {
	ext := mwtest.New(mwtest.Agent)
	ext.PutSecret("prod/sealed", "hunter2")
	ext.DenyDecrypt("prod/sealed") // KMS refuses to decrypt it
	ext.Deny("prod/other-team")    // the role may not read it
	srv := httptest.NewServer(ext)
	defer srv.Close()

	ids := []string{"prod/sealed", "prod/other-team", "prod/typo"}
	h := mw.Wrap(func(ctx context.Context, _ struct{}) (string, error) {
		for _, id := range ids {
			_, err := mw.Secret(ctx, id)
			if le, ok := errors.AsType[*mw.LookupError](err); ok && le.Fetch != nil {
				fmt.Println(id, le.Fetch.Class)
			}
		}
		return "the handler ran", nil
	}, append(ext.Options(srv.URL),
		mw.WithSecret(ids[0], mw.Optional()), mw.WithSecret(ids[1], mw.Optional()), mw.WithSecret(ids[2], mw.Optional()))...)
	fmt.Println(h(context.Background(), struct{}{}))
	// Output:
	// prod/sealed kms_decrypt
	// prod/other-team access_denied
	// prod/typo not_found
	// the handler ran <nil>
}
