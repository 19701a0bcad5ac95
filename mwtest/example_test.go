package mwtest_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/lambda-mw/mw"
	"github.com/lambda-mw/mw/mwtest"
)

// getValue asks the fake for a secret over HTTP, as the extension's clients
// do, and returns the status and the SecretString.
func getValue(baseURL, path, token string) (int, string) {
	req, _ := http.NewRequest(http.MethodGet, baseURL+path, nil)
	req.Header.Set(mwtest.TokenHeader, token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	var body struct{ SecretString string }
	b, _ := io.ReadAll(resp.Body)
	_ = json.Unmarshal(b, &body)
	return resp.StatusCode, body.SecretString
}

// The fake extension: put a value, fetch it over HTTP with the session
// token, and read the counters. In a test, mwtest.Start(t, mwtest.Managed)
// does the first two lines and closes both when the test ends.
func Example() {
	ext := mwtest.New(mwtest.Managed)
	srv := httptest.NewServer(ext)
	defer srv.Close()
	defer ext.Close() // first: releases any hung request

	ext.SetToken("session-token")
	ext.PutSecret("prod/db", `{"user":"app"}`)

	status, value := getValue(srv.URL, "/secretsmanager/get?secretId="+url.QueryEscape("prod/db"), "session-token")
	fmt.Println(status, value)
	status, _ = getValue(srv.URL, "/secretsmanager/get?secretId=prod%2Fdb", "wrong-token")
	fmt.Println(status)

	st := ext.Stats()
	fmt.Println("requests:", st.Total, "bad token:", st.BadToken, "served prod/db:", ext.Served("prod/db"))
	// Output:
	// 200 {"user":"app"}
	// 401
	// requests: 2 bad token: 1 served prod/db: 1
}

// A unit test of a handler needs no extension: NewContext makes a context
// from which mw.Secret and mw.Parameter answer.
func ExampleNewContext() {
	ctx := mwtest.NewContext(context.Background(), mwtest.Values{
		Parameters: map[string]string{"/app/flags": "beta,dark-mode"},
		Secrets:    map[string]string{"prod/db": "s3cr3t"},
	})
	flags, _ := mw.Parameter(ctx, "/app/flags")
	fmt.Println(flags)
	if _, err := mw.Secret(ctx, "prod/other"); err != nil {
		fmt.Println("prod/other: not declared")
	}
	// Output:
	// beta,dark-mode
	// prod/other: not declared
}

// Values print their names, never their values, under any verb.
func ExampleValues_String() {
	v := mwtest.Values{Secrets: map[string]string{"prod/db": "s3cr3t"}}
	fmt.Printf("%v\n%#v\n", v, v)
	// Output:
	// mwtest.Values{Parameters: [], Secrets: ["prod/db"]}
	// mwtest.Values{Parameters: [], Secrets: ["prod/db"]}
}

// During a Lambda INIT the extension answers every request with its
// generic 400; NotReadyFor imitates that for the next requests. Fetches
// counts every request for a name, Served only the answers that carried
// the value.
func ExampleExtension_NotReadyFor() {
	ext := mwtest.New(mwtest.Managed)
	srv := httptest.NewServer(ext)
	defer srv.Close()
	defer ext.Close()
	ext.PutSecret("prod/db", "s3cr3t")
	ext.NotReadyFor(2)

	var statuses []int
	for range 3 {
		status, _ := getValue(srv.URL, "/secretsmanager/get?secretId=prod/db", mwtest.DefaultToken)
		statuses = append(statuses, status)
	}
	fmt.Println(statuses)
	fmt.Println("fetches:", ext.Fetches("prod/db"), "served:", ext.Served("prod/db"), "not ready:", ext.Stats().NotReady)
	// Output:
	// [400 400 200]
	// fetches: 3 served: 1 not ready: 2
}

// Secrets have versions and stages, as in Secrets Manager: a new version
// becomes AWSCURRENT and the one before it AWSPREVIOUS. Version ids are
// deterministic. (The agent dialect takes the id in /v1/<id> as sent, not
// percent-decoded, as the agent does.)
func ExampleExtension_PutSecret() {
	ext := mwtest.New(mwtest.Agent)
	srv := httptest.NewServer(ext)
	defer srv.Close()
	defer ext.Close()
	v1 := ext.PutSecret("prod/db", "old")
	ext.PutSecret("prod/db", "new")

	_, cur := getValue(srv.URL, "/v1/prod/db", mwtest.DefaultToken)
	_, prev := getValue(srv.URL, "/v1/prod/db?versionStage=AWSPREVIOUS", mwtest.DefaultToken)
	_, byID := getValue(srv.URL, "/v1/prod/db?versionId="+v1, mwtest.DefaultToken)
	fmt.Println(cur, prev, byID, v1)
	// Output:
	// new old old 19054990-6de6-4000-8000-000000000001
}

// Parameters have numbered versions and labels, as in Parameter Store. A
// request asks for one with version= or label=, or with a ":selector"
// after the name.
func ExampleExtension_LabelParameter() {
	ext := mwtest.New(mwtest.Managed)
	srv := httptest.NewServer(ext)
	defer srv.Close()
	defer ext.Close()
	ext.PutParameter("/app/flags", mwtest.TypeStringList, "beta")
	ext.PutParameter("/app/flags", mwtest.TypeStringList, "beta,dark-mode")
	ext.LabelParameter("/app/flags", 1, "stable")

	for _, query := range []string{
		"name=/app/flags",
		"name=/app/flags&label=stable",
		"name=/app/flags&version=2",
		"name=/app/flags:stable",
	} {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/systemsmanager/parameters/get?"+query, nil)
		req.Header.Set(mwtest.TokenHeader, mwtest.DefaultToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			fmt.Println(err)
			return
		}
		var body struct{ Parameter struct{ Value string } }
		_ = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		fmt.Printf("%-30s %s\n", query, body.Parameter.Value)
	}
	// Output:
	// name=/app/flags                beta,dark-mode
	// name=/app/flags&label=stable   beta
	// name=/app/flags&version=2      beta,dark-mode
	// name=/app/flags:stable         beta
}

// Faults answer a share of value requests with the extension's errors,
// drawn from a seeded PRNG: the same seed gives the same faults.
func ExampleExtension_SetFaults() {
	ext := mwtest.New(mwtest.Agent)
	srv := httptest.NewServer(ext)
	defer srv.Close()
	defer ext.Close()
	ext.PutSecret("s", "v")
	ext.SetFaults(mwtest.Faults{Throttle: 1})

	status, _ := getValue(srv.URL, "/secretsmanager/get?secretId=s", mwtest.DefaultToken)
	ext.SetFaults(mwtest.Faults{})
	again, _ := getValue(srv.URL, "/secretsmanager/get?secretId=s", mwtest.DefaultToken)
	fmt.Println(status, again, ext.Stats().Faults.Throttle)
	// Output:
	// 429 200 1
}

// The ARNs under which the fake serves an item; it accepts them wherever
// it accepts the name.
func ExampleSecretARN() {
	fmt.Println(mwtest.SecretARN("prod/db"))
	fmt.Println(mwtest.ParameterARN("/app/flags"))
	// Output:
	// arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-HMPtod
	// arn:aws:ssm:us-east-1:123456789012:parameter/app/flags
}

func ExampleParseDialect() {
	d, err := mwtest.ParseDialect("agent")
	fmt.Println(d, err)
	_, err = mwtest.ParseDialect("vault")
	fmt.Println(err)
	// Output:
	// agent <nil>
	// mwtest: unknown dialect "vault" (want managed, agent or appconfig)
}

// getConfiguration asks a fake in the AppConfig dialect for a profile, as
// a function asks the AppConfig extension: no token, each name escaped.
func getConfiguration(baseURL, app, env, profile string) (status int, version, body string) {
	resp, err := http.Get(baseURL + "/applications/" + url.PathEscape(app) + "/environments/" + url.PathEscape(env) +
		"/configurations/" + url.PathEscape(profile))
	if err != nil {
		return 0, "", err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Configuration-Version"), string(b)
}

// The AppConfig dialect serves the latest version deployed to an
// environment, with its Configuration-Version and Content-Type.
func ExampleExtension_PutConfiguration() {
	ext := mwtest.New(mwtest.AppConfig)
	srv := httptest.NewServer(ext)
	defer srv.Close()
	defer ext.Close()

	ext.PutConfiguration("orders", "prod", "settings", "application/json", []byte(`{"batch":10}`))
	ext.PutConfiguration("orders", "prod", "settings", "application/json", []byte(`{"batch":25}`))
	fmt.Println(getConfiguration(srv.URL, "orders", "prod", "settings"))
	fmt.Println(getConfiguration(srv.URL, "orders", "test", "settings"))
	fmt.Println("served:", ext.Served("orders/prod/settings"))
	// Output:
	// 200 2 {"batch":25}
	// 404  {"Message":"Unrecognized or malformed path","ResourceType":"Configuration"}
	// served: 1
}

// A feature-flag profile is served as the extension serves it: each flag's
// key to whether it is enabled, with its attributes while it is.
func ExampleExtension_PutFeatureFlags() {
	ext := mwtest.New(mwtest.AppConfig)
	srv := httptest.NewServer(ext)
	defer srv.Close()
	defer ext.Close()

	ext.PutFeatureFlags("orders", "prod", "flags", map[string]mwtest.Flag{
		"new-checkout": {Enabled: true, Attributes: map[string]any{"limit": 5}},
		"dark-mode":    {Enabled: false, Attributes: map[string]any{"theme": "night"}},
	})
	_, _, body := getConfiguration(srv.URL, "orders", "prod", "flags")
	fmt.Println(body)
	// Output:
	// {"dark-mode":{"enabled":false},"new-checkout":{"enabled":true,"limit":5}}
}

// A denied profile is answered 403, as when the function's role may not
// call appconfig:StartConfigurationSession on it.
func ExampleExtension_DenyConfiguration() {
	ext := mwtest.New(mwtest.AppConfig)
	srv := httptest.NewServer(ext)
	defer srv.Close()
	defer ext.Close()

	ext.PutConfiguration("orders", "prod", "settings", "", []byte(`{}`))
	ext.DenyConfiguration("orders", "prod", "settings")
	status, _, _ := getConfiguration(srv.URL, "orders", "prod", "settings")
	fmt.Println(status)
	// Output: 403
}

func ExampleConfigurationARN() {
	fmt.Println(mwtest.ConfigurationARN("orders", "prod", "flags"))
	// Output: arn:aws:appconfig:us-east-1:123456789012:application/orders/environment/prod/configuration/flags
}

// A Flag prints its attribute names, never their values.
func ExampleFlag_String() {
	f := mwtest.Flag{Enabled: true, Attributes: map[string]any{"limit": 5}}
	fmt.Println(f)
	// Output: mwtest.Flag{Enabled: true, Attributes: ["limit"]}
}

// A handler's error paths, unit-tested: an optional item that could not be
// fetched, and a value served past its TTL because refreshing it failed.
func ExampleValues_missing() {
	ctx := mwtest.NewContext(context.Background(), mwtest.Values{
		Secrets: map[string]string{"prod/db": "pw"},
		Missing: []*mw.FetchError{{Kind: mw.KindParameter, Name: "/app/beta", Class: mw.ClassAccessDenied}},
		Stale:   map[string]time.Duration{"secret:prod/db": 90 * time.Second},
	})
	_, err := mw.Parameter(ctx, "/app/beta")
	var fe *mw.FetchError
	fmt.Println(errors.Is(err, mw.ErrNotFound), errors.As(err, &fe) && fe.Class == mw.ClassAccessDenied)
	fmt.Println(mw.Stale(ctx, mw.KindSecret, "prod/db"))
	// Output:
	// true true
	// 1m30s true
}

// A wrapped handler pointed at the fake, with no os.Setenv: the fake hands
// back the options that reach it, token included, and the handler ignores
// the MW_* variables of the shell, so such tests may run in parallel.
func ExampleExtension_Options() {
	ext := mwtest.New(mwtest.Agent)
	srv := httptest.NewServer(ext)
	defer srv.Close()
	defer ext.Close()
	ext.PutSecret("prod/db", "pw")

	h := mw.Wrap(func(ctx context.Context, _ struct{}) (int, error) {
		pw, err := mw.Secret(ctx, "prod/db")
		return len(pw), err
	}, append(ext.Options(srv.URL), mw.WithSecrets("prod/db"))...)
	n, err := h(context.Background(), struct{}{})
	fmt.Println(n, err)
	// Output: 2 <nil>
}

// A fake in one of its dialects, served on a loopback port: here the
// Secrets Manager Agent's. In a test, Start does the first three lines,
// and closes both when the test ends.
func ExampleNew() {
	ext := mwtest.New(mwtest.Agent)
	srv := httptest.NewServer(ext)
	defer srv.Close()
	defer ext.Close() // first: releases any hung request
	ext.PutSecret("prod/db", "hunter2")

	h := mw.Wrap(func(ctx context.Context, _ struct{}) (string, error) {
		pw, err := mw.Secret(ctx, "prod/db")
		return fmt.Sprintf("password of %d bytes", len(pw)), err
	}, append(ext.Options(srv.URL), mw.WithSecrets("prod/db"))...)
	fmt.Println(h(context.Background(), struct{}{}))
	fmt.Println(ext.Dialect(), "requests:", ext.Requests())
	// Output:
	// password of 7 bytes <nil>
	// agent requests: 1
}

// The dialect a fake speaks, as ParseDialect reads it.
func ExampleExtension_Dialect() {
	for _, d := range []mwtest.Dialect{mwtest.Managed, mwtest.Agent, mwtest.AppConfig} {
		fmt.Println(mwtest.New(d).Dialect())
	}
	// Output:
	// managed
	// agent
	// appconfig
}

// The token the fake wants, as the extension wants the function's
// AWS_SESSION_TOKEN: Options gives the Wrap the fake's, and a request with
// another is refused. The tokens are made up.
func ExampleExtension_SetToken() {
	ext := mwtest.New(mwtest.Managed)
	srv := httptest.NewServer(ext)
	defer srv.Close()
	defer ext.Close()
	ext.SetToken("example-session-token")
	ext.PutSecret("prod/db", "hunter2")

	handler := func(ctx context.Context, _ struct{}) (string, error) { return "the handler ran", nil }
	for _, opts := range [][]mw.Option{
		ext.Options(srv.URL),
		append(ext.Options(srv.URL), mw.WithToken("expired-token")),
	} {
		h := mw.Wrap(handler, append(opts, mw.WithSecrets("prod/db"))...)
		out, err := h(context.Background(), struct{}{})
		if fe, ok := errors.AsType[*mw.FetchError](err); ok {
			fmt.Println(fe.Status, fe.Class)
		} else {
			fmt.Println(out)
		}
	}
	fmt.Println("refused for their token:", ext.Stats().BadToken)
	// Output:
	// the handler ran
	// 401 bad_token
	// refused for their token: 1
}

// Parameters of each type, with numbered versions: PutParameter returns
// the new version's number. A SecureString is served decrypted.
func ExampleExtension_PutParameter() {
	ext := mwtest.New(mwtest.Managed)
	srv := httptest.NewServer(ext)
	defer srv.Close()
	defer ext.Close()
	v1 := ext.PutParameter("/app/flags", mwtest.TypeStringList, "beta")
	v2 := ext.PutParameter("/app/flags", mwtest.TypeStringList, "beta,dark-mode")
	ext.PutParameter("/app/api-key", mwtest.TypeSecureString, "k-123")
	fmt.Println("versions", v1, v2)

	h := mw.Wrap(func(ctx context.Context, _ struct{}) (string, error) {
		flags, err := mw.ParameterList(ctx, "/app/flags")
		if err != nil {
			return "", err
		}
		key, err := mw.Parameter(ctx, "/app/api-key")
		return fmt.Sprintf("flags %q, key of %d bytes", flags, len(key)), err
	}, append(ext.Options(srv.URL), mw.WithParameters("/app/flags", "/app/api-key"))...)
	fmt.Println(h(context.Background(), struct{}{}))
	// Output:
	// versions 1 2
	// flags ["beta" "dark-mode"], key of 5 bytes <nil>
}

// A binary secret (SecretBinary), which the fake sends in base64 as
// Secrets Manager does, and mw.SecretBinary reads as bytes.
func ExampleExtension_PutSecretBinary() {
	ext := mwtest.New(mwtest.Managed)
	srv := httptest.NewServer(ext)
	defer srv.Close()
	defer ext.Close()
	ext.PutSecretBinary("prod/signing-key", []byte{0xde, 0xad, 0xbe, 0xef})

	h := mw.Wrap(func(ctx context.Context, _ struct{}) ([]byte, error) {
		return mw.SecretBinary(ctx, "prod/signing-key")
	}, append(ext.Options(srv.URL), mw.WithSecrets("prod/signing-key"))...)
	b, err := h(context.Background(), struct{}{})
	fmt.Printf("%x %v\n", b, err)
	// Output: deadbeef <nil>
}

// A rotation in progress, staged as Secrets Manager stages it: the new
// version is AWSPENDING while the old one stays AWSCURRENT. A handler reads
// either by its stage.
func ExampleExtension_StageSecret() {
	ext := mwtest.New(mwtest.Managed)
	srv := httptest.NewServer(ext)
	defer srv.Close()
	defer ext.Close()
	old := ext.PutSecret("prod/db", "old-password")
	pending := ext.PutSecret("prod/db", "new-password") // AWSCURRENT, for now
	ext.StageSecret("prod/db", old, mwtest.StageCurrent)
	ext.StageSecret("prod/db", pending, "AWSPENDING")

	cur := mw.WithSecret("prod/db")
	next := mw.WithSecret("prod/db", mw.VersionStage("AWSPENDING"), mw.Alias("db-pending"))
	h := mw.Wrap(func(ctx context.Context, _ struct{}) (string, error) {
		a, _ := cur.Value(ctx)
		b, err := next.Value(ctx)
		return a + ", then " + b, err
	}, append(ext.Options(srv.URL), cur, next)...)
	fmt.Println(h(context.Background(), struct{}{}))
	// Output: old-password, then new-password <nil>
}

// A secret the function's role may not read: the Secrets Manager Agent
// answers AccessDeniedException, and the invoke fails with the fix.
func ExampleExtension_Deny() {
	ext := mwtest.New(mwtest.Agent)
	srv := httptest.NewServer(ext)
	defer srv.Close()
	defer ext.Close()
	ext.PutSecret("prod/db", "hunter2")
	ext.Deny("prod/db")

	h := mw.Wrap(func(ctx context.Context, _ struct{}) (string, error) { return "the handler ran", nil },
		append(ext.Options(srv.URL), mw.WithSecrets("prod/db"))...)
	_, err := h(context.Background(), struct{}{})
	if fe, ok := errors.AsType[*mw.FetchError](err); ok {
		fmt.Println(fe.Status, fe.Code, fe.Class)
		fmt.Println(fe.Hint())
	}
	// Output:
	// 400 AccessDeniedException access_denied
	// allow secretsmanager:GetSecretValue on its ARN in the role the Secrets Manager Agent uses
}

// A secret whose KMS key the function's role may not use: the Secrets
// Manager Agent answers DecryptionFailure.
func ExampleExtension_DenyDecrypt() {
	ext := mwtest.New(mwtest.Agent)
	srv := httptest.NewServer(ext)
	defer srv.Close()
	defer ext.Close()
	ext.PutSecret("prod/db", "hunter2")
	ext.DenyDecrypt("prod/db")

	h := mw.Wrap(func(ctx context.Context, _ struct{}) (string, error) { return "the handler ran", nil },
		append(ext.Options(srv.URL), mw.WithSecrets("prod/db"))...)
	_, err := h(context.Background(), struct{}{})
	if fe, ok := errors.AsType[*mw.FetchError](err); ok {
		fmt.Println(fe.Status, fe.Code, fe.Class)
	}
	// Output: 400 DecryptionFailure kms_decrypt
}

// After Close, the fake answers every request 503 with ClosedError, as a
// server shutting down would; held requests are released so.
func ExampleExtension_Close() {
	ext := mwtest.New(mwtest.Managed)
	srv := httptest.NewServer(ext)
	defer srv.Close()
	ext.PutSecret("prod/db", "hunter2")
	ext.Close()

	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/secretsmanager/get?secretId=prod/db", nil)
	req.Header.Set(mwtest.TokenHeader, mwtest.DefaultToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		fmt.Println(err)
		return
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Println(resp.StatusCode, string(body) == mwtest.ClosedError)
	// Output: 503 true
}

// A parameter declared and read by its ARN, in the fake's Region and
// account, which the fake serves as it serves the name.
func ExampleParameterARN() {
	ext := mwtest.New(mwtest.Managed)
	srv := httptest.NewServer(ext)
	defer srv.Close()
	defer ext.Close()
	ext.PutParameter("/app/url", mwtest.TypeString, "https://example.com")

	arn := mwtest.ParameterARN("/app/url")
	h := mw.Wrap(func(ctx context.Context, _ struct{}) (string, error) {
		return mw.Parameter(ctx, arn)
	}, append(ext.Options(srv.URL), mw.WithParameters(arn))...)
	fmt.Println(arn)
	fmt.Println(mwtest.Region, mwtest.AccountID)
	fmt.Println(h(context.Background(), struct{}{}))
	// Output:
	// arn:aws:ssm:us-east-1:123456789012:parameter/app/url
	// us-east-1 123456789012
	// https://example.com <nil>
}

// The next requests for an item fail with the fault chosen, whatever
// Faults draws: here two server errors, which mw tries again within the
// invoke.
func ExampleExtension_FailNext() {
	ext := mwtest.New(mwtest.Managed)
	srv := httptest.NewServer(ext)
	defer srv.Close()
	defer ext.Close()
	ext.PutSecret("prod/db", "hunter2")
	ext.FailNext("prod/db", mwtest.FaultServerError, 2)

	h := mw.Wrap(func(ctx context.Context, _ struct{}) (string, error) {
		pw, err := mw.Secret(ctx, "prod/db")
		return fmt.Sprintf("password of %d bytes", len(pw)), err
	}, append(ext.Options(srv.URL), mw.WithSecrets("prod/db"))...)
	fmt.Println(h(context.Background(), struct{}{}))
	fmt.Println("fetches:", ext.Fetches("prod/db"), "served:", ext.Served("prod/db"), "server errors:", ext.Stats().Faults.ServerError)
	// Output:
	// password of 7 bytes <nil>
	// fetches: 3 served: 1 server errors: 2
}

// Each fault, and how a source classifies it: here the fake's own Source,
// which meets the faults the fake's HTTP routes do.
func ExampleFault() {
	ext := mwtest.New(mwtest.Managed)
	ext.PutSecret("prod/db", "hunter2")
	src := ext.Source()
	it := mw.Item{Kind: mw.KindSecret, Name: "prod/db"}
	p, _ := src.Plan(it)

	for _, f := range []mwtest.Fault{mwtest.FaultThrottle, mwtest.FaultServerError, mwtest.FaultMalformed, mwtest.FaultReset} {
		ext.FailNext("prod/db", f, 1)
		res := src.Fetch(context.Background(), p.Op, []mw.Item{it})
		if se, ok := errors.AsType[*mw.SourceError](res[0].Err); ok {
			fmt.Println(f, se.Class, "retry:", se.Retry)
		}
	}
	// Output:
	// FaultThrottle throttled retry: true
	// FaultServerError server_error retry: true
	// FaultMalformed malformed retry: false
	// FaultReset unavailable retry: true
}

// A share of requests fails, drawn from a PRNG seeded with Seed: the same
// seed gives the same faults on every run.
func ExampleFaults() {
	ext := mwtest.New(mwtest.Managed)
	ext.PutSecret("prod/db", "hunter2")
	ext.SetFaults(mwtest.Faults{Throttle: 0.3, ServerError: 0.2, Seed: 7})
	src := ext.Source()
	it := mw.Item{Kind: mw.KindSecret, Name: "prod/db"}
	p, _ := src.Plan(it)

	var failed int
	for range 20 {
		if res := src.Fetch(context.Background(), p.Op, []mw.Item{it}); res[0].Err != nil {
			failed++
		}
	}
	fmt.Println("failed:", failed, "of 20")
	// Output: failed: 9 of 20
}

// The faults injected, by kind.
func ExampleFaultStats() {
	ext := mwtest.New(mwtest.Managed)
	ext.PutSecret("prod/db", "hunter2")
	src := ext.Source()
	it := mw.Item{Kind: mw.KindSecret, Name: "prod/db"}
	p, _ := src.Plan(it)

	ext.FailNext("prod/db", mwtest.FaultThrottle, 2)
	ext.FailNext("prod/db", mwtest.FaultMalformed, 1)
	for range 4 {
		src.Fetch(context.Background(), p.Op, []mw.Item{it})
	}
	fmt.Printf("%+v\n", ext.Stats().Faults)
	// Output: {ServerError:0 Throttle:2 Reset:0 Malformed:1}
}

// Value requests for a name, answered or not: one for three invokes, which
// mw serves from memory until the item's TTL passes.
func ExampleExtension_Fetches() {
	ext := mwtest.New(mwtest.Managed)
	srv := httptest.NewServer(ext)
	defer srv.Close()
	defer ext.Close()
	ext.PutSecret("prod/db", "hunter2")

	h := mw.Wrap(func(ctx context.Context, _ struct{}) (string, error) { return "the handler ran", nil },
		append(ext.Options(srv.URL), mw.WithSecrets("prod/db"))...)
	for range 3 {
		h(context.Background(), struct{}{})
	}
	fmt.Println("fetches of prod/db:", ext.Fetches("prod/db"))
	// Output: fetches of prod/db: 1
}

// The answers that carried the value: a throttled attempt counts in
// Fetches, not here.
func ExampleExtension_Served() {
	ext := mwtest.New(mwtest.Managed)
	srv := httptest.NewServer(ext)
	defer srv.Close()
	defer ext.Close()
	ext.PutSecret("prod/db", "hunter2")
	ext.FailNext("prod/db", mwtest.FaultThrottle, 1)

	h := mw.Wrap(func(ctx context.Context, _ struct{}) (string, error) { return "the handler ran", nil },
		append(ext.Options(srv.URL), mw.WithSecrets("prod/db"))...)
	fmt.Println(h(context.Background(), struct{}{}))
	fmt.Println("fetches:", ext.Fetches("prod/db"), "served:", ext.Served("prod/db"))
	// Output:
	// the handler ran <nil>
	// fetches: 2 served: 1
}

// Every request the fake received, refused ones included.
func ExampleExtension_Requests() {
	ext := mwtest.New(mwtest.Managed)
	srv := httptest.NewServer(ext)
	defer srv.Close()
	defer ext.Close()
	ext.PutSecret("prod/db", "hunter2")
	ext.PutParameter("/app/url", mwtest.TypeString, "https://example.com")

	h := mw.Wrap(func(ctx context.Context, _ struct{}) (string, error) { return "the handler ran", nil },
		append(ext.Options(srv.URL), mw.WithSecrets("prod/db"), mw.WithParameters("/app/url"))...)
	h(context.Background(), struct{}{})
	resp, err := http.Get(srv.URL + "/secretsmanager/get?secretId=prod/db") // no token: refused
	if err == nil {
		resp.Body.Close()
	}
	fmt.Println("requests:", ext.Requests())
	// Output: requests: 3
}

// Stats is one snapshot of the counters: by path, by status, by name and
// by AWS error code.
func ExampleStats() {
	ext := mwtest.New(mwtest.Agent)
	srv := httptest.NewServer(ext)
	defer srv.Close()
	defer ext.Close()
	ext.PutSecret("prod/db", "hunter2")

	h := mw.Wrap(func(ctx context.Context, _ struct{}) (string, error) { return "the handler ran", nil },
		append(ext.Options(srv.URL), mw.WithSecrets("prod/db"), mw.WithSecret("prod/typo", mw.Optional()))...)
	h(context.Background(), struct{}{})

	st := ext.Stats()
	fmt.Println("total:", st.Total, "fetches:", st.Fetches)
	fmt.Println("by status:", st.ByStatus)
	fmt.Println("served:", st.Served)
	fmt.Println("by error:", st.ByError)
	// Output:
	// total: 2 fetches: 2
	// by status: map[200:1 400:1]
	// served: map[prod/db:1]
	// by error: map[ResourceNotFoundException:1]
}

// Stats returns a copy: later requests do not change it.
func ExampleExtension_Stats() {
	ext := mwtest.New(mwtest.Managed)
	srv := httptest.NewServer(ext)
	defer srv.Close()
	defer ext.Close()
	ext.PutSecret("prod/db", "hunter2")

	before := ext.Stats()
	h := mw.Wrap(func(ctx context.Context, _ struct{}) (string, error) { return "the handler ran", nil },
		append(ext.Options(srv.URL), mw.WithSecrets("prod/db"))...)
	h(context.Background(), struct{}{})
	fmt.Println("before:", before.Fetches, before.Served["prod/db"], "after:", ext.Stats().Fetches, ext.Stats().Served["prod/db"])
	// Output: before: 0 0 after: 1 1
}

// Reset zeroes the counters between the steps of a test; the values stay.
func ExampleExtension_Reset() {
	ext := mwtest.New(mwtest.Managed)
	srv := httptest.NewServer(ext)
	defer srv.Close()
	defer ext.Close()
	ext.PutSecret("prod/db", "hunter2")
	handler := func(ctx context.Context, _ struct{}) (string, error) {
		pw, err := mw.Secret(ctx, "prod/db")
		return fmt.Sprintf("password of %d bytes", len(pw)), err
	}

	first := mw.Wrap(handler, append(ext.Options(srv.URL), mw.WithSecrets("prod/db"))...)
	first(context.Background(), struct{}{})
	ext.Reset()

	second := mw.Wrap(handler, append(ext.Options(srv.URL), mw.WithSecrets("prod/db"))...)
	fmt.Println(second(context.Background(), struct{}{}))
	fmt.Println("fetches since Reset:", ext.Fetches("prod/db"))
	// Output:
	// password of 7 bytes <nil>
	// fetches since Reset: 1
}

// Requests held until their client goes away: here the invoke is
// canceled while the fake holds its fetch.
func ExampleExtension_SetHang() {
	ext := mwtest.New(mwtest.Managed)
	srv := httptest.NewServer(ext)
	defer srv.Close()
	defer ext.Close()
	ext.PutSecret("prod/db", "hunter2")
	ext.SetHang(true)

	h := mw.Wrap(func(ctx context.Context, _ struct{}) (string, error) { return "the handler ran", nil },
		append(ext.Options(srv.URL), mw.WithSecrets("prod/db"))...)
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error)
	go func() {
		_, err := h(ctx, struct{}{})
		errc <- err
	}()
	ext.WaitHanging(nil, 1)
	cancel()
	if fe, ok := errors.AsType[*mw.FetchError](<-errc); ok {
		fmt.Println(fe.Class)
	}
	fmt.Println("held:", ext.Stats().Hung)
	// Output:
	// canceled
	// held: 1
}

// WaitHanging waits until requests are held, so that a test acts while
// they are: here it releases them, and the invoke goes on.
func ExampleExtension_WaitHanging() {
	ext := mwtest.New(mwtest.Managed)
	srv := httptest.NewServer(ext)
	defer srv.Close()
	defer ext.Close()
	ext.PutSecret("prod/db", "hunter2")
	ext.SetHang(true)

	h := mw.Wrap(func(ctx context.Context, _ struct{}) (string, error) {
		pw, err := mw.Secret(ctx, "prod/db")
		return fmt.Sprintf("password of %d bytes", len(pw)), err
	}, append(ext.Options(srv.URL), mw.WithSecrets("prod/db"))...)
	out := make(chan string)
	go func() {
		s, err := h(context.Background(), struct{}{})
		out <- fmt.Sprint(s, " ", err)
	}()
	fmt.Println("held:", ext.WaitHanging(nil, 1))
	ext.SetHang(false)
	fmt.Println(<-out)
	// Output:
	// held: true
	// password of 7 bytes <nil>
}

// A slow extension: every answer is delayed, here past the invoke's
// deadline.
func ExampleExtension_SetLatency() {
	ext := mwtest.New(mwtest.Managed)
	srv := httptest.NewServer(ext)
	defer srv.Close()
	defer ext.Close()
	ext.PutSecret("prod/db", "hunter2")
	ext.SetLatency(time.Hour)

	h := mw.Wrap(func(ctx context.Context, _ struct{}) (string, error) { return "the handler ran", nil },
		append(ext.Options(srv.URL), mw.WithSecrets("prod/db"))...)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := h(ctx, struct{}{})
	if fe, ok := errors.AsType[*mw.FetchError](err); ok {
		fmt.Println(fe.Class)
	}
	// Output: timeout
}

// A fake that is not ready acts out the Lambda INIT phase: here the
// Secrets Manager Agent before it serves, read through the fake's Source,
// whose failure says NotReady, as mw waits on.
func ExampleExtension_SetReady() {
	ext := mwtest.New(mwtest.Agent)
	ext.PutSecret("prod/db", "hunter2")
	src := ext.Source()
	it := mw.Item{Kind: mw.KindSecret, Name: "prod/db"}
	p, _ := src.Plan(it)

	ext.SetReady(false)
	res := src.Fetch(context.Background(), p.Op, []mw.Item{it})
	if se, ok := errors.AsType[*mw.SourceError](res[0].Err); ok {
		fmt.Println(se.Class, "not ready:", se.NotReady)
	}
	ext.SetReady(true)
	res = src.Fetch(context.Background(), p.Op, []mw.Item{it})
	fmt.Println(res[0].Err)
	// Output:
	// unavailable not ready: true
	// <nil>
}

// A parameter as another account's role reads it, beside the function's
// own: only the fake's Source reads parameters as a role, as the AWS SDK
// source does.
func ExampleExtension_PutRoleParameter() {
	const reader = "arn:aws:iam::111122223333:role/config-reader"
	ext := mwtest.New(mwtest.Managed)
	ext.PutParameter("/app/url", mwtest.TypeString, "https://own.example.com")
	ext.PutRoleParameter(reader, "/app/url", mwtest.TypeString, "https://partner.example.com")

	own := mw.WithParameter("/app/url", mw.From(ext.Source()))
	partner := mw.WithParameter("/app/url", mw.From(ext.Source()), mw.RoleARN(reader), mw.Alias("partner-url"))
	h := mw.Wrap(func(ctx context.Context, _ struct{}) (string, error) {
		a, err := own.Value(ctx)
		if err != nil {
			return "", err
		}
		b, err := partner.Value(ctx)
		return a + " " + b, err
	}, mw.WithoutEnvironment(), own, partner)
	fmt.Println(h(context.Background(), struct{}{}))
	fmt.Println("read as a role:", ext.Stats().WithRole)
	// Output:
	// https://own.example.com https://partner.example.com <nil>
	// read as a role: 1
}

// A Backend is what a test fills and makes fail, whatever holds the
// values: the fake is one, as cloudexttest's Server is. Here seed fills
// the fake, and the fake's Source reads it.
func ExampleBackend() {
	seed := func(be mwtest.Backend) {
		be.PutSecret("prod/db", "hunter2")
		be.Deny("prod/other-team")
	}
	ext := mwtest.New(mwtest.Managed)
	seed(ext)

	src := ext.Source()
	items := []mw.Item{{Kind: mw.KindSecret, Name: "prod/db"}, {Kind: mw.KindSecret, Name: "prod/other-team"}}
	p, _ := src.Plan(items[0])
	for i, r := range src.Fetch(context.Background(), p.Op, items) {
		if se, ok := errors.AsType[*mw.SourceError](r.Err); ok {
			fmt.Println(items[i], se.Class)
			continue
		}
		fmt.Println(items[i], len(r.Value), "bytes")
	}
	// Output:
	// secret "prod/db" 7 bytes
	// secret "prod/other-team" access_denied
}

// An AppConfigBackend also holds AppConfig configurations, for a source
// that serves profiles: the fake in any dialect is one.
func ExampleAppConfigBackend() {
	seed := func(be mwtest.AppConfigBackend) {
		be.PutConfiguration("orders", "prod", "settings", "application/json", []byte(`{"batch":25}`))
		be.PutConfiguration("orders", "prod", "secret-plan", "application/json", []byte(`{}`))
		be.DenyConfiguration("orders", "prod", "secret-plan")
	}
	ext := mwtest.New(mwtest.AppConfig)
	seed(ext)

	src := ext.Source()
	for _, name := range []string{"settings", "secret-plan"} {
		it := mw.Item{Kind: mw.KindAppConfig, Application: "orders", Environment: "prod", Name: name}
		p, _ := src.Plan(it)
		r := src.Fetch(context.Background(), p.Op, []mw.Item{it})[0]
		if se, ok := errors.AsType[*mw.SourceError](r.Err); ok {
			fmt.Println(it, se.Class)
			continue
		}
		fmt.Println(it, r.Value)
	}
	// Output:
	// appconfig "orders/prod/settings" {"batch":25}
	// appconfig "orders/prod/secret-plan" access_denied
}

// A RoleBackend also holds what other IAM roles read, for a source that
// serves items read as a role (mw.RoleARN).
func ExampleRoleBackend() {
	const reader = "arn:aws:iam::111122223333:role/shared-secret-reader"
	seed := func(be mwtest.RoleBackend) {
		be.PutSecret("partner-key", "own-copy")
		be.PutRoleSecret(reader, "partner-key", "partner-copy")
	}
	ext := mwtest.New(mwtest.Agent)
	seed(ext)

	src := ext.Source()
	for _, it := range []mw.Item{
		{Kind: mw.KindSecret, Name: "partner-key"},
		{Kind: mw.KindSecret, Name: "partner-key", RoleARN: reader},
	} {
		p, _ := src.Plan(it)
		r := src.Fetch(context.Background(), p.Op, []mw.Item{it})[0]
		fmt.Println(it, r.Value, r.Err)
	}
	// Output:
	// secret "partner-key" own-copy <nil>
	// secret "partner-key" as role arn:aws:iam::111122223333:role/shared-secret-reader partner-copy <nil>
}

// TestSource runs the conformance suite in a test of your source, here
// the fake's own Source over the fake. It takes the test's *testing.T, so
// this example shows the test without running it: in a _test.go file it
// is func TestConformance(t *testing.T).
func ExampleTestSource() {
	testConformance := func(t *testing.T) {
		mwtest.TestSource(t, func(t *testing.T) (mw.Source, mwtest.Backend) {
			ext := mwtest.New(mwtest.Managed)
			t.Cleanup(ext.Close)
			return ext.Source(), ext
		})
	}
	_ = testConformance
}

// The names the counters key are bounded: a name longer than AWS takes
// counts under OtherNames.
func ExampleStats_otherNames() {
	ext := mwtest.New(mwtest.Managed)
	src := ext.Source()
	it := mw.Item{Kind: mw.KindSecret, Name: "prod/" + strings.Repeat("x", 3000)}
	p, _ := src.Plan(it)
	src.Fetch(context.Background(), p.Op, []mw.Item{it})
	fmt.Println("under OtherNames:", ext.Fetches(mwtest.OtherNames), "names counted:", len(ext.Stats().ByName))
	// Output: under OtherNames: 1 names counted: 1
}
