package cloudexttest_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/lambda-mw/mw"
	"github.com/lambda-mw/mw/cloudext"
	"github.com/lambda-mw/mw/cloudext/cloudexttest"
	"github.com/lambda-mw/mw/mwtest"
)

// A wrapped handler tested against the fake runtime, as a user's test
// would (there, Start serves it and closes it when the test ends).
func Example() {
	f := cloudexttest.New(cloudexttest.Settings{})
	srv := httptest.NewServer(f)
	defer srv.Close()
	f.PutSecret("prod/db", "example-only")

	h := mw.Wrap(func(ctx context.Context, _ struct{}) (string, error) {
		return mw.Secret(ctx, "prod/db")
	}, mw.WithSource(f.NewSource(srv.URL)), mw.WithSecrets("prod/db"), mw.WithoutEnvironment())
	fmt.Println(h(context.Background(), struct{}{}))
	// Output: example-only <nil>
}

// A cold start that meets the runtime while it loads: 503 PROFILE_LOADING,
// then EXTENSION_LOADING, then the values.
func ExampleServer_SetLoadingWindow() {
	f := cloudexttest.New(cloudexttest.Settings{})
	srv := httptest.NewServer(f)
	defer srv.Close()
	f.PutParameter("/app/url", cloudexttest.TypeString, "https://example.com")
	f.SetLoadingWindow(30*time.Millisecond, 20*time.Millisecond)

	h := mw.Wrap(func(ctx context.Context, _ struct{}) (string, error) {
		return mw.Parameter(ctx, "/app/url")
	}, mw.WithSource(f.NewSource(srv.URL)), mw.WithParameters("/app/url"), mw.WithoutEnvironment())
	out, err := h(context.Background(), struct{}{})
	readyAt, _ := f.ReadyAt()
	fmt.Println(out, err, f.Stats().NotReady > 0, !time.Now().Before(readyAt))
	// Output: https://example.com <nil> true true
}

// Every documented error can be injected, for the next requests that name
// an item.
func ExampleServer_Inject() {
	f := cloudexttest.New(cloudexttest.Settings{})
	srv := httptest.NewServer(f)
	defer srv.Close()
	f.PutSecret("prod/db", "example-only")
	f.Inject("prod/db", cloudexttest.ProfileNotFound, 1)

	src := f.NewSource(srv.URL)
	res := src.Fetch(context.Background(), "GET /secretsmanager/get", []mw.Item{{Kind: mw.KindSecret, Name: "prod/db"}})
	se, _ := errors.AsType[*mw.SourceError](res[0].Err)
	fmt.Println(se.Status, se.Code, se.Class, se.Retry)
	res = src.Fetch(context.Background(), "GET /secretsmanager/get", []mw.Item{{Kind: mw.KindSecret, Name: "prod/db"}})
	fmt.Println(res[0].Value)
	// Output:
	// 502 BadGatewayException config false
	// example-only
}

// A multi-variant flag, evaluated against each request's context.
func ExampleServer_PutFlags() {
	f := cloudexttest.New(cloudexttest.Settings{})
	srv := httptest.NewServer(f)
	defer srv.Close()
	f.PutFlags("shop", "prod", "flags", map[string]cloudexttest.Flag{"beta": {
		Variants: []cloudexttest.Variant{
			{Name: "on", Enabled: true, When: map[string]string{"tier": "gold"}},
			{Name: "off"},
		},
		DefaultVariant: "off",
	}})
	src := f.NewSource(srv.URL)
	it := mw.Item{Kind: mw.KindAppConfig, Application: "shop", Environment: "prod", Name: "flags"}
	gold, _ := src.EvaluateFlag(context.Background(), it, "beta", map[string]string{"tier": "gold"})
	other, _ := src.EvaluateFlag(context.Background(), it, "beta", nil)
	fmt.Println(gold.Variant, gold.Enabled, other.Variant, other.Enabled)
	// Output: on true off false
}

// A profile whose authentication is the extension key: a request signed
// with the function's IAM credentials is refused.
func ExampleServer_SetAuth() {
	f := cloudexttest.New(cloudexttest.Settings{})
	srv := httptest.NewServer(f)
	defer srv.Close()
	f.PutParameter("/app/url", cloudexttest.TypeString, "https://example.com")
	iam := f.NewSource(srv.URL) // runtime credentials
	f.SetAuth(cloudexttest.Auth{Mode: cloudexttest.AuthExtensionKey})

	res := iam.Fetch(context.Background(), "AmazonSSM.GetParameters", []mw.Item{{Kind: mw.KindParameter, Name: "/app/url"}})
	se, _ := errors.AsType[*mw.SourceError](res[0].Err)
	fmt.Println(se.Status, se.Code, se.Class)
	res = f.NewSource(srv.URL).Fetch(context.Background(), "AmazonSSM.GetParameters", []mw.Item{{Kind: mw.KindParameter, Name: "/app/url"}})
	fmt.Println(res[0].Value)
	// Output:
	// 400 AccessDeniedException bad_token
	// https://example.com
}

// The fake serves the runtime's routes over HTTP: here a profile whose
// authentication is none, asked as AWS's curl examples ask it.
func ExampleNew() {
	f := cloudexttest.New(cloudexttest.Settings{Auth: cloudexttest.Auth{Mode: cloudexttest.AuthNone}})
	srv := httptest.NewServer(f)
	defer srv.Close()
	defer f.Close()
	f.PutSecret("prod/db", "example-only")

	resp, err := http.Get(srv.URL + cloudexttest.RouteSecretsManager + "?secretId=prod/db")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	var body struct{ Name, SecretString string }
	_ = json.NewDecoder(resp.Body).Decode(&body)
	fmt.Println(resp.StatusCode, body.Name, body.SecretString)
	// Output: 200 prod/db example-only
}

// cleanupT is the part of a *testing.T that Start uses: this example runs
// the cleanups itself, as go test does when a test returns.
type cleanupT struct {
	testing.TB
	cleanups []func()
}

func (t *cleanupT) Helper() {}

func (t *cleanupT) Cleanup(f func()) { t.cleanups = append(t.cleanups, f) }

// In a test, Start serves the fake and closes it, then its server, when
// the test ends. t is the test's *testing.T.
func ExampleStart() {
	t := &cleanupT{}
	f, srv := cloudexttest.Start(t, cloudexttest.Settings{})
	f.PutParameter("/app/url", cloudexttest.TypeString, "https://example.com")

	h := mw.Wrap(func(ctx context.Context, _ struct{}) (string, error) {
		return mw.Parameter(ctx, "/app/url")
	}, mw.WithSource(f.NewSource(srv.URL)), mw.WithParameters("/app/url"), mw.WithoutEnvironment())
	fmt.Println(h(context.Background(), struct{}{}))

	for i := len(t.cleanups) - 1; i >= 0; i-- { // as go test does when the test returns
		t.cleanups[i]()
	}
	// Output: https://example.com <nil>
}

// After Close, the runtime answers every request 503 RUNTIME_SHUTTING_DOWN,
// as one that is stopping does.
func ExampleServer_Close() {
	f := cloudexttest.New(cloudexttest.Settings{})
	srv := httptest.NewServer(f)
	defer srv.Close()
	f.PutSecret("prod/db", "example-only")
	f.Close()

	src := f.NewSource(srv.URL)
	it := mw.Item{Kind: mw.KindSecret, Name: "prod/db"}
	p, _ := src.Plan(it)
	res := src.Fetch(context.Background(), p.Op, []mw.Item{it})
	if se, ok := errors.AsType[*mw.SourceError](res[0].Err); ok {
		fmt.Println(se.Status, se.Code, se.Class, "retry:", se.Retry)
	}
	// Output: 503 ServiceUnavailableException server_error retry: false
}

// Config is what config.LoadDefaultConfig gives a function: credentials
// the runtime accepts, in us-east-1.
func ExampleServer_Config() {
	f := cloudexttest.New(cloudexttest.Settings{})
	srv := httptest.NewServer(f)
	defer srv.Close()
	f.PutParameter("/app/url", cloudexttest.TypeString, "https://example.com")

	cfg := f.Config()
	h := mw.Wrap(func(ctx context.Context, _ struct{}) (string, error) {
		return mw.Parameter(ctx, "/app/url")
	}, mw.WithSource(cloudext.New(cfg, cloudext.WithEndpoint(srv.URL))), mw.WithParameters("/app/url"), mw.WithoutEnvironment())
	fmt.Println(cfg.Region)
	fmt.Println(h(context.Background(), struct{}{}))
	// Output:
	// us-east-1
	// https://example.com <nil>
}

// NewSource authenticates as the fake's profile requires, then as the
// options given say: here the Region of a fake that checks it.
func ExampleServer_NewSource() {
	f := cloudexttest.New(cloudexttest.Settings{Region: "eu-west-1"})
	srv := httptest.NewServer(f)
	defer srv.Close()
	f.PutParameter("/app/url", cloudexttest.TypeString, "https://example.com")

	src := f.NewSource(srv.URL, cloudext.WithRegion("eu-west-1"))
	h := mw.Wrap(func(ctx context.Context, _ struct{}) (string, error) {
		return mw.Parameter(ctx, "/app/url")
	}, mw.WithSource(src), mw.WithParameters("/app/url"), mw.WithoutEnvironment())
	fmt.Println(h(context.Background(), struct{}{}))
	// Output: https://example.com <nil>
}

// Every request the fake received, refused ones included: here one
// unsigned.
func ExampleServer_Requests() {
	f := cloudexttest.New(cloudexttest.Settings{})
	srv := httptest.NewServer(f)
	defer srv.Close()
	f.PutSecret("prod/db", "example-only")

	h := mw.Wrap(func(ctx context.Context, _ struct{}) (string, error) { return "the handler ran", nil },
		mw.WithSource(f.NewSource(srv.URL)), mw.WithSecrets("prod/db"), mw.WithoutEnvironment())
	fmt.Println(h(context.Background(), struct{}{}))
	if resp, err := http.Get(srv.URL + cloudexttest.RouteSecretsManager + "?secretId=prod/db"); err == nil {
		fmt.Println(resp.StatusCode)
		resp.Body.Close()
	}
	fmt.Println("requests:", f.Requests())
	// Output:
	// the handler ran <nil>
	// 401
	// requests: 2
}

// A slow runtime: every answer is delayed, here past the invoke's deadline.
func ExampleServer_SetLatency() {
	f := cloudexttest.New(cloudexttest.Settings{})
	srv := httptest.NewServer(f)
	defer srv.Close()
	defer f.Close() // first: releases the delayed requests
	f.PutSecret("prod/db", "example-only")
	f.SetLatency(time.Hour)

	h := mw.Wrap(func(ctx context.Context, _ struct{}) (string, error) { return "the handler ran", nil },
		mw.WithSource(f.NewSource(srv.URL)), mw.WithSecrets("prod/db"), mw.WithoutEnvironment())
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := h(ctx, struct{}{})
	if fe, ok := errors.AsType[*mw.FetchError](err); ok {
		fmt.Println(fe.Class)
	}
	// Output: timeout
}

// The SSRF token check turned on during a test: a source made before,
// without the token, is refused, and one NewSource makes now sends it. The
// token is made up.
func ExampleServer_SetSSRFToken() {
	f := cloudexttest.New(cloudexttest.Settings{})
	srv := httptest.NewServer(f)
	defer srv.Close()
	f.PutSecret("prod/db", "example-only")
	before := f.NewSource(srv.URL)
	f.SetSSRFToken("example-ssrf-token")

	it := mw.Item{Kind: mw.KindSecret, Name: "prod/db"}
	for _, src := range []*cloudext.Source{before, f.NewSource(srv.URL)} {
		p, _ := src.Plan(it)
		res := src.Fetch(context.Background(), p.Op, []mw.Item{it})
		if se, ok := errors.AsType[*mw.SourceError](res[0].Err); ok {
			fmt.Println(se.Status, se.Code)
			continue
		}
		fmt.Println("served, token in", cloudexttest.DefaultSSRFHeader)
	}
	// Output:
	// 403 InvalidSsrfTokenException
	// served, token in X-Aws-Parameters-Secrets-Token
}

// What the runtime received, by operation, for a test to check what a
// client sent.
func ExampleServer_Stats() {
	f := cloudexttest.New(cloudexttest.Settings{})
	srv := httptest.NewServer(f)
	defer srv.Close()
	f.PutSecret("prod/db", "example-only")
	f.PutParameter("/app/url", cloudexttest.TypeString, "https://example.com")
	f.PutParameter("/app/name", cloudexttest.TypeString, "shop")

	h := mw.Wrap(func(ctx context.Context, _ struct{}) (string, error) { return "the handler ran", nil },
		mw.WithSource(f.NewSource(srv.URL)), mw.WithSecrets("prod/db"), mw.WithParameters("/app/url", "/app/name"), mw.WithoutEnvironment())
	h(context.Background(), struct{}{})
	fmt.Println(f.Stats().Operations)
	// Output: map[GetParameters:1 GetSecretValue:1]
}

// The counters of the runtime's checks: here an unsigned request, refused
// for its authentication.
func ExampleStats() {
	f := cloudexttest.New(cloudexttest.Settings{})
	srv := httptest.NewServer(f)
	defer srv.Close()
	f.PutSecret("prod/db", "example-only")

	if resp, err := http.Get(srv.URL + cloudexttest.RouteSecretsManager + "?secretId=prod/db"); err == nil {
		resp.Body.Close()
	}
	st := f.Stats()
	fmt.Println("requests:", st.Requests, "unsigned:", st.Unsigned, "refused:", st.AuthRefused, "past the checks:", st.Operations)
	// Output: requests: 1 unsigned: 1 refused: 1 past the checks: map[]
}

// Settings make the fake's choices where AWS is silent: here its clock,
// 10 s ahead of the client's, which the documented 5 s of skew refuses,
// and a wider ClockSkew accepts.
func ExampleSettings() {
	ahead := func() time.Time { return time.Now().Add(10 * time.Second) }
	for _, s := range []cloudexttest.Settings{
		{Now: ahead},
		{Now: ahead, ClockSkew: 30 * time.Second},
	} {
		f := cloudexttest.New(s)
		srv := httptest.NewServer(f)
		f.PutParameter("/app/url", cloudexttest.TypeString, "https://example.com")
		src := f.NewSource(srv.URL)
		it := mw.Item{Kind: mw.KindParameter, Name: "/app/url"}
		p, _ := src.Plan(it)
		res := src.Fetch(context.Background(), p.Op, []mw.Item{it})
		if se, ok := errors.AsType[*mw.SourceError](res[0].Err); ok {
			fmt.Println(se.Status, se.Code, se.Class)
		} else {
			fmt.Println(res[0].Value)
		}
		srv.Close()
	}
	// Output:
	// 400 AccessDeniedException bad_token
	// https://example.com
}

// Each route's answer to a request it refuses for its authentication, in
// the style of each page of AWS's documentation: here an unsigned request
// to the Secrets Manager extension.
func ExampleAuthStyle() {
	for _, style := range []cloudexttest.AuthStyle{
		cloudexttest.AuthStyleDefault, // the route's own: AuthStyleSecretsManager
		cloudexttest.AuthStyleParameterStore,
		cloudexttest.AuthStyleAppConfig,
	} {
		f := cloudexttest.New(cloudexttest.Settings{SecretsManagerAuth: style})
		srv := httptest.NewServer(f)
		f.PutSecret("prod/db", "example-only")
		src := cloudext.New(f.Config(), cloudext.WithEndpoint(srv.URL), cloudext.WithoutAuthentication())
		it := mw.Item{Kind: mw.KindSecret, Name: "prod/db"}
		p, _ := src.Plan(it)
		res := src.Fetch(context.Background(), p.Op, []mw.Item{it})
		if se, ok := errors.AsType[*mw.SourceError](res[0].Err); ok {
			fmt.Println(se.Status, se.Code, se.Class)
		}
		srv.Close()
	}
	// Output:
	// 401 MissingAuthenticationToken bad_token
	// 400 AccessDeniedException bad_token
	// 403 AccessDeniedException bad_token
}

// The runtime held in one phase of its startup: a request is answered 503
// EXTENSION_LOADING, which a source reports as not ready, until the
// runtime serves.
func ExampleServer_SetLoading() {
	f := cloudexttest.New(cloudexttest.Settings{})
	srv := httptest.NewServer(f)
	defer srv.Close()
	f.PutParameter("/app/url", cloudexttest.TypeString, "https://example.com")
	src := f.NewSource(srv.URL)
	it := mw.Item{Kind: mw.KindParameter, Name: "/app/url"}
	p, _ := src.Plan(it)

	for _, phase := range []cloudexttest.Phase{cloudexttest.PhaseExtensionLoading, cloudexttest.PhaseServing} {
		f.SetLoading(phase)
		res := src.Fetch(context.Background(), p.Op, []mw.Item{it})
		if se, ok := errors.AsType[*mw.SourceError](res[0].Err); ok {
			fmt.Println(phase, se.Status, se.Code, "not ready:", se.NotReady)
			continue
		}
		fmt.Println(phase, res[0].Value)
	}
	// Output:
	// EXTENSION_LOADING 503 ServiceUnavailableException not ready: true
	// SERVING https://example.com
}

// The phases of the runtime's startup, by the reasons it answers with.
func ExamplePhase() {
	for _, p := range []cloudexttest.Phase{cloudexttest.PhaseProfileLoading, cloudexttest.PhaseExtensionLoading, cloudexttest.PhaseServing} {
		fmt.Println(p)
	}
	// Output:
	// PROFILE_LOADING
	// EXTENSION_LOADING
	// SERVING
}

// ReadyAt says whether a loading window has started, and when its runtime
// began to serve: the window starts with the first request after
// SetLoadingWindow.
func ExampleServer_ReadyAt() {
	f := cloudexttest.New(cloudexttest.Settings{})
	srv := httptest.NewServer(f)
	defer srv.Close()
	f.PutParameter("/app/url", cloudexttest.TypeString, "https://example.com")
	f.SetLoadingWindow(0, 0)
	_, started := f.ReadyAt()
	fmt.Println("started:", started)

	src := f.NewSource(srv.URL)
	it := mw.Item{Kind: mw.KindParameter, Name: "/app/url"}
	p, _ := src.Plan(it)
	src.Fetch(context.Background(), p.Op, []mw.Item{it})
	readyAt, started := f.ReadyAt()
	fmt.Println("started:", started, "ready by now:", !readyAt.After(time.Now()))
	// Output:
	// started: false
	// started: true ready by now: true
}

// Parameters of each type, with numbered versions: PutParameter returns
// the new version's number. A SecureString is served decrypted.
func ExampleServer_PutParameter() {
	f := cloudexttest.New(cloudexttest.Settings{})
	srv := httptest.NewServer(f)
	defer srv.Close()
	v1 := f.PutParameter("/app/flags", cloudexttest.TypeStringList, "beta")
	v2 := f.PutParameter("/app/flags", cloudexttest.TypeStringList, "beta,dark-mode")
	f.PutParameter("/app/api-key", cloudexttest.TypeSecureString, "k-123")
	fmt.Println("versions", v1, v2)

	h := mw.Wrap(func(ctx context.Context, _ struct{}) (string, error) {
		flags, err := mw.ParameterList(ctx, "/app/flags")
		if err != nil {
			return "", err
		}
		key, err := mw.Parameter(ctx, "/app/api-key")
		return fmt.Sprintf("flags %q, key of %d bytes", flags, len(key)), err
	}, mw.WithSource(f.NewSource(srv.URL)), mw.WithParameters("/app/flags", "/app/api-key"), mw.WithoutEnvironment())
	fmt.Println(h(context.Background(), struct{}{}))
	// Output:
	// versions 1 2
	// flags ["beta" "dark-mode"], key of 5 bytes <nil>
}

// A label on a version, read with mw.Label as the name:label selector.
func ExampleServer_LabelParameter() {
	f := cloudexttest.New(cloudexttest.Settings{})
	srv := httptest.NewServer(f)
	defer srv.Close()
	live := f.PutParameter("/app/price", cloudexttest.TypeString, "10")
	f.PutParameter("/app/price", cloudexttest.TypeString, "12") // the latest, not yet live
	f.LabelParameter("/app/price", live, "live")

	h := mw.Wrap(func(ctx context.Context, _ struct{}) (string, error) {
		return mw.Parameter(ctx, "/app/price")
	}, mw.WithSource(f.NewSource(srv.URL)), mw.WithParameter("/app/price", mw.Label("live")), mw.WithoutEnvironment())
	fmt.Println(h(context.Background(), struct{}{}))
	// Output: 10 <nil>
}

// Secrets have versions: the new one is AWSCURRENT, the one before it
// AWSPREVIOUS, and PutSecret returns each version's id.
func ExampleServer_PutSecret() {
	f := cloudexttest.New(cloudexttest.Settings{})
	srv := httptest.NewServer(f)
	defer srv.Close()
	f.PutSecret("prod/db", "old-password")
	f.PutSecret("prod/db", "new-password")

	cur := mw.WithSecret("prod/db")
	prev := mw.WithSecret("prod/db", mw.VersionStage(cloudexttest.StagePrevious), mw.Alias("db-previous"))
	h := mw.Wrap(func(ctx context.Context, _ struct{}) (string, error) {
		a, _ := cur.Value(ctx)
		b, err := prev.Value(ctx)
		return a + ", before it " + b, err
	}, mw.WithSource(f.NewSource(srv.URL)), cur, prev, mw.WithoutEnvironment())
	fmt.Println(h(context.Background(), struct{}{}))
	// Output: new-password, before it old-password <nil>
}

// A binary secret, which the fake sends in base64 as Secrets Manager does.
func ExampleServer_PutSecretBinary() {
	f := cloudexttest.New(cloudexttest.Settings{})
	srv := httptest.NewServer(f)
	defer srv.Close()
	f.PutSecretBinary("prod/signing-key", []byte{0xde, 0xad, 0xbe, 0xef})

	h := mw.Wrap(func(ctx context.Context, _ struct{}) ([]byte, error) {
		return mw.SecretBinary(ctx, "prod/signing-key")
	}, mw.WithSource(f.NewSource(srv.URL)), mw.WithSecrets("prod/signing-key"), mw.WithoutEnvironment())
	b, err := h(context.Background(), struct{}{})
	fmt.Printf("%x %v\n", b, err)
	// Output: deadbeef <nil>
}

// A secret as another account's role reads it (roleArn), beside the
// function's own.
func ExampleServer_PutRoleSecret() {
	const reader = "arn:aws:iam::111122223333:role/shared-secret-reader"
	f := cloudexttest.New(cloudexttest.Settings{})
	srv := httptest.NewServer(f)
	defer srv.Close()
	f.PutSecret("prod/db", "own")
	f.PutRoleSecret(reader, "partner-key", "theirs")

	h := mw.Wrap(func(ctx context.Context, _ struct{}) (string, error) {
		own, err := mw.Secret(ctx, "prod/db")
		if err != nil {
			return "", err
		}
		theirs, err := mw.Secret(ctx, "partner-key")
		return own + " " + theirs, err
	}, mw.WithSource(f.NewSource(srv.URL)), mw.WithSecrets("prod/db"), mw.WithSecret("partner-key", mw.RoleARN(reader)), mw.WithoutEnvironment())
	fmt.Println(h(context.Background(), struct{}{}))
	fmt.Println("read as a role:", f.Stats().WithRole)
	// Output:
	// own theirs <nil>
	// read as a role: 1
}

// A rotation in progress: the new version staged AWSPENDING while the old
// one stays AWSCURRENT.
func ExampleServer_StageSecret() {
	f := cloudexttest.New(cloudexttest.Settings{})
	srv := httptest.NewServer(f)
	defer srv.Close()
	old := f.PutSecret("prod/db", "old-password")
	pending := f.PutSecret("prod/db", "new-password") // AWSCURRENT, for now
	f.StageSecret("prod/db", old, cloudexttest.StageCurrent)
	f.StageSecret("prod/db", pending, "AWSPENDING")

	cur := mw.WithSecret("prod/db")
	next := mw.WithSecret("prod/db", mw.VersionStage("AWSPENDING"), mw.Alias("db-pending"))
	h := mw.Wrap(func(ctx context.Context, _ struct{}) (string, error) {
		a, _ := cur.Value(ctx)
		b, err := next.Value(ctx)
		return a + ", then " + b, err
	}, mw.WithSource(f.NewSource(srv.URL)), cur, next, mw.WithoutEnvironment())
	fmt.Println(h(context.Background(), struct{}{}))
	// Output: old-password, then new-password <nil>
}

// A secret the extension's role may not read: AccessDeniedException, and
// the invoke fails.
func ExampleServer_Deny() {
	f := cloudexttest.New(cloudexttest.Settings{})
	srv := httptest.NewServer(f)
	defer srv.Close()
	f.PutSecret("prod/db", "example-only")
	f.Deny("prod/db")

	h := mw.Wrap(func(ctx context.Context, _ struct{}) (string, error) { return "the handler ran", nil },
		mw.WithSource(f.NewSource(srv.URL)), mw.WithSecrets("prod/db"), mw.WithoutEnvironment())
	_, err := h(context.Background(), struct{}{})
	if fe, ok := errors.AsType[*mw.FetchError](err); ok {
		fmt.Println(fe.Status, fe.Code, fe.Class)
	}
	// Output: 400 AccessDeniedException access_denied
}

// A SecureString parameter whose KMS key may not be used: Parameter
// Store's InvalidKeyId.
func ExampleServer_DenyDecrypt() {
	f := cloudexttest.New(cloudexttest.Settings{})
	srv := httptest.NewServer(f)
	defer srv.Close()
	f.PutParameter("/app/api-key", cloudexttest.TypeSecureString, "k-123")
	f.DenyDecrypt("/app/api-key")

	h := mw.Wrap(func(ctx context.Context, _ struct{}) (string, error) { return "the handler ran", nil },
		mw.WithSource(f.NewSource(srv.URL)), mw.WithParameters("/app/api-key"), mw.WithoutEnvironment())
	_, err := h(context.Background(), struct{}{})
	if fe, ok := errors.AsType[*mw.FetchError](err); ok {
		fmt.Println(fe.Status, fe.Code, fe.Class)
	}
	// Output: 400 InvalidKeyId kms_decrypt
}

// A freeform profile deployed twice: the latest version is served.
func ExampleServer_PutConfiguration() {
	f := cloudexttest.New(cloudexttest.Settings{})
	srv := httptest.NewServer(f)
	defer srv.Close()
	f.PutConfiguration("orders", "prod", "settings", "application/json", []byte(`{"batch":10}`))
	v := f.PutConfiguration("orders", "prod", "settings", "application/json", []byte(`{"batch":25}`))

	h := mw.Wrap(func(ctx context.Context, _ struct{}) (string, error) {
		b, err := mw.AppConfig(ctx, "settings")
		return string(b), err
	}, mw.WithSource(f.NewSource(srv.URL)), mw.WithAppConfig("orders", "prod", "settings"), mw.WithoutEnvironment())
	fmt.Println("version", v)
	fmt.Println(h(context.Background(), struct{}{}))
	// Output:
	// version 2
	// {"batch":25} <nil>
}

// A profile AWS AppConfig refuses to the extension's role: 403
// AccessDeniedException.
func ExampleServer_DenyConfiguration() {
	f := cloudexttest.New(cloudexttest.Settings{})
	srv := httptest.NewServer(f)
	defer srv.Close()
	f.PutConfiguration("orders", "prod", "settings", "application/json", []byte(`{}`))
	f.DenyConfiguration("orders", "prod", "settings")

	h := mw.Wrap(func(ctx context.Context, _ struct{}) (string, error) { return "the handler ran", nil },
		mw.WithSource(f.NewSource(srv.URL)), mw.WithAppConfig("orders", "prod", "settings"), mw.WithoutEnvironment())
	_, err := h(context.Background(), struct{}{})
	if fe, ok := errors.AsType[*mw.FetchError](err); ok {
		fmt.Println(fe.Status, fe.Code, fe.Class)
	}
	// Output: 403 AccessDeniedException access_denied
}

// mwtest's faults, in the route's own words: here two 500s, which mw
// tries again within the invoke.
func ExampleServer_FailNext() {
	f := cloudexttest.New(cloudexttest.Settings{})
	srv := httptest.NewServer(f)
	defer srv.Close()
	f.PutSecret("prod/db", "example-only")
	f.FailNext("prod/db", mwtest.FaultServerError, 2)

	h := mw.Wrap(func(ctx context.Context, _ struct{}) (string, error) {
		pw, err := mw.Secret(ctx, "prod/db")
		return fmt.Sprintf("password of %d bytes", len(pw)), err
	}, mw.WithSource(f.NewSource(srv.URL)), mw.WithSecrets("prod/db"), mw.WithoutEnvironment())
	fmt.Println(h(context.Background(), struct{}{}))
	fmt.Println("requests:", f.Requests())
	// Output:
	// password of 12 bytes <nil>
	// requests: 3
}

// Documented answers, injected: one of the runtime's and one of the
// Secrets Manager extension's, as a source reports them.
func ExampleAnswer() {
	f := cloudexttest.New(cloudexttest.Settings{})
	srv := httptest.NewServer(f)
	defer srv.Close()
	f.PutSecret("prod/db", "example-only")
	src := f.NewSource(srv.URL)
	it := mw.Item{Kind: mw.KindSecret, Name: "prod/db"}
	p, _ := src.Plan(it)

	for _, a := range []cloudexttest.Answer{cloudexttest.ExtensionCrashed, cloudexttest.SecretAccessDenied} {
		f.Inject("prod/db", a, 1)
		res := src.Fetch(context.Background(), p.Op, []mw.Item{it})
		if se, ok := errors.AsType[*mw.SourceError](res[0].Err); ok {
			fmt.Printf("%d %s %q: %s, retry %t\n", a.Status, a.Type, a.Reason, se.Class, se.Retry)
		}
	}
	// Output:
	// 502 BadGatewayException "EXTENSION_CRASHED": server_error, retry true
	// 400 AccessDeniedException "": access_denied, retry false
}

// A runtime with too many requests in flight asks the client to wait:
// the source passes the wait on to mw.
func ExampleThrottled() {
	f := cloudexttest.New(cloudexttest.Settings{})
	srv := httptest.NewServer(f)
	defer srv.Close()
	f.PutSecret("prod/db", "example-only")
	f.Inject("prod/db", cloudexttest.Throttled(2*time.Second), 1)

	src := f.NewSource(srv.URL)
	it := mw.Item{Kind: mw.KindSecret, Name: "prod/db"}
	p, _ := src.Plan(it)
	res := src.Fetch(context.Background(), p.Op, []mw.Item{it})
	if se, ok := errors.AsType[*mw.SourceError](res[0].Err); ok {
		fmt.Println(se.Status, se.Code, se.Class, "retry:", se.Retry, "after", se.RetryAfter)
	}
	// Output: 429 ThrottlingException throttled retry: true after 2s
}

// A profile with an extension key of its own, rather than the fake's
// default one: a source signing with another key is refused, and NewSource
// signs with the profile's. The keys are made up.
func ExampleAuth() {
	f := cloudexttest.New(cloudexttest.Settings{Auth: cloudexttest.Auth{
		Mode:        cloudexttest.AuthExtensionKey,
		AccessKeyID: "CXEKEXAMPLEKEY000002",
		SecretKey:   "example-rotated-key-2",
	}})
	srv := httptest.NewServer(f)
	defer srv.Close()
	f.PutParameter("/app/url", cloudexttest.TypeString, "https://example.com")

	stale := cloudext.ExtensionKey(cloudexttest.ExtensionAccessKeyID, cloudexttest.ExtensionSecretKey)
	it := mw.Item{Kind: mw.KindParameter, Name: "/app/url"}
	for _, src := range []*cloudext.Source{
		cloudext.New(f.Config(), cloudext.WithEndpoint(srv.URL), cloudext.WithExtensionKey(stale)),
		f.NewSource(srv.URL),
	} {
		p, _ := src.Plan(it)
		res := src.Fetch(context.Background(), p.Op, []mw.Item{it})
		if se, ok := errors.AsType[*mw.SourceError](res[0].Err); ok {
			fmt.Println(se.Status, se.Code, se.Class)
			continue
		}
		fmt.Println(res[0].Value)
	}
	// Output:
	// 400 AccessDeniedException bad_token
	// https://example.com
}

// The option of cloudext that matches each authentication a profile may
// set.
func ExampleAuthMode() {
	key := cloudext.ExtensionKey(cloudexttest.ExtensionAccessKeyID, cloudexttest.ExtensionSecretKey)
	for _, c := range []struct {
		mode cloudexttest.AuthMode
		name string
		opt  cloudext.Option
	}{
		{cloudexttest.AuthRuntimeCredentials, "runtimeCredentials: no option, the aws.Config's credentials", nil},
		{cloudexttest.AuthExtensionKey, "extensionKey: WithExtensionKey", cloudext.WithExtensionKey(key)},
		{cloudexttest.AuthNone, "none: WithoutAuthentication", cloudext.WithoutAuthentication()},
	} {
		f := cloudexttest.New(cloudexttest.Settings{Auth: cloudexttest.Auth{Mode: c.mode}})
		srv := httptest.NewServer(f)
		f.PutParameter("/app/url", cloudexttest.TypeString, "https://example.com")
		opts := []cloudext.Option{cloudext.WithEndpoint(srv.URL)}
		if c.opt != nil {
			opts = append(opts, c.opt)
		}
		src := cloudext.New(f.Config(), opts...)
		it := mw.Item{Kind: mw.KindParameter, Name: "/app/url"}
		p, _ := src.Plan(it)
		res := src.Fetch(context.Background(), p.Op, []mw.Item{it})
		fmt.Println(c.name, "->", res[0].Value, res[0].Err)
		srv.Close()
	}
	// Output:
	// runtimeCredentials: no option, the aws.Config's credentials -> https://example.com <nil>
	// extensionKey: WithExtensionKey -> https://example.com <nil>
	// none: WithoutAuthentication -> https://example.com <nil>
}

// A basic flag, read from memory with mw.FeatureFlag. Printed, it shows its
// attribute names, never their values.
func ExampleFlag() {
	f := cloudexttest.New(cloudexttest.Settings{})
	srv := httptest.NewServer(f)
	defer srv.Close()
	flag := cloudexttest.Flag{Enabled: true, Attributes: map[string]any{"limit": 5.0}}
	f.PutFlags("shop", "prod", "flags", map[string]cloudexttest.Flag{"checkout": flag})

	h := mw.Wrap(func(ctx context.Context, _ struct{}) (string, error) {
		fl, err := mw.FeatureFlag(ctx, "flags", "checkout")
		return fmt.Sprint(fl.Enabled, " ", fl.Attributes["limit"]), err
	}, mw.WithSource(f.NewSource(srv.URL)), mw.WithAppConfig("shop", "prod", "flags"), mw.WithoutEnvironment())
	fmt.Println(h(context.Background(), struct{}{}))
	fmt.Println(flag)
	// Output:
	// true 5 <nil>
	// mwtest.Flag{Enabled: true, Attributes: ["limit"]}
}

// Read without a context, a multi-variant flag is its default variant,
// whose name is in Flag.Variant.
func ExampleVariant() {
	f := cloudexttest.New(cloudexttest.Settings{})
	srv := httptest.NewServer(f)
	defer srv.Close()
	f.PutFlags("shop", "prod", "flags", map[string]cloudexttest.Flag{"banner": {
		Variants: []cloudexttest.Variant{
			{Name: "sale", Enabled: true, Attributes: map[string]any{"text": "Sale"}, When: map[string]string{"tier": "gold"}},
			{Name: "plain", Enabled: true, Attributes: map[string]any{"text": "Welcome"}},
		},
		DefaultVariant: "plain",
	}})

	h := mw.Wrap(func(ctx context.Context, _ struct{}) (string, error) {
		fl, err := mw.FeatureFlag(ctx, "flags", "banner")
		return fmt.Sprint(fl.Variant, " ", fl.Attributes["text"]), err
	}, mw.WithSource(f.NewSource(srv.URL)), mw.WithAppConfig("shop", "prod", "flags"), mw.WithoutEnvironment())
	fmt.Println(h(context.Background(), struct{}{}))
	// Output: plain Welcome <nil>
}
