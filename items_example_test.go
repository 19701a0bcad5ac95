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

// Secrets declared by name (or ARN), fetched together before the first
// invoke's handler runs, and read by the same string.
func ExampleWithSecrets() {
	ext := mwtest.New(mwtest.Managed)
	ext.PutSecret("prod/db", "hunter2")
	ext.PutSecret("prod/api-key", "k-123")
	srv := httptest.NewServer(ext)
	defer srv.Close()

	h := mw.Wrap(func(ctx context.Context, _ struct{}) (string, error) {
		db, err := mw.Secret(ctx, "prod/db")
		if err != nil {
			return "", err
		}
		key, err := mw.Secret(ctx, "prod/api-key")
		return fmt.Sprintf("db password: %d bytes, api key: %d bytes", len(db), len(key)), err
	}, append(ext.Options(srv.URL), mw.WithSecrets("prod/db", "prod/api-key"))...)

	fmt.Println(h(context.Background(), struct{}{}))
	// Output: db password: 7 bytes, api key: 5 bytes <nil>
}

// Parameters declared by name (or ARN); a SecureString comes decrypted, a
// StringList comma-joined.
func ExampleWithParameters() {
	ext := mwtest.New(mwtest.Managed)
	ext.PutParameter("/app/flags", "StringList", "beta,dark-mode")
	ext.PutParameter("/app/api-key", "SecureString", "k-123")
	srv := httptest.NewServer(ext)
	defer srv.Close()

	h := mw.Wrap(func(ctx context.Context, _ struct{}) (string, error) {
		flags, err := mw.Parameter(ctx, "/app/flags")
		if err != nil {
			return "", err
		}
		key, err := mw.Parameter(ctx, "/app/api-key")
		return flags + " " + key, err
	}, append(ext.Options(srv.URL), mw.WithParameters("/app/flags", "/app/api-key"))...)

	fmt.Println(h(context.Background(), struct{}{}))
	// Output: beta,dark-mode k-123 <nil>
}

// A secret declared once, as a value: the handle is both the Option that
// declares it and the way to read it, so a misspelt name does not compile.
// Declared at package level, it serves main and the handler alike.
func ExampleWithSecret() {
	ext := mwtest.New(mwtest.Managed)
	ext.PutSecret("prod/db", "hunter2")
	srv := httptest.NewServer(ext)
	defer srv.Close()

	db := mw.WithSecret("prod/db") // var db = mw.WithSecret("prod/db"), at package level
	h := mw.Wrap(func(ctx context.Context, _ struct{}) (int, error) {
		pw, err := db.Value(ctx)
		return len(pw), err
	}, append(ext.Options(srv.URL), db)...)

	fmt.Println(h(context.Background(), struct{}{}))
	fmt.Println(db) // a handle prints its name, never a value
	// Output:
	// 7 <nil>
	// secret "prod/db"
}

// A parameter declared as a handle, with options of its own: a StringList
// read as a list, refreshed every 30 seconds.
func ExampleWithParameter() {
	ext := mwtest.New(mwtest.Managed)
	ext.PutParameter("/app/allowed-origins", "StringList", "https://a.example,https://b.example")
	srv := httptest.NewServer(ext)
	defer srv.Close()

	origins := mw.WithParameter("/app/allowed-origins", mw.TTL(30*time.Second))
	h := mw.Wrap(func(ctx context.Context, _ struct{}) ([]string, error) {
		return origins.List(ctx)
	}, append(ext.Options(srv.URL), origins)...)

	fmt.Println(h(context.Background(), struct{}{}))
	// Output: [https://a.example https://b.example] <nil>
}

// JSON decodes an item held as a handle, as SecretJSON does for a name.
func ExampleJSON() {
	ext := mwtest.New(mwtest.Managed)
	ext.PutSecret("prod/db", `{"username":"app","password":"hunter2","port":5432}`)
	srv := httptest.NewServer(ext)
	defer srv.Close()

	type DB struct {
		Username string `json:"username"`
		Password string `json:"password"`
		Port     int    `json:"port"`
	}
	db := mw.WithSecret("prod/db")
	h := mw.Wrap(func(ctx context.Context, _ struct{}) (string, error) {
		creds, err := mw.JSON[DB](ctx, db)
		return fmt.Sprintf("%s on port %d", creds.Username, creds.Port), err
	}, append(ext.Options(srv.URL), db)...)

	fmt.Println(h(context.Background(), struct{}{}))
	// Output: app on port 5432 <nil>
}

// An item's own TTL overrides WithTTL's: zero fetches it on every invoke,
// while the other item is served from memory.
func ExampleTTL() {
	ext := mwtest.New(mwtest.Managed)
	ext.PutSecret("prod/db", "hunter2")
	ext.PutParameter("/app/kill-switch", "String", "off")
	srv := httptest.NewServer(ext)
	defer srv.Close()

	h := mw.Wrap(func(ctx context.Context, _ struct{}) (string, error) {
		return mw.Parameter(ctx, "/app/kill-switch")
	}, append(ext.Options(srv.URL), mw.WithSecrets("prod/db"), mw.WithParameter("/app/kill-switch", mw.TTL(0)))...)

	for range 3 {
		_, _ = h(context.Background(), struct{}{})
	}
	fmt.Println("fetches: prod/db", ext.Fetches("prod/db"), "/app/kill-switch", ext.Fetches("/app/kill-switch"))
	// Output: fetches: prod/db 1 /app/kill-switch 3
}

// An optional item that cannot be fetched does not fail the invoke: its
// accessor returns ErrNotFound, and the *FetchError that says why. (The
// agent answers "not found" as such; see Default for the extension.)
func ExampleOptional() {
	ext := mwtest.New(mwtest.Agent)
	ext.PutSecret("prod/db", "hunter2")
	srv := httptest.NewServer(ext)
	defer srv.Close()

	h := mw.Wrap(func(ctx context.Context, _ struct{}) (string, error) {
		_, err := mw.Secret(ctx, "prod/analytics-key")
		if fe, ok := errors.AsType[*mw.FetchError](err); ok && errors.Is(err, mw.ErrNotFound) {
			return "analytics off: " + string(fe.Class), nil
		}
		return "analytics on", err
	}, append(ext.Options(srv.URL), mw.WithSecrets("prod/db"), mw.WithSecret("prod/analytics-key", mw.Optional()))...)

	fmt.Println(h(context.Background(), struct{}{}))
	// Output: analytics off: not_found <nil>
}

// A Default is served when the item cannot be fetched.
func ExampleDefault() {
	ext := mwtest.New(mwtest.Managed)
	srv := httptest.NewServer(ext)
	defer srv.Close()

	h := mw.Wrap(func(ctx context.Context, _ struct{}) (string, error) {
		return mw.Parameter(ctx, "/app/log-level")
	}, append(ext.Options(srv.URL), mw.WithParameter("/app/log-level", mw.Default("info")),
		// The extension answers a missing parameter with the same bare 400
		// it answers while it starts: with no startup window, the first is
		// final at once, for this example.
		mw.WithStartupWindow(0))...)

	fmt.Println(h(context.Background(), struct{}{}))
	// Output: info <nil>
}

// A long ARN, read by a short name.
func ExampleAlias() {
	ext := mwtest.New(mwtest.Managed)
	ext.PutSecret("prod/db", "hunter2")
	srv := httptest.NewServer(ext)
	defer srv.Close()

	arn := mwtest.SecretARN("prod/db") // arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-…
	h := mw.Wrap(func(ctx context.Context, _ struct{}) (int, error) {
		pw, err := mw.Secret(ctx, "db")
		return len(pw), err
	}, append(ext.Options(srv.URL), mw.WithSecret(arn, mw.Alias("db")))...)

	fmt.Println(h(context.Background(), struct{}{}))
	// Output: 7 <nil>
}

// During a rotation, a function may need the previous password as well as
// the current one: declare both, apart, each read by its own name.
func ExampleVersionStage() {
	ext := mwtest.New(mwtest.Managed)
	ext.PutSecret("prod/db", "hunter2")
	ext.PutSecret("prod/db", "new-password") // now AWSCURRENT; hunter2 is AWSPREVIOUS
	srv := httptest.NewServer(ext)
	defer srv.Close()

	h := mw.Wrap(func(ctx context.Context, _ struct{}) (string, error) {
		cur, _ := mw.Secret(ctx, "prod/db")
		prev, err := mw.Secret(ctx, "db-previous")
		return fmt.Sprintf("current %d bytes, previous %d bytes", len(cur), len(prev)), err
	}, append(ext.Options(srv.URL),
		mw.WithSecrets("prod/db"),
		mw.WithSecret("prod/db", mw.VersionStage("AWSPREVIOUS"), mw.Alias("db-previous")))...)

	fmt.Println(h(context.Background(), struct{}{}))
	// Output: current 12 bytes, previous 7 bytes <nil>
}

// A secret pinned to one version, by its version id.
func ExampleVersionID() {
	ext := mwtest.New(mwtest.Managed)
	first := ext.PutSecret("prod/db", "hunter2") // PutSecret returns the version id
	ext.PutSecret("prod/db", "new-password")
	srv := httptest.NewServer(ext)
	defer srv.Close()

	h := mw.Wrap(func(ctx context.Context, _ struct{}) (int, error) {
		pw, err := mw.Secret(ctx, "db-first")
		return len(pw), err
	}, append(ext.Options(srv.URL), mw.WithSecret("prod/db", mw.VersionID(first), mw.Alias("db-first")))...)

	fmt.Println(h(context.Background(), struct{}{}))
	// Output: 7 <nil>
}

// A parameter pinned to a version number, beside its latest version.
func ExampleParameterVersion() {
	ext := mwtest.New(mwtest.Managed)
	ext.PutParameter("/app/flags", "StringList", "beta,dark-mode") // version 1
	ext.PutParameter("/app/flags", "StringList", "beta")           // version 2
	srv := httptest.NewServer(ext)
	defer srv.Close()

	h := mw.Wrap(func(ctx context.Context, _ struct{}) (string, error) {
		latest, _ := mw.Parameter(ctx, "/app/flags")
		first, err := mw.Parameter(ctx, "flags-v1")
		return latest + " / " + first, err
	}, append(ext.Options(srv.URL),
		mw.WithParameters("/app/flags"),
		mw.WithParameter("/app/flags", mw.ParameterVersion(1), mw.Alias("flags-v1")))...)

	fmt.Println(h(context.Background(), struct{}{}))
	// Output: beta / beta,dark-mode <nil>
}

// A parameter pinned to the version that carries a Parameter Store label.
// (Through /aws/reference/secretsmanager/<id>, a label is a secret's
// version stage, such as AWSPREVIOUS.)
func ExampleLabel() {
	ext := mwtest.New(mwtest.Managed)
	live := ext.PutParameter("/app/price", "String", "10")
	ext.PutParameter("/app/price", "String", "12") // the latest, not yet live
	ext.LabelParameter("/app/price", live, "live")
	srv := httptest.NewServer(ext)
	defer srv.Close()

	h := mw.Wrap(func(ctx context.Context, _ struct{}) (string, error) {
		return mw.Parameter(ctx, "price")
	}, append(ext.Options(srv.URL), mw.WithParameter("/app/price", mw.Label("live"), mw.Alias("price")))...)

	fmt.Println(h(context.Background(), struct{}{}))
	// Output: 10 <nil>
}

// RoleARN reads an item as another IAM role, such as a role of another
// account that shares a secret. The sources that can take on a role serve
// it (the AWS SDK source, the Secrets Manager Agent, Cloud Extensions);
// Wrap refuses it for one that cannot, as the Lambda extension cannot,
// saying what to use.
func ExampleRoleARN() {
	defer func() { fmt.Println(recover()) }()
	mw.Wrap(func(ctx context.Context, _ struct{}) (string, error) { return mw.Secret(ctx, "shared/db") },
		mw.WithoutEnvironment(), mw.WithSecret("shared/db", mw.RoleARN("arn:aws:iam::123456789012:role/reader")))
	// Output: mw: secret "shared/db" as role arn:aws:iam::123456789012:role/reader: the Parameters and Secrets extension reads with the function's own role and cannot take on another: read it through the AWS SDK source (mw.WithSource(awssdk.New(cfg)), package github.com/lambda-mw/mw/awssdk), the Secrets Manager Agent, or Cloud Extensions, which take a roleArn
}

// A binary secret read through its handle, as bytes.
func ExampleSecretHandle_Binary() {
	ext := mwtest.New(mwtest.Managed)
	ext.PutSecretBinary("prod/signing-key", []byte{0xde, 0xad, 0xbe, 0xef})
	srv := httptest.NewServer(ext)
	defer srv.Close()

	key := mw.WithSecret("prod/signing-key")
	h := mw.Wrap(func(ctx context.Context, _ struct{}) ([]byte, error) {
		return key.Binary(ctx)
	}, append(ext.Options(srv.URL), key)...)

	b, err := h(context.Background(), struct{}{})
	fmt.Printf("%x %v\n", b, err)
	// Output: deadbeef <nil>
}

// Refresh fetches the secret again now, past the cache: after a rotation,
// say, when a login with the cached password fails.
func ExampleSecretHandle_Refresh() {
	ext := mwtest.New(mwtest.Managed)
	ext.PutSecret("prod/db", "hunter2")
	srv := httptest.NewServer(ext)
	defer srv.Close()

	db := mw.WithSecret("prod/db")
	h := mw.Wrap(func(ctx context.Context, _ struct{}) (string, error) {
		ext.PutSecret("prod/db", "rotated-password") // (the rotation, for this example)
		pw, err := db.Refresh(ctx)
		return fmt.Sprintf("password of %d bytes", len(pw)), err
	}, append(ext.Options(srv.URL), db)...)

	fmt.Println(h(context.Background(), struct{}{}))
	fmt.Println("fetches of prod/db:", ext.Fetches("prod/db"))
	// Output:
	// password of 16 bytes <nil>
	// fetches of prod/db: 2
}

// A parameter read through its handle. In a handler's unit test,
// mwtest.NewContext holds the values, by the names the handles declare.
func ExampleParameterHandle_Value() {
	apiURL := mw.WithParameter("/app/api-url") // var apiURL = ..., at package level

	ctx := mwtest.NewContext(context.Background(), mwtest.Values{Parameters: map[string]string{"/app/api-url": "https://api.example.com"}})
	fmt.Println(apiURL.Value(ctx))
	fmt.Println(apiURL) // a handle prints its name, never a value
	// Output:
	// https://api.example.com <nil>
	// parameter "/app/api-url"
}

// Refresh fetches the parameter again now, past the cache: here a price
// changed since the invoke's values were fetched.
func ExampleParameterHandle_Refresh() {
	ext := mwtest.New(mwtest.Managed)
	ext.PutParameter("/app/price", mwtest.TypeString, "10")
	srv := httptest.NewServer(ext)
	defer srv.Close()

	price := mw.WithParameter("/app/price")
	h := mw.Wrap(func(ctx context.Context, _ struct{}) (string, error) {
		before, _ := price.Value(ctx)
		ext.PutParameter("/app/price", mwtest.TypeString, "12") // (the change, for this example)
		after, err := price.Refresh(ctx)
		return before + " then " + after, err
	}, append(ext.Options(srv.URL), price)...)

	fmt.Println(h(context.Background(), struct{}{}))
	// Output: 10 then 12 <nil>
}

// A profile's configuration read through its handle, as deployed.
func ExampleAppConfigHandle_Value() {
	ext := mwtest.New(mwtest.AppConfig)
	ext.PutConfiguration("orders", "prod", "settings", "application/json", []byte(`{"batch":25}`))
	srv := httptest.NewServer(ext)
	defer srv.Close()

	settings := mw.WithAppConfig("orders", "prod", "settings")
	h := mw.Wrap(func(ctx context.Context, _ struct{}) (string, error) {
		b, err := settings.Value(ctx)
		return string(b), err
	}, append(ext.Options(srv.URL), settings)...)

	fmt.Println(h(context.Background(), struct{}{}))
	fmt.Println(settings) // a handle prints its name, never the configuration
	// Output:
	// {"batch":25} <nil>
	// appconfig "settings" (orders/prod/settings)
}

// A multi-variant flag evaluated through the profile's handle, against
// the caller's context: one request to the extension per call.
func ExampleAppConfigHandle_EvaluateFlag() {
	ext := mwtest.New(mwtest.AppConfig)
	ext.PutFeatureFlags("shop", "prod", "flags", map[string]mwtest.Flag{"checkout": {
		Variants: []mwtest.Variant{
			{Name: "uk", Enabled: true, When: map[string]string{"country": "UK"}},
			{Name: "off"},
		},
		DefaultVariant: "off",
	}})
	srv := httptest.NewServer(ext)
	defer srv.Close()

	flags := mw.WithAppConfig("shop", "prod", "flags")
	h := mw.Wrap(func(ctx context.Context, country string) (string, error) {
		f, err := flags.EvaluateFlag(ctx, "checkout", map[string]string{"country": country})
		return fmt.Sprintf("%s: %t", f.Variant, f.Enabled), err
	}, append(ext.Options(srv.URL), flags)...)

	fmt.Println(h(context.Background(), "UK"))
	fmt.Println(h(context.Background(), "FR"))
	// Output:
	// uk: true <nil>
	// off: false <nil>
}

// A secret read through its handle in a handler's unit test, where
// mwtest.NewContext holds the values.
func ExampleSecretHandle_Value() {
	db := mw.WithSecret("prod/db") // var db = ..., at package level

	ctx := mwtest.NewContext(context.Background(), mwtest.Values{Secrets: map[string]string{"prod/db": "hunter2"}})
	pw, err := db.Value(ctx)
	fmt.Println(len(pw), err)
	// Output: 7 <nil>
}

// A StringList parameter read through its handle as a list.
func ExampleParameterHandle_List() {
	origins := mw.WithParameter("/app/allowed-origins")

	ctx := mwtest.NewContext(context.Background(), mwtest.Values{Parameters: map[string]string{"/app/allowed-origins": "https://a.example,https://b.example"}})
	fmt.Println(origins.List(ctx))
	// Output: [https://a.example https://b.example] <nil>
}

// A feature flag read through its profile's handle, from memory.
func ExampleAppConfigHandle_Flag() {
	flags := mw.WithAppConfig("shop", "prod", "flags")

	ctx := mwtest.NewContext(context.Background(), mwtest.Values{AppConfig: map[string]string{
		"flags": `{"new-checkout":{"enabled":true,"limit":5}}`,
	}})
	f, err := flags.Flag(ctx, "new-checkout")
	fmt.Println(f.Enabled, f.Attributes["limit"], err)
	// Output: true 5 <nil>
}

// A profile takes the item options: here a Default, served while the
// profile is not deployed, and a TTL of its own.
func ExampleAppConfigOption() {
	ext := mwtest.New(mwtest.AppConfig)
	srv := httptest.NewServer(ext)
	defer srv.Close()

	settings := mw.WithAppConfig("orders", "prod", "settings", mw.Default(`{"batch":10}`), mw.TTL(time.Minute))
	h := mw.Wrap(func(ctx context.Context, _ struct{}) (string, error) {
		b, err := settings.Value(ctx)
		return string(b), err
	}, append(ext.Options(srv.URL), settings)...)
	fmt.Println(h(context.Background(), struct{}{}))
	// Output: {"batch":10} <nil>
}

// A path takes the item options but Default: here an Alias, and From,
// whose source lists the path (mwtest's store, as the AWS SDK source
// would).
func ExamplePathOption() {
	ext := mwtest.New(mwtest.Managed)
	ext.PutParameter("/app/prod/db/host", mwtest.TypeString, "db.internal")
	ext.PutParameter("/app/prod/db/port", mwtest.TypeString, "5432")

	h := mw.Wrap(func(ctx context.Context, _ struct{}) (string, error) {
		all, err := mw.ParametersByPath(ctx, "prod")
		return fmt.Sprintf("%d parameters", len(all)), err
	}, mw.WithoutEnvironment(), mw.WithParametersByPath("/app/prod", mw.Alias("prod"), mw.From(ext.Source())))
	fmt.Println(h(context.Background(), struct{}{}))
	// Output: 2 parameters <nil>
}
