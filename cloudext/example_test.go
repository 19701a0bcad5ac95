package cloudext_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/lambda-mw/mw"
	"github.com/lambda-mw/mw/cloudext"
	"github.com/lambda-mw/mw/cloudext/cloudexttest"
)

// A wrapped handler reads its secrets, parameters and AppConfig profiles
// through Cloud Extensions. In a function, cfg comes from
// config.LoadDefaultConfig, and the endpoint is the default,
// http://localhost:5333.
func Example() {
	f := cloudexttest.New(cloudexttest.Settings{})
	f.PutParameter("/app/url", cloudexttest.TypeString, "https://example.com")
	f.PutConfiguration("app", "prod", "settings", "application/json", []byte(`{"greeting":"hello"}`))
	srv := httptest.NewServer(f)
	defer srv.Close()
	cfg := f.Config() // the function's credentials, which the runtime has too

	h := mw.Wrap(func(ctx context.Context, _ struct{}) (string, error) {
		url, err := mw.Parameter(ctx, "/app/url")
		if err != nil {
			return "", err
		}
		settings, err := mw.AppConfig(ctx, "settings")
		return url + " " + string(settings), err
	},
		mw.WithSource(cloudext.New(cfg, cloudext.WithEndpoint(srv.URL))),
		mw.WithParameters("/app/url"),
		mw.WithAppConfig("app", "prod", "settings"),
		mw.WithoutEnvironment(),
	)
	out, err := h(context.Background(), struct{}{})
	fmt.Println(out, err)
	// Output: https://example.com {"greeting":"hello"} <nil>
}

// New signs with the aws.Config's credentials: runtimeCredentials, the
// profile's default authentication.
func ExampleNew() {
	f := cloudexttest.New(cloudexttest.Settings{})
	f.PutParameter("/app/url", cloudexttest.TypeString, "https://example.com")
	srv := httptest.NewServer(f)
	defer srv.Close()
	src := cloudext.New(f.Config(), cloudext.WithEndpoint(srv.URL))
	fmt.Println(src.Name())
	res := src.Fetch(context.Background(), "AmazonSSM.GetParameters", []mw.Item{{Kind: mw.KindParameter, Name: "/app/url"}})
	fmt.Println(res[0].Value, res[0].Err)
	// Output:
	// cloudext
	// https://example.com <nil>
}

// A profile whose authentication is extensionKey: requests are signed with
// its CXEK… key.
func ExampleWithExtensionKey() {
	f := cloudexttest.New(cloudexttest.Settings{Auth: cloudexttest.Auth{Mode: cloudexttest.AuthExtensionKey}})
	f.PutSecret("prod/db", `{"username":"app","password":"example-only"}`)
	srv := httptest.NewServer(f)
	defer srv.Close()
	key := cloudext.ExtensionKey(cloudexttest.ExtensionAccessKeyID, cloudexttest.ExtensionSecretKey)
	src := cloudext.New(aws.Config{}, cloudext.WithEndpoint(srv.URL), cloudext.WithExtensionKey(key))
	fmt.Println(key) // never the secret key
	res := src.Fetch(context.Background(), "GET /secretsmanager/get", []mw.Item{{Kind: mw.KindSecret, Name: "prod/db"}})
	fmt.Println(res[0].Err == nil)
	// Output:
	// cloudext.ExtensionKey(CXEKCLOUDEXTTEST0001)
	// true
}

// The extension key from two environment variables the function sets.
func ExampleExtensionKeyFromEnv() {
	f := cloudexttest.New(cloudexttest.Settings{Auth: cloudexttest.Auth{Mode: cloudexttest.AuthExtensionKey}})
	f.PutParameter("/app/url", cloudexttest.TypeString, "https://example.com")
	srv := httptest.NewServer(f)
	defer srv.Close()
	os.Setenv("CLOUDEXTENSIONS_ACCESS_KEY_ID", cloudexttest.ExtensionAccessKeyID)
	os.Setenv("CLOUDEXTENSIONS_SECRET_KEY", cloudexttest.ExtensionSecretKey)
	defer os.Unsetenv("CLOUDEXTENSIONS_ACCESS_KEY_ID")
	defer os.Unsetenv("CLOUDEXTENSIONS_SECRET_KEY")

	src := cloudext.New(f.Config(), cloudext.WithEndpoint(srv.URL),
		cloudext.WithExtensionKey(cloudext.ExtensionKeyFromEnv("CLOUDEXTENSIONS_ACCESS_KEY_ID", "CLOUDEXTENSIONS_SECRET_KEY")))
	res := src.Fetch(context.Background(), "AmazonSSM.GetParameters", []mw.Item{{Kind: mw.KindParameter, Name: "/app/url"}})
	fmt.Println(res[0].Value)
	// Output: https://example.com
}

// The extension key's secret key read from a Secrets Manager secret, once.
// Here an httptest server stands in for Secrets Manager; in a function the
// aws.Config reaches the real one.
func ExampleExtensionKeyFromSecret() {
	f := cloudexttest.New(cloudexttest.Settings{Auth: cloudexttest.Auth{Mode: cloudexttest.AuthExtensionKey}})
	f.PutParameter("/app/url", cloudexttest.TypeString, "https://example.com")
	srv := httptest.NewServer(f)
	defer srv.Close()
	secretsManager := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]string{"Name": "cloudextensions/key", "SecretString": cloudexttest.ExtensionSecretKey})
	}))
	defer secretsManager.Close()
	cfg := f.Config()
	cfg.BaseEndpoint = aws.String(secretsManager.URL)

	key := cloudext.ExtensionKeyFromSecret(cfg, cloudexttest.ExtensionAccessKeyID, "cloudextensions/key")
	src := cloudext.New(cfg, cloudext.WithEndpoint(srv.URL), cloudext.WithExtensionKey(key))
	res := src.Fetch(context.Background(), "AmazonSSM.GetParameters", []mw.Item{{Kind: mw.KindParameter, Name: "/app/url"}})
	fmt.Println(res[0].Value)
	// Output: https://example.com
}

// A profile whose authentication is none, with the Secrets Manager
// extension's SSRF token check on, as AWS's best practices keep it then.
func ExampleWithoutAuthentication() {
	const token = "the-token-of-the-profile-entry"
	f := cloudexttest.New(cloudexttest.Settings{Auth: cloudexttest.Auth{Mode: cloudexttest.AuthNone}, SSRFToken: token})
	f.PutSecret("prod/db", `{"username":"app","password":"example-only"}`)
	srv := httptest.NewServer(f)
	defer srv.Close()
	src := cloudext.New(aws.Config{}, cloudext.WithEndpoint(srv.URL), cloudext.WithoutAuthentication(), cloudext.WithSSRFToken(token))
	fmt.Println(strings.Replace(fmt.Sprint(src), srv.URL, "http://localhost:5333", 1)) // never the token
	res := src.Fetch(context.Background(), "GET /secretsmanager/get", []mw.Item{{Kind: mw.KindSecret, Name: "prod/db"}})
	fmt.Println(res[0].Err == nil, f.Stats().SSRFSent)
	// Output:
	// cloudext.Source(http://localhost:5333, no authentication, an SSRF token in X-Aws-Parameters-Secrets-Token)
	// true 1
}

// Flags evaluated with a caller's context: one request to the AppConfig
// extension per evaluation.
func ExampleSource_EvaluateFlag() {
	f := cloudexttest.New(cloudexttest.Settings{})
	srv := httptest.NewServer(f)
	defer srv.Close()
	f.PutFlags("shop", "prod", "flags", map[string]cloudexttest.Flag{"checkout": {
		Variants: []cloudexttest.Variant{
			{Name: "uk", Enabled: true, When: map[string]string{"country": "UK"}, Attributes: map[string]any{"currency": "GBP"}},
			{Name: "default", Enabled: false},
		},
		DefaultVariant: "default",
	}})
	src := cloudext.New(f.Config(), cloudext.WithEndpoint(srv.URL))
	it := mw.Item{Kind: mw.KindAppConfig, Application: "shop", Environment: "prod", Name: "flags"}

	flag, err := src.EvaluateFlag(context.Background(), it, "checkout", map[string]string{"country": "UK"})
	fmt.Println(flag.Enabled, flag.Variant, flag.Attributes["currency"], err)
	flag, _ = src.EvaluateFlag(context.Background(), it, "checkout", map[string]string{"country": "FR"})
	fmt.Println(flag.Enabled, flag.Variant)
	_, err = src.EvaluateFlag(context.Background(), it, "nope", nil)
	fmt.Println(errors.Is(err, mw.ErrUnknownFlag))
	// Output:
	// true uk GBP <nil>
	// false default
	// true
}

// The AppConfig extension's signing name, which AWS does not document,
// and the Region of the signatures' scope.
func ExampleWithAppConfigSigningName() {
	f := cloudexttest.New(cloudexttest.Settings{AppConfigSigningName: "appconfigcloudextension"})
	f.PutConfiguration("app", "prod", "settings", "application/json", []byte(`{"greeting":"hello"}`))
	srv := httptest.NewServer(f)
	defer srv.Close()
	src := cloudext.New(f.Config(), cloudext.WithEndpoint(srv.URL),
		cloudext.WithAppConfigSigningName("appconfigcloudextension"), cloudext.WithRegion("eu-west-1"))
	res := src.Fetch(context.Background(), "AppConfig.GetConfiguration", []mw.Item{{Kind: mw.KindAppConfig, Application: "app", Environment: "prod", Name: "settings"}})
	fmt.Println(res[0].Value)
	// Output: {"greeting":"hello"}
}

// The runtime at another base URL than DefaultEndpoint: here the fake
// runtime on a loopback port, as a test serves it.
func ExampleWithEndpoint() {
	f := cloudexttest.New(cloudexttest.Settings{})
	srv := httptest.NewServer(f)
	defer srv.Close()
	f.PutParameter("/app/url", cloudexttest.TypeString, "https://example.com")

	src := cloudext.New(f.Config(), cloudext.WithEndpoint(srv.URL))
	h := mw.Wrap(func(ctx context.Context, _ struct{}) (string, error) {
		return mw.Parameter(ctx, "/app/url")
	}, mw.WithoutEnvironment(), mw.WithSource(src), mw.WithParameters("/app/url"))

	fmt.Println(h(context.Background(), struct{}{}))
	fmt.Println("requests to the runtime:", f.Requests())
	// Output:
	// https://example.com <nil>
	// requests to the runtime: 1
}

// An HTTP client of your own, here one with a timeout of its own. The
// Source follows no redirect, whatever the client says.
func ExampleWithHTTPClient() {
	f := cloudexttest.New(cloudexttest.Settings{})
	srv := httptest.NewServer(f)
	defer srv.Close()
	f.PutParameter("/app/url", cloudexttest.TypeString, "https://example.com")

	src := cloudext.New(f.Config(), cloudext.WithEndpoint(srv.URL),
		cloudext.WithHTTPClient(&http.Client{Timeout: 2 * time.Second}))
	h := mw.Wrap(func(ctx context.Context, _ struct{}) (string, error) {
		return mw.Parameter(ctx, "/app/url")
	}, mw.WithoutEnvironment(), mw.WithSource(src), mw.WithParameters("/app/url"))

	fmt.Println(h(context.Background(), struct{}{}))
	// Output: https://example.com <nil>
}

// The Region of the signatures' scope, for a runtime that checks it: here
// the fake, set to accept eu-west-1 only, refuses the aws.Config's
// us-east-1.
func ExampleWithRegion() {
	f := cloudexttest.New(cloudexttest.Settings{Region: "eu-west-1"})
	srv := httptest.NewServer(f)
	defer srv.Close()
	f.PutParameter("/app/url", cloudexttest.TypeString, "https://example.com")

	for _, src := range []*cloudext.Source{
		cloudext.New(f.Config(), cloudext.WithEndpoint(srv.URL)),
		cloudext.New(f.Config(), cloudext.WithEndpoint(srv.URL), cloudext.WithRegion("eu-west-1")),
	} {
		h := mw.Wrap(func(ctx context.Context, _ struct{}) (string, error) {
			return mw.Parameter(ctx, "/app/url")
		}, mw.WithoutEnvironment(), mw.WithSource(src), mw.WithParameters("/app/url"))
		out, err := h(context.Background(), struct{}{})
		if fe, ok := errors.AsType[*mw.FetchError](err); ok {
			fmt.Println(fe.Status, fe.Code, fe.Class)
		} else {
			fmt.Println(out)
		}
	}
	// Output:
	// 400 AccessDeniedException bad_token
	// https://example.com
}

// A profile entry whose Secrets Manager extension checks an SSRF token (on
// by default) on top of the signature: a request without it is refused.
// The token is the entry's setting, made up here.
func ExampleWithSSRFToken() {
	const token = "example-ssrf-token"
	f := cloudexttest.New(cloudexttest.Settings{SSRFToken: token})
	srv := httptest.NewServer(f)
	defer srv.Close()
	f.PutSecret("prod/db", "example-only")

	for _, src := range []*cloudext.Source{
		cloudext.New(f.Config(), cloudext.WithEndpoint(srv.URL)),
		cloudext.New(f.Config(), cloudext.WithEndpoint(srv.URL), cloudext.WithSSRFToken(token)),
	} {
		h := mw.Wrap(func(ctx context.Context, _ struct{}) (string, error) {
			pw, err := mw.Secret(ctx, "prod/db")
			return fmt.Sprintf("password of %d bytes", len(pw)), err
		}, mw.WithoutEnvironment(), mw.WithSource(src), mw.WithSecrets("prod/db"))
		out, err := h(context.Background(), struct{}{})
		if fe, ok := errors.AsType[*mw.FetchError](err); ok {
			fmt.Println(fe.Status, fe.Code, fe.Class)
		} else {
			fmt.Println(out)
		}
	}
	// Output:
	// 403 InvalidSsrfTokenException bad_token
	// password of 12 bytes
}

// A profile entry whose SSRF token headers setting names another header
// than DefaultSSRFHeader: here X-Ssrf-Token, the token made up.
func ExampleWithSSRFHeader() {
	const token = "example-ssrf-token"
	f := cloudexttest.New(cloudexttest.Settings{SSRFToken: token, SSRFHeaders: []string{"X-Ssrf-Token"}})
	srv := httptest.NewServer(f)
	defer srv.Close()
	f.PutSecret("prod/db", "example-only")

	src := cloudext.New(f.Config(), cloudext.WithEndpoint(srv.URL),
		cloudext.WithSSRFToken(token), cloudext.WithSSRFHeader("X-Ssrf-Token"))
	h := mw.Wrap(func(ctx context.Context, _ struct{}) (string, error) {
		pw, err := mw.Secret(ctx, "prod/db")
		return fmt.Sprintf("password of %d bytes", len(pw)), err
	}, mw.WithoutEnvironment(), mw.WithSource(src), mw.WithSecrets("prod/db"))

	fmt.Println(h(context.Background(), struct{}{}))
	fmt.Println("requests with a token:", f.Stats().SSRFSent, "refused:", f.Stats().SSRFRefused)
	// Output:
	// password of 12 bytes <nil>
	// requests with a token: 1 refused: 0
}

// An extension key given directly. It prints as its access key ID alone,
// and a key of another shape, such as an IAM key given by mistake, fails
// with nothing sent, naming the fix.
func ExampleExtensionKey() {
	f := cloudexttest.New(cloudexttest.Settings{Auth: cloudexttest.Auth{Mode: cloudexttest.AuthExtensionKey}})
	srv := httptest.NewServer(f)
	defer srv.Close()
	f.PutParameter("/app/url", cloudexttest.TypeString, "https://example.com")

	for _, key := range []aws.CredentialsProvider{
		cloudext.ExtensionKey(cloudexttest.ExtensionAccessKeyID, cloudexttest.ExtensionSecretKey),
		cloudext.ExtensionKey("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI-K7MDENG-bPxRfiCYEXAMPLEKEY"),
	} {
		src := cloudext.New(aws.Config{}, cloudext.WithEndpoint(srv.URL), cloudext.WithExtensionKey(key))
		h := mw.Wrap(func(ctx context.Context, _ struct{}) (string, error) {
			return mw.Parameter(ctx, "/app/url")
		}, mw.WithoutEnvironment(), mw.WithSource(src), mw.WithParameters("/app/url"))
		out, err := h(context.Background(), struct{}{})
		fmt.Println(key)
		if fe, ok := errors.AsType[*mw.FetchError](err); ok {
			fmt.Println(fe.Class, fe.Hint())
		} else {
			fmt.Println(out)
		}
	}
	fmt.Println("requests to the runtime:", f.Requests())
	// Output:
	// cloudext.ExtensionKey(CXEKCLOUDEXTTEST0001)
	// https://example.com
	// cloudext.ExtensionKey(an access key ID that is not an extension key's)
	// config that is an IAM access key, not an extension key: give the profile's CXEK… key, or, if the profile's authentication is runtimeCredentials, drop cloudext.WithExtensionKey
	// requests to the runtime: 1
}

// A Source names itself "cloudext" on spans, metrics and errors, and
// prints as its endpoint and authentication, never a key or a token.
func ExampleSource_Name() {
	src := cloudext.New(aws.Config{Region: "eu-west-1"})
	fmt.Println(src.Name())
	fmt.Println(src)
	// Output:
	// cloudext
	// cloudext.Source(http://localhost:5333, runtime credentials)
}

// Which request fetches each item, said without I/O: what the Cloud
// Extensions runtime does not serve is refused with the fix.
func ExampleSource_Plan() {
	src := cloudext.New(aws.Config{Region: "eu-west-1"})
	for _, it := range []mw.Item{
		{Kind: mw.KindParameter, Name: "/app/prod/url"},
		{Kind: mw.KindParameter, Name: "/app/prod/url", Version: 3},
		{Kind: mw.KindSecret, Name: "prod/db", VersionStage: "AWSPREVIOUS"},
		{Kind: mw.KindAppConfig, Name: "flags", Application: "app", Environment: "prod"},
		{Kind: mw.KindParametersByPath, Name: "/app/prod"},
	} {
		p, err := src.Plan(it)
		if err != nil {
			fmt.Printf("%v: %v\n", it, err)
			continue
		}
		fmt.Printf("%v: %s, %d a call\n", it, p.Op, p.Batch)
	}
	// Output:
	// parameter "/app/prod/url": AmazonSSM.GetParameters, 10 a call
	// parameter "/app/prod/url" (version 3): AmazonSSM.GetParameters, 10 a call
	// secret "prod/db" (stage AWSPREVIOUS): GET /secretsmanager/get, 1 a call
	// appconfig "app/prod/flags": AppConfig.GetConfiguration, 1 a call
	// parameters_by_path "/app/prod": cloudext: parameters_by_path "/app/prod": the source does not serve this kind of item: Cloud Extensions' Parameter Store extension serves GetParameter and GetParameters, not GetParametersByPath: list the path through the AWS SDK source, mw.WithSource(awssdk.New(cfg)) from package github.com/lambda-mw/mw/awssdk, given after this source, or declare each parameter with mw.WithParameters
}

// Fetch is mw's to call; called directly, it shows what each item got: a
// value, or a *mw.SourceError that says how mw treats the failure.
func ExampleSource_Fetch() {
	f := cloudexttest.New(cloudexttest.Settings{})
	srv := httptest.NewServer(f)
	defer srv.Close()
	f.PutParameter("/app/url", cloudexttest.TypeString, "https://example.com")

	src := cloudext.New(f.Config(), cloudext.WithEndpoint(srv.URL))
	items := []mw.Item{{Kind: mw.KindParameter, Name: "/app/url"}, {Kind: mw.KindParameter, Name: "/app/typo"}}
	p, _ := src.Plan(items[0])
	for i, r := range src.Fetch(context.Background(), p.Op, items) {
		if se, ok := errors.AsType[*mw.SourceError](r.Err); ok {
			fmt.Printf("%v: %s (retry %v): %s\n", items[i], se.Class, se.Retry, se.Hint)
			continue
		}
		fmt.Printf("%v: %s\n", items[i], r.Value)
	}
	// Output:
	// parameter "/app/url": https://example.com
	// parameter "/app/typo": not_found (retry false): no such parameter, version or label: check the name or ARN, the selector and the extension's region
}
