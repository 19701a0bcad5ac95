package mw

import (
	"fmt"
	"net/http"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/lambda-mw/mw/internal/resolved"
)

// Defaults. They match the extension's own where it has one.
const (
	// DefaultTTL is how long a fetched value is served from memory before
	// the next invoke refreshes it: five minutes, like the extension's cache.
	DefaultTTL = 5 * time.Minute

	// DefaultStartupWindow is how long after a Wrap's first invoke a bare
	// HTTP 400 from the extension is taken to mean "not ready yet" and
	// retried. After it, a bare 400 means "not found or not allowed".
	DefaultStartupWindow = 2 * time.Second

	// DefaultFetchTimeout bounds the time spent on one item, retries
	// included, when the invoke's deadline does not bound it sooner.
	DefaultFetchTimeout = 10 * time.Second

	// DefaultMaxStale is how long past its TTL an item's last good value
	// is still served when refreshing it fails. An outage of the extension
	// or of AWS then costs fresh values, not invokes.
	DefaultMaxStale = time.Hour
)

// An Option configures Wrap.
type Option func(*config)

type config struct {
	items         []item
	ttl           time.Duration
	startupWindow time.Duration
	fetchTimeout  time.Duration
	maxStale      time.Duration
	refreshAhead  time.Duration
	agent         bool
	endpoint      string
	tp            trace.TracerProvider
	mp            metric.MeterProvider
	httpClient    *http.Client
	sources       []Source

	// Seams for this package's tests; never set by users.
	src fetcher
	now func() time.Time
}

// newConfig applies opts, then what the environment declares. A mistake in
// code is returned as a *declError with fromEnv false; otherwise the first
// malformed environment entry, if any.
func newConfig(opts []Option) (*config, *declError) {
	c := &config{
		ttl:           DefaultTTL,
		startupWindow: DefaultStartupWindow,
		fetchTimeout:  DefaultFetchTimeout,
		maxStale:      DefaultMaxStale,
		now:           time.Now,
	}
	for _, o := range opts {
		if o != nil {
			o(c)
		}
	}
	var bad *declError
	if c.endpoint != "" {
		if err := checkEndpoint(c.endpoint); err != nil {
			bad = &declError{msg: fmt.Sprintf("WithEndpoint(%q): %v", redactURL(c.endpoint), err)}
		}
	}
	bad = worse(bad, readEnv(c))
	if c.tp == nil {
		c.tp = otel.GetTracerProvider()
	}
	if c.src == nil {
		c.src = newExtensionClient(c.endpoint, c.httpClient, c.agent)
	}
	return c, bad
}

// WithParameters declares SSM Parameter Store parameters, by name or ARN,
// to fetch on the first invoke. SecureString parameters are decrypted. A
// secret can be read through Parameter Store as
// /aws/reference/secretsmanager/<secret id>. Handlers read them with
// Parameter, by the same string.
func WithParameters(names ...string) Option {
	return func(c *config) {
		for _, n := range names {
			c.items = append(c.items, item{kind: resolved.Parameter, name: n})
		}
	}
}

// WithSecrets declares Secrets Manager secrets, by name or ARN, to fetch on
// the first invoke. Handlers read them with Secret, by the same string.
func WithSecrets(ids ...string) Option {
	return func(c *config) {
		for _, id := range ids {
			c.items = append(c.items, item{kind: resolved.Secret, name: id})
		}
	}
}

// WithParameter declares one SSM parameter, by name or ARN, with options
// of its own, such as Alias, Version, Label, TTL or Optional.
func WithParameter(name string, opts ...ItemOption) Option {
	return declare(resolved.Parameter, name, opts)
}

// WithSecret declares one Secrets Manager secret, by name or ARN, with
// options of its own, such as Alias, VersionStage, VersionID, TTL or
// Optional.
func WithSecret(id string, opts ...ItemOption) Option {
	return declare(resolved.Secret, id, opts)
}

func declare(k resolved.Kind, name string, opts []ItemOption) Option {
	it := item{kind: k, name: name}
	for _, o := range opts {
		if o != nil {
			o(&it)
		}
	}
	return func(c *config) { c.items = append(c.items, it) }
}

// WithTracerProvider sets the provider of mw's tracer. The default is the
// global provider, otel.GetTracerProvider(), read when Wrap is called.
func WithTracerProvider(tp trace.TracerProvider) Option {
	return func(c *config) { c.tp = tp }
}

// WithTTL sets how long fetched values are served from memory. An invoke
// that starts after an item's TTL has passed fetches it again before the
// handler runs. The default is DefaultTTL. A TTL of zero or less fetches on
// every invoke.
func WithTTL(d time.Duration) Option {
	return func(c *config) { c.ttl = d }
}

// WithStartupWindow sets how long after the first invoke a bare HTTP 400
// from the managed extension is retried as "not ready yet". The managed
// extension answers 400 both while it starts and for a missing or forbidden
// item, so the window is the price of telling the two apart: keep it short.
// The default is DefaultStartupWindow; zero never retries a bare 400.
func WithStartupWindow(d time.Duration) Option {
	return func(c *config) { c.startupWindow = d }
}

// WithFetchTimeout bounds the time spent fetching one item, retries
// included. The invoke's deadline always bounds it too: mw keeps a small
// part of the remaining time so that the invoke can still return its error
// before Lambda times it out. The default is DefaultFetchTimeout.
func WithFetchTimeout(d time.Duration) Option {
	return func(c *config) { c.fetchTimeout = d }
}

// WithEndpoint sets the base URL of the extension or agent, such as
// "http://localhost:2773". Without it, mw takes MW_ENDPOINT from the
// environment, so that one handler runs in Lambda and next to the Secrets
// Manager Agent on ECS, EKS or EC2; without either, it reads the port from
// PARAMETERS_SECRETS_EXTENSION_HTTP_PORT (2773 when unset) on each fetch.
// Wrap panics if baseURL is not an http or https base URL.
func WithEndpoint(baseURL string) Option {
	return func(c *config) { c.endpoint = baseURL }
}

// WithHTTPClient sets the client used to call the extension, for example
// one whose transport is instrumented. By default mw uses its own client,
// which never goes through a proxy.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *config) { c.httpClient = hc }
}

// WithMaxStale sets how long past its TTL an item's last good value may be
// served when refreshing it fails; the span of the invoke says so. Beyond
// that the invoke fails as it would with no value. The default is
// DefaultMaxStale; zero never serves a stale value.
func WithMaxStale(d time.Duration) Option {
	return func(c *config) { c.maxStale = d }
}

// WithRefreshAhead makes an invoke that starts within d of an item's expiry
// refresh it concurrently with the handler, so that no invoke waits for it.
// The refresh ends before the invoke returns, since Lambda may freeze the
// process between invokes. The default, zero, refreshes items only once
// they have expired.
func WithRefreshAhead(d time.Duration) Option {
	return func(c *config) { c.refreshAhead = d }
}

// WithSecretsManagerAgent says that the endpoint is the open-source AWS
// Secrets Manager Agent rather than the Lambda extension; MW_AGENT=true in
// the environment says the same. The token then comes from the first set
// of AWS_TOKEN, AWS_SESSION_TOKEN and AWS_CONTAINER_AUTHORIZATION_TOKEN, as
// the agent reads it, where a file://path value names a file that holds it
// (read on each fetch, since it may rotate). RefreshSecret asks the agent to
// bypass its cache (refreshNow=true). The managed Lambda extension has no
// such switch: it serves from its own cache until its SECRETS_MANAGER_TTL
// passes. The agent serves secrets only, not parameters.
func WithSecretsManagerAgent() Option {
	return func(c *config) { c.agent = true }
}
