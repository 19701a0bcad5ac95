package mw_test

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"time"

	"github.com/lambda-mw/mw"
	"github.com/lambda-mw/mw/mwtest"
)

// One item's failure, as plain data: which item, through which source,
// its class, the answer's status and AWS error code, the attempts made,
// and the fix that answer points to. Next to the Secrets Manager Agent,
// failures carry AWS's error code.
func ExampleFetchError() {
	ext := mwtest.New(mwtest.Agent)
	ext.PutSecret("prod/db", "hunter2")
	ext.DenyDecrypt("prod/db") // KMS refuses to decrypt it
	srv := httptest.NewServer(ext)
	defer srv.Close()

	h := mw.Wrap(func(ctx context.Context, _ struct{}) (string, error) { return "the handler ran", nil },
		append(ext.Options(srv.URL), mw.WithSecret("prod/db", mw.Alias("db")))...)

	_, err := h(context.Background(), struct{}{})
	if fe, ok := errors.AsType[*mw.FetchError](err); ok {
		fmt.Println(fe.Alias, fe.Name, fe.Source, fe.Class, fe.Status, fe.Code, fe.Attempts)
		fmt.Println(fe.Hint())
	}
	// Output:
	// db prod/db agent kms_decrypt 400 DecryptionFailure 1
	// allow kms:Decrypt on the KMS key that encrypts it, in the role and in the key policy
}

// An invoke whose required items could not be fetched fails before its
// handler runs, with a *PrefetchError that names every item that failed.
func ExamplePrefetchError() {
	ext := mwtest.New(mwtest.Agent)
	ext.PutSecret("prod/db", "hunter2")
	srv := httptest.NewServer(ext)
	defer srv.Close()

	h := mw.Wrap(func(ctx context.Context, _ struct{}) (string, error) {
		return "the handler ran", nil
	}, append(ext.Options(srv.URL), mw.WithSecrets("prod/db", "prod/typo"))...)

	out, err := h(context.Background(), struct{}{})
	fmt.Printf("%q\n", out)
	if pe, ok := errors.AsType[*mw.PrefetchError](err); ok {
		fmt.Println(len(pe.Failed), "of", pe.Declared, "failed")
		for _, f := range pe.Failed {
			fmt.Println(f.Kind, f.Name, f.Class, f.Status, f.Code)
		}
	}
	// Output:
	// ""
	// 1 of 2 failed
	// secret prod/typo not_found 400 ResourceNotFoundException
}

// An accessor's error: a name no Wrap in ctx declares, or a ctx that is
// not a wrapped invoke's. It says how to fix it.
func ExampleLookupError() {
	ctx := mwtest.NewContext(context.Background(), mwtest.Values{Secrets: map[string]string{"prod/db": "hunter2"}})
	_, err := mw.Secret(ctx, "prod/api-key")
	fmt.Println(errors.Is(err, mw.ErrNotDeclared))
	fmt.Println(err)

	_, err = mw.Secret(context.Background(), "prod/db") // not a wrapped invoke's ctx
	le, _ := errors.AsType[*mw.LookupError](err)
	fmt.Println(errors.Is(err, mw.ErrNoValues), le.Kind, le.Name)
	// Output:
	// true
	// mw: secret "prod/api-key" is not in this test's values: add it to the mwtest.Values given to mwtest.NewContext, and check that the handler's mw.Wrap declares it (in a Lambda, a name it does not declare fails as not declared)
	// true secret prod/db
}

// ErrWrongType: an accessor given an item of another type than it reads,
// as the item's source said, here a String parameter read as a list. The
// error names the accessor that reads it.
func ExampleLookupError_errWrongType() {
	ext := mwtest.New(mwtest.Managed)
	ext.PutParameter("/app/region", mwtest.TypeString, "eu-west-1")
	srv := httptest.NewServer(ext)
	defer srv.Close()

	h := mw.Wrap(func(ctx context.Context, _ struct{}) ([]string, error) {
		return mw.ParameterList(ctx, "/app/region")
	}, append(ext.Options(srv.URL), mw.WithParameters("/app/region"))...)

	_, err := h(context.Background(), struct{}{})
	fmt.Println(errors.Is(err, mw.ErrWrongType))
	fmt.Println(err)
	// Output:
	// true
	// mw: parameter "/app/region": not of the type this accessor reads: it is a String parameter, not a StringList: read it with mw.Parameter
}

// The fix a failure points to follows the answer received: the same
// secret, missing and then denied, gets two different hints.
func ExampleFetchError_Hint() {
	ext := mwtest.New(mwtest.Agent)
	srv := httptest.NewServer(ext)
	defer srv.Close()

	h := mw.Wrap(func(ctx context.Context, _ struct{}) (string, error) { return "the handler ran", nil },
		append(ext.Options(srv.URL), mw.WithSecrets("prod/db"))...)
	for _, deny := range []bool{false, true} {
		if deny {
			ext.Deny("prod/db")
		}
		_, err := h(context.Background(), struct{}{})
		if fe, ok := errors.AsType[*mw.FetchError](err); ok {
			fmt.Println(fe.Class+":", fe.Hint())
		}
	}
	// Output:
	// not_found: check the name: no such item (or version) exists in this account and region (wrong name or region?)
	// access_denied: allow secretsmanager:GetSecretValue on its ARN in the role the Secrets Manager Agent uses
}

// A mistake in code is found when the handler is built, in INIT or in any
// test that builds it: Wrap panics with a *DeclarationError that says the
// fix. Here one secret is declared twice, with different caching.
func ExampleDeclarationError() {
	defer func() {
		err, _ := recover().(error)
		if _, ok := errors.AsType[*mw.DeclarationError](err); ok {
			fmt.Println(err)
		}
	}()
	mw.Wrap(func(ctx context.Context, _ struct{}) (string, error) { return "", nil },
		mw.WithSecrets("prod/db"), mw.WithSecret("prod/db", mw.TTL(time.Minute)))
	// Output:
	// mw: secret "prod/db" is declared twice, with different options (the Wrap's TTL and TTL(1m0s)): declare it once, with the options it needs, and read it anywhere through the handle mw.WithSecret returns
}
