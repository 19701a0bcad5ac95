package mw

import (
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

	// Seams for this package's tests; never set by users.
	src fetcher
	now func() time.Time
}

func newConfig(opts []Option) *config {
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
	if c.tp == nil {
		c.tp = otel.GetTracerProvider()
	}
	if c.src == nil {
		c.src = newExtensionClient(c.endpoint, c.httpClient, c.agent)
	}
	return c
}

// WithParameters declares SSM Parameter Store parameters, by name or ARN,
// to fetch on the first invoke. SecureString parameters are decrypted.
// Handlers read them with Parameter, by the same string.
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
// of its own, such as TTL or Optional.
func WithParameter(name string, opts ...ItemOption) Option {
	return declare(resolved.Parameter, name, opts)
}

// WithSecret declares one Secrets Manager secret, by name or ARN, with
// options of its own, such as TTL or Optional.
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

// An ItemOption configures one item declared with WithSecret or
// WithParameter.
type ItemOption func(*item)

// TTL sets how long this item is served from memory, overriding WithTTL.
func TTL(d time.Duration) ItemOption {
	return func(it *item) { it.ttl, it.hasTTL = d, true }
}

// Optional lets the handler run when this item cannot be fetched. The
// accessor then returns a *LookupError wrapping ErrNotFound and the
// *FetchError that says why.
func Optional() ItemOption {
	return func(it *item) { it.optional = true }
}

// Default makes the item optional, and makes the accessor return v when
// the item cannot be fetched.
func Default(v string) ItemOption {
	return func(it *item) { it.optional, it.hasDef, it.def = true, true, v }
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

// WithEndpoint sets the base URL of the extension, such as
// "http://localhost:2773". By default mw reads the port from
// PARAMETERS_SECRETS_EXTENSION_HTTP_PORT (2773 when unset) on each fetch.
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
// Secrets Manager Agent rather than the Lambda extension. RefreshSecret then
// asks the agent to bypass its cache (refreshNow=true). The managed Lambda
// extension has no such switch: it serves from its own cache until its
// SECRETS_MANAGER_TTL passes.
func WithSecretsManagerAgent() Option {
	return func(c *config) { c.agent = true }
}
