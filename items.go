package mw

import (
	"context"
	"fmt"
	"io"
	"time"
)

// WithParameters declares SSM Parameter Store parameters, by name or ARN,
// to fetch on the first invoke. SecureString parameters are decrypted. A
// secret can be read through Parameter Store as
// /aws/reference/secretsmanager/<secret id>. Handlers read them with
// Parameter, by the same string.
func WithParameters(names ...string) Option {
	return optionFunc(func(c *config) {
		for _, n := range names {
			c.items = append(c.items, item{Item: Item{Kind: KindParameter, Name: n}})
		}
	})
}

// WithSecrets declares Secrets Manager secrets, by name or ARN, to fetch on
// the first invoke. Handlers read them with Secret, by the same string.
func WithSecrets(ids ...string) Option {
	return optionFunc(func(c *config) {
		for _, id := range ids {
			c.items = append(c.items, item{Item: Item{Kind: KindSecret, Name: id}})
		}
	})
}

// WithParametersByPath declares every parameter under path, such as
// /app/prod, recursively, as ssm:GetParametersByPath lists them. Each
// parameter found is read with Parameter (and the typed accessors) by its
// full name, and all of them at once with ParametersByPath. The options
// apply to the path as a whole: TTL, Optional, Alias.
//
// Only a source that can list a path serves it, such as the AWS SDK source
// (package github.com/lambda-mw/mw/awssdk); the extension cannot, and Wrap
// panics if no source can.
func WithParametersByPath(path string, opts ...PathOption) Option {
	it := item{Item: Item{Kind: KindParametersByPath, Name: path}}
	for _, o := range opts {
		if o != nil {
			o.applyPath(&it)
		}
	}
	return optionFunc(func(c *config) { c.items = append(c.items, it) })
}

// WithSecret declares one Secrets Manager secret, by name or ARN, with
// options of its own, such as Alias, VersionStage, VersionID, TTL or
// Optional. It returns a handle: an Option to give Wrap, and the way to
// read the secret, so that a misspelt name does not compile:
//
//	var db = mw.WithSecret("prod/db")
//
//	func main() { lambda.Start(mw.Wrap(handler, db)) }
//
//	func handler(ctx context.Context, in Event) (Out, error) {
//		pw, err := db.Value(ctx)
//		...
//	}
func WithSecret(id string, opts ...SecretOption) SecretHandle {
	it := item{Item: Item{Kind: KindSecret, Name: id}}
	for _, o := range opts {
		if o != nil {
			o.applySecret(&it)
		}
	}
	return SecretHandle{handle{it}}
}

// WithParameter declares one SSM parameter, by name or ARN, with options
// of its own, such as Alias, Version, Label, TTL or Optional. It returns a
// handle: an Option to give Wrap, and the way to read the parameter (see
// WithSecret).
func WithParameter(name string, opts ...ParameterOption) ParameterHandle {
	it := item{Item: Item{Kind: KindParameter, Name: name}}
	for _, o := range opts {
		if o != nil {
			o.applyParameter(&it)
		}
	}
	return ParameterHandle{handle{it}}
}

// WithAppConfig declares an AWS AppConfig configuration profile, deployed
// to environment of application, to fetch on the first invoke through the
// AWS AppConfig Agent Lambda extension, like the parameters and secrets:
// each name may be the resource's name or its ID. Handlers read it with
// AppConfig, AppConfigJSON and, for a feature-flag profile
// (AWS.AppConfig.FeatureFlags), FeatureFlag, by the profile's name, or by
// its Alias. Two profiles of the same name, in two applications or
// environments, need an Alias each. The item options apply as for
// parameters: TTL, Optional, Default, Alias, From. It returns a handle: an
// Option to give Wrap, and the way to read the profile, with no name to
// repeat (see WithSecret).
//
// The extension (a layer, listening on localhost at
// AWS_APPCONFIG_EXTENSION_HTTP_PORT, 2772 by default) polls AppConfig on
// its own, every AWS_APPCONFIG_EXTENSION_POLL_INTERVAL_SECONDS (45 s by
// default), and serves its last copy; mw asks the extension again once the
// item's TTL has passed. The extension takes no token, and the function's
// role needs appconfig:StartConfigurationSession and
// appconfig:GetLatestConfiguration on the configuration.
func WithAppConfig(application, environment, profile string, opts ...AppConfigOption) AppConfigHandle {
	it := item{Item: Item{Kind: KindAppConfig, Application: application, Environment: environment, Name: profile}}
	for _, o := range opts {
		if o != nil {
			o.applyAppConfig(&it)
		}
	}
	return AppConfigHandle{handle{it}}
}

// Item options. Each kind of item takes its own: Version is a
// ParameterOption, so that mw.WithSecret(id, mw.ParameterVersion(3)) does not
// compile. The options of every kind are ItemOptions.
type (
	// A ParameterOption configures a parameter declared with WithParameter.
	ParameterOption interface{ applyParameter(*item) }
	// A SecretOption configures a secret declared with WithSecret.
	SecretOption interface{ applySecret(*item) }
	// A PathOption configures a path declared with WithParametersByPath.
	PathOption interface{ applyPath(*item) }
	// An AppConfigOption configures a profile declared with WithAppConfig.
	AppConfigOption interface{ applyAppConfig(*item) }

	// An ItemOption configures a declared item of any kind: TTL, Optional,
	// Default and Alias.
	ItemOption interface {
		ParameterOption
		SecretOption
		PathOption
		AppConfigOption
	}
)

type anyKind func(*item)

func (f anyKind) applyParameter(it *item) { f(it) }

func (f anyKind) applySecret(it *item) { f(it) }

func (f anyKind) applyPath(it *item) { f(it) }

func (f anyKind) applyAppConfig(it *item) { f(it) }

type parameterOnly func(*item)

func (f parameterOnly) applyParameter(it *item) { f(it) }

type secretOnly func(*item)

func (f secretOnly) applySecret(it *item) { f(it) }

// TTL sets how long this item is served from memory, overriding WithTTL.
// Zero fetches it on every invoke. Wrap panics on a negative TTL, and on
// one below a millisecond, as WithTTL does.
func TTL(d time.Duration) ItemOption {
	return anyKind(func(it *item) { it.ttl, it.hasTTL = d, true })
}

// Optional lets the handler run when this item cannot be fetched. The
// accessor then returns a *LookupError wrapping ErrNotFound and the
// *FetchError that says why.
func Optional() ItemOption {
	return anyKind(func(it *item) { it.optional = true })
}

// Default makes the item optional, and makes the accessor return v when
// the item cannot be fetched. The typed accessors decode v as they would
// the fetched value. A path has no single value: Wrap panics if a path is
// given a Default.
func Default(v string) ItemOption {
	return anyKind(func(it *item) { it.optional, it.hasDef, it.def = true, true, v })
}

// Alias makes handlers read the item by name instead of by the name or ARN
// it was declared with: declare
//
//	mw.WithSecret("arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/db-AbCdEf", mw.Alias("db"))
//
// and read mw.Secret(ctx, "db"). An item declared with an alias is read by
// the alias only. Two items may not share an alias: Wrap panics if they do.
// Aliases are also how one secret or parameter is declared at two versions.
func Alias(name string) ItemOption {
	return anyKind(func(it *item) { it.alias = name })
}

// RoleARN reads the item as the IAM role arn, such as a role of another
// account that shares a secret (arn:aws:iam::123456789012:role/reader),
// rather than with the source's own credentials. Items read as different
// roles are cached apart. The sources that can take on a role serve it:
// the AWS SDK source (by assuming the role) any parameter or secret, the
// Secrets Manager Agent and Cloud Extensions (their roleArn) a secret.
// Wrap panics if the item's source cannot, as the Parameters and Secrets
// Lambda Extension cannot; no source reads an AppConfig profile as a role
// (the AppConfig extension reads every profile as the role
// AWS_APPCONFIG_EXTENSION_ROLE_ARN names).
func RoleARN(arn string) ItemOption {
	return anyKind(func(it *item) { it.RoleARN = arn })
}

// From reads the item through s rather than through the source mw would
// choose for its kind (see WithSource), so that one Wrap mixes sources:
//
//	sdk := awssdk.New(cfg)
//	lambda.Start(mw.Wrap(handler,
//		mw.WithSecrets("prod/db"),                           // through the extension
//		mw.WithParametersByPath("/app/prod", mw.From(sdk)), // a tree, through the SDK
//	))
//
// Wrap panics if s does not serve the item, with s's reason, which names
// what would.
func From(s Source) ItemOption {
	return anyKind(func(it *item) { it.src = s })
}

// ParameterVersion pins a parameter to a version number, as
// ssm:GetParameter's name:version does. Exclusive with Label.
func ParameterVersion(n int64) ParameterOption {
	return parameterOnly(func(it *item) { it.Version = n })
}

// Label pins a parameter to the version carrying a label. For a secret read
// through Parameter Store (/aws/reference/secretsmanager/<id>) the label is
// a version stage, such as AWSPREVIOUS. Exclusive with Version.
func Label(l string) ParameterOption {
	return parameterOnly(func(it *item) { it.Label = l })
}

// VersionID pins a secret to a version id.
func VersionID(id string) SecretOption {
	return secretOnly(func(it *item) { it.VersionID = id })
}

// VersionStage pins a secret to the version carrying a stage, such as
// AWSPREVIOUS or AWSPENDING during a rotation. Without it a secret is read
// at AWSCURRENT.
func VersionStage(stage string) SecretOption {
	return secretOnly(func(it *item) { it.VersionStage = stage })
}

// handle is what the handles share: the item they declare, as an Option,
// and how they print it, never with a value.
type handle struct{ it item }

func (h handle) apply(c *config) {
	if h.it.Kind != 0 { // the zero handle declares nothing
		c.items = append(c.items, h.it)
	}
}

// String names the item, never its value: `secret "prod/db"`,
// `appconfig "flags" (orders/prod/flags)`.
func (h handle) String() string { return h.it.describe() }

// GoString is String, so that %#v reveals no Default either.
func (h handle) GoString() string { return h.String() }

// Format writes String under every verb, so that no verb (%d, %x, ...)
// prints a Default.
func (h handle) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, h.String()) }

// A SecretHandle is a secret declared with WithSecret, held as a value: an
// Option to give Wrap, and the way handlers read the secret, so that a
// misspelt name is a compile error rather than ErrNotDeclared at run time.
// It is read by its Alias when it has one, else by its id. Its zero value
// declares nothing and reads nothing.
type SecretHandle struct{ handle }

// Value returns the secret's value, as Secret does.
func (h SecretHandle) Value(ctx context.Context) (string, error) {
	return Secret(ctx, h.it.ref())
}

// Binary returns the secret's value as bytes, as SecretBinary does.
func (h SecretHandle) Binary(ctx context.Context) ([]byte, error) {
	return SecretBinary(ctx, h.it.ref())
}

// Refresh fetches the secret again, now, as RefreshSecret does.
func (h SecretHandle) Refresh(ctx context.Context) (string, error) {
	return RefreshSecret(ctx, h.it.ref())
}

// A ParameterHandle is a parameter declared with WithParameter, held as a
// value: an Option to give Wrap, and the way handlers read the parameter
// (see SecretHandle).
type ParameterHandle struct{ handle }

// Value returns the parameter's value, as Parameter does.
func (h ParameterHandle) Value(ctx context.Context) (string, error) {
	return Parameter(ctx, h.it.ref())
}

// List returns a StringList parameter's items, as ParameterList does.
func (h ParameterHandle) List(ctx context.Context) ([]string, error) {
	return ParameterList(ctx, h.it.ref())
}

// Refresh fetches the parameter again, now, as RefreshParameter does.
func (h ParameterHandle) Refresh(ctx context.Context) (string, error) {
	return RefreshParameter(ctx, h.it.ref())
}

// An AppConfigHandle is a profile declared with WithAppConfig, held as a
// value: an Option to give Wrap, and the way handlers read the profile
// (see SecretHandle). It is read by its Alias when it has one, else by the
// profile's name. Its zero value declares nothing and reads nothing.
type AppConfigHandle struct{ handle }

// Value returns the profile's configuration, as AppConfig does.
func (h AppConfigHandle) Value(ctx context.Context) ([]byte, error) {
	return AppConfig(ctx, h.it.ref())
}

// Flag returns a feature flag of the profile, as FeatureFlag does.
func (h AppConfigHandle) Flag(ctx context.Context, flag string) (Flag, error) {
	return FeatureFlag(ctx, h.it.ref(), flag)
}

// EvaluateFlag evaluates a feature flag of the profile against a caller's
// context, as EvaluateFlag does: one request to its source.
func (h AppConfigHandle) EvaluateFlag(ctx context.Context, flag string, evalCtx map[string]string) (Flag, error) {
	return EvaluateFlag(ctx, h.it.ref(), flag, evalCtx)
}

// JSON decodes the JSON value of an item held as a handle, as SecretJSON,
// ParameterJSON and AppConfigJSON do for a name:
//
//	var db = mw.WithSecret("prod/db")
//	...
//	creds, err := mw.JSON[DB](ctx, db)
func JSON[T any, H SecretHandle | ParameterHandle | AppConfigHandle](ctx context.Context, h H) (T, error) {
	switch h := any(h).(type) {
	case SecretHandle:
		return decodeJSON[T](ctx, KindSecret, h.it.ref())
	case ParameterHandle:
		return decodeJSON[T](ctx, KindParameter, h.it.ref())
	case AppConfigHandle:
		return decodeJSON[T](ctx, KindAppConfig, h.it.ref())
	}
	panic("unreachable")
}
