package mw_test

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"

	"github.com/lambda-mw/mw"
	"github.com/lambda-mw/mw/mwtest"
)

type Event struct{ User string }

// fakeExtension serves mw's fake of the Parameters and Secrets extension
// and returns its URL, for these examples. In Lambda the extension layer
// listens on localhost:2773 and no WithEndpoint is needed.
func fakeExtension() (*mwtest.Extension, string, func()) {
	os.Setenv("AWS_SESSION_TOKEN", "example-token")
	ext := mwtest.New(mwtest.Managed)
	ext.SetToken("example-token")
	ext.PutSecret("prod/db", "hunter2")
	ext.PutParameter("/app/flags", "StringList", "beta,dark-mode")
	ext.PutSecretBinary("prod/signing-key", make([]byte, 32))
	srv := httptest.NewServer(ext)
	return ext, srv.URL, func() { ext.Close(); srv.Close() }
}

func Example() {
	ext, url, stop := fakeExtension()
	defer stop()

	handler := func(ctx context.Context, e Event) (string, error) {
		pw, err := mw.Secret(ctx, "prod/db") // fetched before the handler ran
		if err != nil {
			return "", err
		}
		flags, err := mw.Parameter(ctx, "/app/flags")
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("%s: password of %d bytes, flags %s", e.User, len(pw), flags), nil
	}
	// In main: lambda.Start(mw.Wrap(handler, ...)).
	h := mw.Wrap(handler, mw.WithSecrets("prod/db"), mw.WithParameters("/app/flags"), mw.WithEndpoint(url))

	for i := 0; i < 3; i++ {
		out, err := h(context.Background(), Event{User: "ana"})
		fmt.Println(out, err)
	}
	fmt.Println("requests to the extension:", ext.Requests())
	// Output:
	// ana: password of 7 bytes, flags beta,dark-mode <nil>
	// ana: password of 7 bytes, flags beta,dark-mode <nil>
	// ana: password of 7 bytes, flags beta,dark-mode <nil>
	// requests to the extension: 2
}

func ExampleWrap() {
	_, url, stop := fakeExtension()
	defer stop()

	h := mw.Wrap(func(ctx context.Context, _ Event) (int, error) {
		pw, err := mw.Secret(ctx, "prod/db")
		return len(pw), err
	}, mw.WithSecrets("prod/db"), mw.WithEndpoint(url))

	n, err := h(context.Background(), Event{})
	fmt.Println(n, err)
	// Output: 7 <nil>
}

// A handler unit test needs no extension: mwtest.NewContext builds the
// context a wrapped invoke would pass.
func ExampleSecret() {
	ctx := mwtest.NewContext(context.Background(), mwtest.Values{
		Secrets: map[string]string{"prod/db": "test-password"},
	})
	pw, err := mw.Secret(ctx, "prod/db")
	fmt.Println(pw, err)

	_, err = mw.Secret(ctx, "prod/other")
	fmt.Println(errors.Is(err, mw.ErrNotDeclared))
	// Output:
	// test-password <nil>
	// true
}

func ExampleParameter() {
	// Outside a wrapped invoke, such as in init code, there is nothing to
	// read: the accessor says so instead of calling the extension.
	_, err := mw.Parameter(context.Background(), "/app/flags")
	fmt.Println(err)
	// Output:
	// mw: parameter "/app/flags": the context holds no mw values: pass the ctx your wrapped handler received (values exist only inside an invoke of a handler made by mw.Wrap)
}

func ExamplePrefetchError() {
	_, url, stop := fakeExtension()
	defer stop()

	h := mw.Wrap(func(ctx context.Context, _ Event) (string, error) {
		return "the handler ran", nil
	}, mw.WithSecrets("prod/db", "prod/typo"), mw.WithEndpoint(url), mw.WithStartupWindow(0))

	_, err := h(context.Background(), Event{})
	var pe *mw.PrefetchError
	if errors.As(err, &pe) {
		for _, f := range pe.Failed {
			fmt.Println(f.Kind, f.Name, f.Class, f.Status)
		}
	}
	var fe *mw.FetchError
	if errors.As(err, &fe) {
		fmt.Println(fe.Hint()[:60] + "…")
	}
	// Output:
	// secret prod/typo rejected 400
	// not found or not allowed: check the name and region, and all…
}

// tp is any trace.TracerProvider: in main, the OTel SDK's, with otellambda
// around mw (examples/tracing sets both up). noop's records nothing, and
// the handler still runs in the trace of the invoke, such as the one
// otellambda starts.
func ExampleWithTracerProvider() {
	_, url, stop := fakeExtension()
	defer stop()

	h := mw.Wrap(func(ctx context.Context, _ Event) (string, error) {
		return trace.SpanContextFromContext(ctx).TraceID().String(), nil
	}, mw.WithSecrets("prod/db"), mw.WithEndpoint(url), mw.WithTracerProvider(tracenoop.NewTracerProvider()))

	traceID, _ := trace.TraceIDFromHex("4bf92f3577b34da6a3ce929d0e0e4736")
	spanID, _ := trace.SpanIDFromHex("00f067aa0ba902b7")
	invoke := trace.ContextWithSpanContext(context.Background(), trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: traceID, SpanID: spanID, TraceFlags: trace.FlagsSampled,
	}))
	fmt.Println(h(invoke, Event{}))
	// Output: 4bf92f3577b34da6a3ce929d0e0e4736 <nil>
}

// mp is any metric.MeterProvider: in main, the OTel SDK's, with a reader
// or an exporter; TELEMETRY.md lists what mw records. noop's turns mw's
// metrics off.
func ExampleWithMeterProvider() {
	ext, url, stop := fakeExtension()
	defer stop()

	h := mw.Wrap(func(ctx context.Context, _ Event) (bool, error) { return true, nil },
		mw.WithSecrets("prod/db"), mw.WithEndpoint(url), mw.WithMeterProvider(metricnoop.NewMeterProvider()))
	for range 3 {
		_, _ = h(context.Background(), Event{}) // a miss, then two hits
	}
	fmt.Println("requests to the extension:", ext.Requests())
	// Output: requests to the extension: 1
}

// WrapHandler wraps a lambda.Handler, so that mw composes with other
// middleware at the bytes level, such as otellambda (see examples/tracing):
//
//	lambda.Start(otellambda.WrapHandler(mw.WrapHandler(lambda.NewHandler(handler), opts...),
//		otellambda.WithTracerProvider(tp), otellambda.WithFlusher(tp)))
func ExampleWrapHandler() {
	_, url, stop := fakeExtension()
	defer stop()

	handler := func(ctx context.Context, e Event) (string, error) {
		pw, err := mw.Secret(ctx, "prod/db")
		return fmt.Sprintf("%s: %d bytes", e.User, len(pw)), err
	}
	h := mw.WrapHandler(lambda.NewHandler(handler), mw.WithSecrets("prod/db"), mw.WithEndpoint(url))

	out, err := h.Invoke(context.Background(), []byte(`{"User":"ana"}`))
	fmt.Println(string(out), err)
	// Output: "ana: 7 bytes" <nil>
}

func ExampleWithTTL() {
	// Refresh values every minute instead of every five.
	h := mw.Wrap(func(ctx context.Context, _ Event) (string, error) {
		return mw.Parameter(ctx, "/app/flags")
	}, mw.WithParameters("/app/flags"), mw.WithTTL(time.Minute))
	_ = h
}

func ExampleWithEndpoint() {
	// On ECS, EKS or EC2, next to the Secrets Manager Agent.
	h := mw.Wrap(func(ctx context.Context, _ Event) (string, error) {
		return mw.Secret(ctx, "prod/db")
	}, mw.WithSecrets("prod/db"), mw.WithEndpoint("http://localhost:2773"))
	_ = h
}

// After a rotation, a login that fails with the cached password gets one
// more try with a freshly fetched one.
func ExampleRefreshSecret() {
	ext, url, stop := fakeExtension()
	defer stop()
	login := func(pw string) error {
		if pw != "rotated" {
			return errors.New("authentication failed")
		}
		return nil
	}
	h := mw.Wrap(func(ctx context.Context, _ Event) (string, error) {
		pw, err := mw.Secret(ctx, "prod/db")
		if err != nil {
			return "", err
		}
		if err := login(pw); err != nil {
			ext.PutSecret("prod/db", "rotated") // (the rotation, for this example)
			if pw, err = mw.RefreshSecret(ctx, "prod/db"); err != nil {
				return "", err
			}
			if err := login(pw); err != nil {
				return "", err
			}
		}
		return "logged in", nil
	}, mw.WithSecrets("prod/db"), mw.WithEndpoint(url))
	fmt.Println(h(context.Background(), Event{}))
	// Output: logged in <nil>
}

func ExampleRefreshParameter() {
	ctx := mwtest.NewContext(context.Background(), mwtest.Values{Parameters: map[string]string{"/app/flags": "beta"}})
	v, err := mw.RefreshParameter(ctx, "/app/flags") // a test context's values are fixed
	fmt.Println(v, err)
	// Output: beta <nil>
}

func ExampleWithSecret() {
	_, url, stop := fakeExtension()
	defer stop()
	h := mw.Wrap(func(ctx context.Context, _ Event) (string, error) {
		region, _ := mw.Parameter(ctx, "/app/region")  // optional, with a default
		_, err := mw.Secret(ctx, "prod/analytics-key") // optional, no default
		return fmt.Sprintf("region=%s analytics=%v", region, !errors.Is(err, mw.ErrNotFound)), nil
	},
		mw.WithSecret("prod/db", mw.TTL(time.Minute)),
		mw.WithSecret("prod/analytics-key", mw.Optional()),
		mw.WithParameter("/app/region", mw.Default("eu-west-1")),
		mw.WithStartupWindow(0), // (so the missing items fail at once, for this example)
		mw.WithEndpoint(url))
	fmt.Println(h(context.Background(), Event{}))
	// Output: region=eu-west-1 analytics=false <nil>
}

func ExampleWithParameter() {
	h := mw.Wrap(func(ctx context.Context, _ Event) (string, error) {
		return mw.Parameter(ctx, "/app/feature-flags")
	}, mw.WithParameter("/app/feature-flags", mw.TTL(30*time.Second)))
	_ = h
}

func ExampleTTL() {
	_ = mw.WithSecret("prod/db", mw.TTL(15*time.Minute)) // rotates rarely
}

func ExampleOptional() {
	_ = mw.WithParameter("/app/beta-banner", mw.Optional())
}

func ExampleDefault() {
	_ = mw.WithParameter("/app/log-level", mw.Default("info"))
}

func ExampleWithMaxStale() {
	// Fail rather than serve a value more than ten minutes past its TTL.
	_ = mw.WithMaxStale(10 * time.Minute)
}

func ExampleWithRefreshAhead() {
	// Items are refreshed during the last 30 s of their TTL, beside the
	// handler, so no invoke waits for a refresh.
	_ = mw.WithRefreshAhead(30 * time.Second)
}

func ExampleWithSecretsManagerAgent() {
	// On ECS, EKS or EC2 next to the agent: forced refreshes bypass its cache.
	_ = mw.Wrap(func(ctx context.Context, _ Event) (string, error) {
		return mw.Secret(ctx, "prod/db")
	}, mw.WithSecrets("prod/db"), mw.WithEndpoint("http://localhost:2773"), mw.WithSecretsManagerAgent())
}

// An RDS-style secret decoded into a struct. Decoded once per value, since
// DBCredentials holds nothing shared; each call gets its own copy.
func ExampleSecretJSON() {
	type DBCredentials struct {
		Username string `json:"username"`
		Password string `json:"password"`
		Host     string `json:"host"`
		Port     int    `json:"port"`
	}
	ctx := mwtest.NewContext(context.Background(), mwtest.Values{Secrets: map[string]string{
		"prod/db": `{"engine":"postgres","username":"app","password":"hunter2","host":"db.internal","port":5432}`,
	}})
	db, err := mw.SecretJSON[DBCredentials](ctx, "prod/db")
	fmt.Printf("%s@%s:%d, password of %d bytes, %v\n", db.Username, db.Host, db.Port, len(db.Password), err)

	// Not JSON of that shape: the error says where, never what.
	ctx = mwtest.NewContext(context.Background(), mwtest.Values{Secrets: map[string]string{"prod/db": "hunter2"}})
	_, err = mw.SecretJSON[DBCredentials](ctx, "prod/db")
	fmt.Println(errors.Is(err, mw.ErrDecode), err)
	// Output:
	// app@db.internal:5432, password of 7 bytes, <nil>
	// true mw: secret "prod/db": cannot decode the value into mw_test.DBCredentials: invalid JSON at byte 1
}

func ExampleParameterJSON() {
	type Limits struct {
		RPS   int `json:"rps"`
		Burst int `json:"burst"`
	}
	ctx := mwtest.NewContext(context.Background(), mwtest.Values{Parameters: map[string]string{"/app/limits": `{"rps":100,"burst":20}`}})
	l, err := mw.ParameterJSON[Limits](ctx, "/app/limits")
	fmt.Printf("%+v %v\n", l, err)
	// Output: {RPS:100 Burst:20} <nil>
}

func ExampleSecretBinary() {
	_, url, stop := fakeExtension()
	defer stop()
	h := mw.Wrap(func(ctx context.Context, _ Event) ([]byte, error) {
		return mw.SecretBinary(ctx, "prod/signing-key") // a copy, the caller's to keep
	}, mw.WithSecrets("prod/signing-key"), mw.WithEndpoint(url))
	key, err := h(context.Background(), Event{})
	fmt.Println(len(key), err)
	// Output: 32 <nil>
}

func ExampleParameterList() {
	ctx := mwtest.NewContext(context.Background(), mwtest.Values{Parameters: map[string]string{"/app/flags": "beta,dark-mode"}})
	flags, err := mw.ParameterList(ctx, "/app/flags") // a StringList comes comma-joined
	fmt.Printf("%q %v\n", flags, err)
	// Output: ["beta" "dark-mode"] <nil>
}

// A long ARN, read by a short name.
func ExampleAlias() {
	_, url, stop := fakeExtension()
	defer stop()
	h := mw.Wrap(func(ctx context.Context, _ Event) (int, error) {
		pw, err := mw.Secret(ctx, "db")
		return len(pw), err
	}, mw.WithSecret(mwtest.SecretARN("prod/db"), mw.Alias("db")), mw.WithEndpoint(url))
	fmt.Println(h(context.Background(), Event{}))
	// Output: 7 <nil>
}

// During a rotation, a function may need the previous password as well as
// the current one: declare both, apart.
func ExampleVersionStage() {
	ext, url, stop := fakeExtension()
	defer stop()
	ext.PutSecret("prod/db", "new-password") // now AWSCURRENT; hunter2 is AWSPREVIOUS
	h := mw.Wrap(func(ctx context.Context, _ Event) (string, error) {
		cur, _ := mw.Secret(ctx, "prod/db")
		prev, err := mw.Secret(ctx, "db-previous")
		return fmt.Sprintf("current %d bytes, previous %d bytes", len(cur), len(prev)), err
	},
		mw.WithSecrets("prod/db"),
		mw.WithSecret("prod/db", mw.VersionStage("AWSPREVIOUS"), mw.Alias("db-previous")),
		mw.WithEndpoint(url))
	fmt.Println(h(context.Background(), Event{}))
	// Output: current 12 bytes, previous 7 bytes <nil>
}

func ExampleVersionID() {
	_ = mw.WithSecret("prod/db", mw.VersionID("a1b2c3d4-5678-90ab-cdef-EXAMPLE11111"), mw.Alias("db-pinned"))
}

func ExampleVersion() {
	ext, url, stop := fakeExtension()
	defer stop()
	ext.PutParameter("/app/flags", "StringList", "beta") // version 2
	h := mw.Wrap(func(ctx context.Context, _ Event) (string, error) {
		latest, _ := mw.Parameter(ctx, "/app/flags")
		first, err := mw.Parameter(ctx, "flags-v1")
		return latest + " / " + first, err
	}, mw.WithParameters("/app/flags"), mw.WithParameter("/app/flags", mw.ParameterVersion(1), mw.Alias("flags-v1")), mw.WithEndpoint(url))
	fmt.Println(h(context.Background(), Event{}))
	// Output: beta / beta,dark-mode <nil>
}

func ExampleLabel() {
	// Parameter Store labels, and, through /aws/reference/secretsmanager/,
	// a secret's version stage.
	_ = mw.WithParameter("/app/flags", mw.Label("live"), mw.Alias("flags"))
	_ = mw.WithParameter("/aws/reference/secretsmanager/prod/db", mw.Label("AWSPREVIOUS"), mw.Alias("db-previous"))
}

// Operators declare items in the function's configuration; code names none.
func ExampleWrap_environment() {
	_, url, stop := fakeExtension()
	defer stop()
	os.Setenv("MW_SECRETS", "db="+mwtest.SecretARN("prod/db"))
	os.Setenv("MW_PARAMETERS", "/app/flags")
	os.Setenv("MW_ENDPOINT", url) // in Lambda: unset, the extension's port
	defer func() {
		for _, v := range []string{"MW_SECRETS", "MW_PARAMETERS", "MW_ENDPOINT"} {
			os.Unsetenv(v)
		}
	}()

	h := mw.Wrap(func(ctx context.Context, _ Event) (string, error) {
		pw, err := mw.Secret(ctx, "db")
		if err != nil {
			return "", err
		}
		flags, err := mw.ParameterList(ctx, "/app/flags")
		return fmt.Sprintf("password of %d bytes, flags %q", len(pw), flags), err
	})
	fmt.Println(h(context.Background(), Event{}))

	// A malformed entry fails the invokes, quoting it.
	os.Setenv("MW_SECRETS", "db=")
	_, err := mw.Wrap(func(context.Context, Event) (string, error) { return "", nil })(context.Background(), Event{})
	fmt.Println(err)
	// Output:
	// password of 7 bytes, flags ["beta" "dark-mode"] <nil>
	// mw: MW_SECRETS entry 1 of 1, "db=", has no name after "=": write alias=name, or the name alone
}

// Next to the Secrets Manager Agent, failures carry AWS's error code, and
// the class says what to fix.
func ExampleFetchError() {
	os.Setenv("AWS_TOKEN", "agent-token")
	defer os.Unsetenv("AWS_TOKEN")
	ext := mwtest.New(mwtest.Agent)
	ext.SetToken("agent-token")
	ext.PutSecret("prod/db", "hunter2")
	ext.DenyDecrypt("prod/db")
	srv := httptest.NewServer(ext)
	defer srv.Close()

	h := mw.Wrap(func(ctx context.Context, _ Event) (string, error) { return "", nil },
		mw.WithSecret("prod/db", mw.Alias("db")), mw.WithEndpoint(srv.URL), mw.WithSecretsManagerAgent())
	_, err := h(context.Background(), Event{})
	if fe, ok := errors.AsType[*mw.FetchError](err); ok {
		fmt.Println(fe.Alias, fe.Name, fe.Class, fe.Status, fe.Code, fe.Attempts)
		fmt.Println(fe.Hint())
	}
	// Output:
	// db prod/db kms_decrypt 400 DecryptionFailure 1
	// allow kms:Decrypt on the KMS key that encrypts it, in the role and in the key policy
}

func ExampleLookupError() {
	ctx := mwtest.NewContext(context.Background(), mwtest.Values{Secrets: map[string]string{"prod/db": "hunter2"}})
	_, err := mw.Secret(ctx, "prod/api-key")
	fmt.Println(errors.Is(err, mw.ErrNotDeclared))
	fmt.Println(err)

	_, err = mw.Secret(context.Background(), "prod/db") // not a wrapped invoke's ctx
	fmt.Println(errors.Is(err, mw.ErrNoValues))
	// Output:
	// true
	// mw: secret "prod/api-key" is not in this test's values: add it to the mwtest.Values given to mwtest.NewContext
	// true
}
